"""Run locks: one per source, taken before the crawl loads anything heavy.

A file lock (flock) per source in NEWS_LOCK_DIR stops overlapping runs on one machine; on
PostgreSQL a session advisory lock per source stops two machines crawling one source at once.
Lock file names are made safe (a source named "../.." stays inside the folder), and each
`-a start_urls` list gets its own lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from storage.session import make_engine

UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class LockRefused(Exception):
    """Another run holds a source's lock; the message says which and where."""


def digest(text_value: str) -> str:
    """A short stable hash of a text."""
    return hashlib.sha256(text_value.encode("utf-8")).hexdigest()[:12]


def start_urls_lock_name(urls: list[str]) -> str:
    """The lock name of an ad-hoc `-a start_urls` crawl: one per set of URLs."""
    return f"start_urls-{digest(','.join(sorted(urls)))}"


def lock_file_name(name: str) -> str:
    """A file name for a source's lock: its safe characters, then a hash of the whole name."""
    safe = UNSAFE.sub("_", name).strip(".")[:60] or "source"
    return f"{safe}-{digest(name)}.lock"


def advisory_key(name: str) -> int:
    """A signed 64-bit key for pg_try_advisory_lock, from the source's name."""
    value = int(hashlib.sha256(f"newsagg:source:{name}".encode()).hexdigest()[:16], 16)
    return value - (1 << 64) if value >= 1 << 63 else value


class RunLocks:
    """Hold the locks of the sources a run crawls; release them all on exit."""

    def __init__(self, names: list[str], lock_dir: str, database_url: str | None) -> None:
        self.names = sorted(set(names))
        self.lock_dir = Path(lock_dir) if lock_dir else None
        self.database_url = database_url
        self.files: list[IO[str]] = []
        self.engine: Engine | None = None
        self.connection: Connection | None = None

    def __enter__(self) -> RunLocks:
        try:
            if self.lock_dir is not None:
                self._lock_files(self.lock_dir)
            if self.database_url and self.database_url.startswith("postgresql"):
                self._lock_database(self.database_url)
        except BaseException:
            self.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _lock_files(self, folder: Path) -> None:
        """flock each source's file, or LockRefused."""
        for name in self.names:
            path = folder / lock_file_name(name)
            handle = path.open("a+", encoding="utf-8")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                raise LockRefused(f"another run of source {name} holds the lock {path}: "
                                  "not crawling") from None
            self.files.append(handle)

    def _lock_database(self, url: str) -> None:
        """A session advisory lock per source on one held connection, or LockRefused."""
        # An engine of its own, not the shared one: the advisory lock lives as long as this
        # connection, which must be closed (never returned to a pool) to release it.
        self.engine = make_engine(url)
        self.connection = self.engine.connect()
        for name in self.names:
            taken = self.connection.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                           {"key": advisory_key(name)})
            if not taken:
                raise LockRefused(f"another run of source {name} holds its database lock "
                                  "(on this or another machine): not crawling")
        self.connection.commit()

    def release(self) -> None:
        """Unlock every file, unlock the database locks and close their connection.

        The locks are unlocked before the close: a closed session's locks go only when its
        server process has ended, after the close returns, so a run started right after this
        one could still be refused.
        """
        for handle in self.files:
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        self.files = []
        if self.connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self.connection.execute(text("SELECT pg_advisory_unlock_all()"))
                self.connection.commit()
            with contextlib.suppress(SQLAlchemyError):
                self.connection.close()
            self.connection = None
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
