"""Engine and sessions: one engine per database URL, SQLite tuned for a crawler."""

from __future__ import annotations

import errno
import logging
import re
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from storage.wal import check_wal

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_S = 30
URL_PASSWORD = re.compile(r"(://[^:/@]*:).*@")
URL_QUERY_PASSWORD = re.compile(r"([?&](?:password|passwd|pwd|sslpassword)=)[^&]*", re.IGNORECASE)
# Errors that mean the database cannot take writes at all: SQLite's result codes (a full disk
# is SQLITE_FULL; a write past the file size limit, EFBIG, is SQLITE_IOERR_WRITE), PostgreSQL's
# SQLSTATE disk_full, and the OS errors of a full disk or quota.
UNWRITABLE_SQLITE = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN")
UNWRITABLE_SQLSTATES = ("53100",)
UNWRITABLE_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS)

# The process's engines, one per database URL (shared_engine).
_shared: dict[str, Engine] = {}
_shared_lock = threading.Lock()


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL journal, foreign keys and a busy timeout on each new SQLite connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine for a SQLAlchemy URL; SQLite files get WAL mode and their folder.

    A SQLite file's write-ahead log is checked first (storage/wal.py): CorruptWal when damaged.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            check_wal(Path(database))
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
    return engine


def shared_engine(url: str) -> Engine:
    """The process's one engine for a database URL: made on first use, then shared.

    Every component of a crawl (stages, middlewares, extensions, commands) opens the
    database through this, so the process holds one connection pool per database.
    """
    with _shared_lock:
        engine = _shared.get(url)
        if engine is None:
            engine = _shared[url] = make_engine(url)
        return engine


def dispose_shared_engines() -> None:
    """Close the pooled connections of every shared engine (they reconnect when used again)."""
    with _shared_lock:
        engines = list(_shared.values())
    for engine in engines:
        engine.dispose()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """The one sessionmaker bound to an engine; objects stay usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def redact_url(url: str) -> str:
    """A database URL safe for logs: user:***@ and ?password=***, even in a malformed URL."""
    return URL_QUERY_PASSWORD.sub(r"\1***", URL_PASSWORD.sub(r"\1***@", url))


def hide_password(text: str, url: str) -> str:
    """Text (an error message) with the URL's password, if any, replaced by ***."""
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        return redact_url(text)
    return redact_url(text.replace(password, "***") if password else text)


def unwritable_reason(exc: BaseException) -> str | None:
    """Why the database cannot take writes, in one line (a full disk, a file size limit, a
    read-only or failing file), or None when `exc` is another error (a conflict, a bad row)."""
    orig = getattr(exc, "orig", None) or exc
    name = str(getattr(orig, "sqlite_errorname", ""))
    if (name.startswith(UNWRITABLE_SQLITE)
            or getattr(orig, "sqlstate", None) in UNWRITABLE_SQLSTATES
            or (isinstance(orig, OSError) and orig.errno in UNWRITABLE_ERRNOS)):
        text = str(orig).strip()
        return text.splitlines()[0] if text else type(orig).__name__
    return None
