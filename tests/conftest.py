"""Shared pytest fixtures: the sample universe of news sites served in a subprocess."""

from __future__ import annotations

import contextlib
import functools
import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import database_url, postgres_url, redis_url, scrapyd_url, stop_server  # noqa: F401
from tests.sites.faults import FaultSite
from tests.sites.server import SampleSites

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 15.0


@pytest.fixture(scope="session", autouse=True)
def lock_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every crawl the tests start takes its run locks in this session's own folder (the
    environment variable NEWS_LOCK_DIR, which the subprocesses inherit), never the project's
    data/locks: pytest-xdist workers that crawl sources of the same name cannot refuse each
    other, and an operator's crawl in this checkout cannot refuse a test's. Tests of the
    locks themselves pass their own NEWS_LOCK_DIR."""
    folder = tmp_path_factory.mktemp("locks")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEWS_LOCK_DIR", str(folder))
        yield folder


def _read_first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """Read the server's first stdout line, failing after ``timeout`` seconds."""
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


@contextlib.contextmanager
def serving(module: str, log_path: Path) -> Iterator[dict[str, str]]:
    """Run ``python -m MODULE`` (a test server) with stderr to LOG_PATH; yield its URL map."""
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen([sys.executable, "-m", module], cwd=REPO_ROOT,
                                stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        line = _read_first_line(proc, STARTUP_TIMEOUT)
        if not line:
            proc.kill()
            proc.wait()
            pytest.fail(f"{module} did not start; see {log_path}")
        yield json.loads(line)
    finally:
        stop_server(proc)


@pytest.fixture(scope="session")
def sample_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleSites]:
    """Start ``python -m tests.sites.server``; yield its site URLs and request log path."""
    log_path = tmp_path_factory.mktemp("sample_sites") / "server.log"
    with serving("tests.sites.server", log_path) as urls:
        yield SampleSites(urls=urls, log_path=log_path)


@pytest.fixture(scope="session")
def fault_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultSite]:
    """Start ``python -m tests.sites.faults``; yield its URLs and request log path."""
    log_path = tmp_path_factory.mktemp("fault_site") / "server.log"
    with serving("tests.sites.faults", log_path) as urls:
        yield FaultSite(urls=urls, log_path=log_path)


@pytest.fixture(scope="session")
def universe2_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleSites]:
    """Start ``python -m tests.sites.universe2`` (the second sample universe)."""
    log_path = tmp_path_factory.mktemp("universe2") / "server.log"
    with serving("tests.sites.universe2", log_path) as urls:
        yield SampleSites(urls=urls, log_path=log_path)


SERVER_FIXTURES = frozenset({"postgres_url", "redis_url", "scrapyd_url", "database_url"})
CRAWL_FIXTURES = frozenset({"sample_sites", "fault_site", "universe2_sites"})


@functools.cache
def source_of(path: Path) -> str:
    """A test module's source, read once."""
    return path.read_text(encoding="utf-8")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by what it needs: `server` (a database or queue server it starts),
    `crawl` (a served sample site, a crawl or another subprocess), else `unit`."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        module_source = source_of(Path(str(item.fspath)))
        if fixtures & SERVER_FIXTURES:
            item.add_marker(pytest.mark.server)
        elif fixtures & CRAWL_FIXTURES or "subprocess" in module_source:
            item.add_marker(pytest.mark.crawl)
        else:
            item.add_marker(pytest.mark.unit)
