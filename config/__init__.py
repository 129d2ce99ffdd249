"""Configuration data: sources.yaml and boilerplate.yaml live beside this file."""

from __future__ import annotations

from pathlib import Path

CONFIG_DIR = Path(__file__).parent
