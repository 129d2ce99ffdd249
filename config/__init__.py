"""Configuration data shipped with newsagg (YAML files next to this module)."""

from __future__ import annotations

from pathlib import Path

CONFIG_DIR = Path(__file__).parent
