"""Configuration data shipped with newsagg (YAML files next to this module)."""

from __future__ import annotations

from common.resources import package_dir

# The folder itself, or its copy on disk when newsagg runs from a zipped egg (scrapyd).
CONFIG_DIR = package_dir("config")
