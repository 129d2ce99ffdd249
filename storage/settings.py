"""Where the database is when nobody says: DATABASE_URL, else a SQLite file under data/."""

from __future__ import annotations

import os

DEFAULT_DATABASE_URL = "sqlite:///data/newsagg.db"


def database_url_from_env() -> str:
    """The DATABASE_URL environment variable, else the default SQLite file."""
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
