"""Helpers for the API tests: run `scrapy serve` on a free loopback port, fetch from it."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from storage.migrate import upgrade_database
from storage.models import Story, StoryUrl, UrlRelation
from storage.session import make_engine, make_sessionmaker
from tests.servers import free_port, stop_server

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 60.0


@contextlib.contextmanager
def serving(db_url: str, log_path: Path) -> Iterator[str]:
    """Run `scrapy serve` over a database; yield its base URL once it answers."""
    port = free_port()
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scrapy", "serve", "--port", str(port),
             "-s", f"DATABASE_URL={db_url}"],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while fetch(base, "/api/sources", fail=False)[0] != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"scrapy serve did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        listening = {c.laddr.ip for c in psutil.Process(proc.pid).net_connections("inet")
                     if c.status == psutil.CONN_LISTEN}
        assert listening == {"127.0.0.1"}, f"scrapy serve listens on {listening}"
        yield base
    finally:
        stop_server(proc)


def fetch(base: str, path: str, *, method: str = "GET", fail: bool = True,
          accept: str = "application/json") -> tuple[int, Any]:
    """(status, parsed JSON body or text) of a request to the server."""
    request = urllib.request.Request(base + path, method=method, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body = response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read().decode("utf-8")
    except OSError:
        if fail:
            raise
        return 0, None
    with contextlib.suppress(ValueError):
        return status, json.loads(body)
    return status, body


STORED_AT = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def story(number: int, title: str, text: str, **fields: Any) -> Story:
    """Story `number` for tests: stored a minute after the previous one, one URL of its own."""
    url = fields.pop("url", f"http://127.0.0.9/news/{number}.html")
    site = fields.pop("site", "127.0.0.9")
    stored = STORED_AT + dt.timedelta(minutes=number)
    values: dict[str, Any] = {
        "language": "en", "source": "gazette", "published_at": stored - dt.timedelta(hours=1),
        "authors": [], "created_at": stored, "updated_at": stored, **fields}
    row = Story(id=number, url=url, title=title, text=text, site=site,
                content_hash=f"{number:064x}",
                **values)
    row.urls = [StoryUrl(url=url, relation=UrlRelation.ORIGINAL, site=site, first_seen=stored,
                         last_seen=stored)]
    return row


def store(db_url: str, rows: list[Any]) -> None:
    """Bring a database to the newest schema and add rows (stories, runs) in one transaction."""
    engine = make_engine(db_url)
    try:
        upgrade_database(engine)
        with make_sessionmaker(engine).begin() as session:
            session.add_all(rows)
    finally:
        engine.dispose()
