"""Real servers the operations tests need: PostgreSQL 15, Redis and scrapyd, started here.

Each is a session fixture that starts the server in a temporary folder on 127.0.0.1 and a
free port and stops it at the end. A missing redis-server is installed with apt-get (as root);
a binary that cannot be had FAILS the test (never skips).
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
POSTGRES_USER = "postgres"
STARTUP_TIMEOUT = 30.0
_database_numbers = itertools.count(1)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    """Wait until a server accepts connections; fail with its log when it does not."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    pytest.fail(f"{what} did not start on port {port}:\n{log.read_text(errors='replace')[-3000:]}")


def stop_server(proc: subprocess.Popen[Any]) -> None:
    """Terminate a server process, then kill it if it lingers."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def install_package(package: str, binary: str) -> str:
    """Install a Debian package with apt-get (as root) and return its binary's path; FAIL
    the test loudly when that is not possible (never skip). One install at a time on the
    machine (pytest-xdist workers may both want redis-server): apt-get holds dpkg's lock and
    refuses a second install, so the workers queue on a file lock and look again."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(f"{binary} not found and cannot be installed here (not root, or no "
                    f"apt-get): install it (apt-get install -y {package})")
    with (Path(tempfile.gettempdir()) / "newsagg-apt-get.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if found := shutil.which(binary):
            return found
        for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
            done = subprocess.run(argv, capture_output=True, text=True, check=False,
                                  env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
            if done.returncode != 0 and argv[1] == "install":
                pytest.fail(f"{binary} not found; `{' '.join(argv)}` failed:\n"
                            f"{done.stderr[-2000:]}")
    found = shutil.which(binary)
    if found is None:
        pytest.fail(f"{binary} still not found after apt-get install -y {package}")
    return found


def postgres_bin() -> Path:
    """The folder holding initdb and pg_ctl (the newest installed PostgreSQL)."""
    def installed() -> list[Path]:
        found = sorted(Path("/").glob(POSTGRES_BIN_GLOB.lstrip("/")),
                       key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
        return [p for p in found if (p / "initdb").exists() and (p / "pg_ctl").exists()]

    found = installed()
    if not found:
        install_package("postgresql", "psql")
        found = installed()
    if not found:
        pytest.fail(f"PostgreSQL server binaries (initdb, pg_ctl) not found under "
                    f"{POSTGRES_BIN_GLOB}: install postgresql (apt-get install -y postgresql)")
    return found[-1]


def _wait_for_postgres(conninfo: str, log: Path) -> None:
    """Wait until PostgreSQL accepts a session (it listens before it is out of startup)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            psycopg.connect(conninfo, connect_timeout=5).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                pytest.fail(f"PostgreSQL did not accept connections:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)


def _as_server_user(argv: list[str]) -> list[str]:
    """Run a command as the unprivileged postgres user when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", POSTGRES_USER, "--", *argv]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Start a throwaway PostgreSQL server; yield the URL of its maintenance database."""
    bin_dir = postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="newsagg-pg-"))
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam(POSTGRES_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", POSTGRES_USER], check=True)
            user = pwd.getpwnam(POSTGRES_USER)
        os.chown(root, user.pw_uid, user.pw_gid)
    data, log = root / "data", root / "server.log"
    port = free_port()
    initdb = subprocess.run(
        _as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "newsagg",
                         "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]),
        capture_output=True, text=True, check=False,
    )
    if initdb.returncode != 0:
        pytest.fail(f"initdb failed:\n{initdb.stderr}")
    options = f"-h 127.0.0.1 -p {port} -k {root} -F -c max_connections=100"
    proc = subprocess.Popen(
        _as_server_user([str(bin_dir / "postgres"), "-D", str(data), *options.split()]),
        stdout=subprocess.DEVNULL, stderr=log.open("wb"),
    )
    try:
        _wait_for_port(port, proc, "PostgreSQL", log)
        _wait_for_postgres(f"postgresql://newsagg@127.0.0.1:{port}/postgres", log)
        yield f"postgresql+psycopg://newsagg@127.0.0.1:{port}/postgres"
    finally:
        stop_server(proc)
        shutil.rmtree(root, ignore_errors=True)


def new_postgres_database(server_url: str) -> str:
    """Create an empty database on the test server; return its SQLAlchemy URL."""
    name = f"newsagg_{os.getpid()}_{next(_database_numbers)}"
    conninfo = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """Start a throwaway redis-server on loopback; yield its URL."""
    binary = shutil.which("redis-server") or install_package("redis-server", "redis-server")
    root = Path(tempfile.mkdtemp(prefix="newsagg-redis-"))
    log, port = root / "redis.log", free_port()
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(root),
         "--save", "", "--appendonly", "no", "--daemonize", "no"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, proc, "redis-server", log)
        yield f"redis://127.0.0.1:{port}"
    finally:
        stop_server(proc)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def running_scrapyd(env: dict[str, str] | None = None) -> Iterator[str]:
    """scrapyd on loopback with its eggs, logs and job database in a temp folder; its URL.

    `env`: the environment scrapyd (and so each crawl it launches) runs with."""
    root = Path(tempfile.mkdtemp(prefix="newsagg-scrapyd-"))
    port = free_port()
    (root / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        f"bind_address = 127.0.0.1\nhttp_port = {port}\n"
        f"eggs_dir = {root / 'eggs'}\nlogs_dir = {root / 'logs'}\n"
        f"items_dir =\ndbs_dir = {root / 'dbs'}\n"
        "max_proc = 1\npoll_interval = 0.5\n",
        encoding="utf-8",
    )
    log = root / "scrapyd.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scrapyd"], cwd=root, env=env,
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, proc, "scrapyd", log)
        url = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{url}/daemonstatus.json", timeout=10) as response:
            assert response.status == 200
        yield url
    finally:
        stop_server(proc)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def scrapyd_url() -> Iterator[str]:
    """A scrapyd for the session (see running_scrapyd)."""
    with running_scrapyd() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each backend: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        (tmp_path / "db").mkdir()
        return f"sqlite:///{tmp_path / 'db' / 'news.db'}"
    return new_postgres_database(request.getfixturevalue("postgres_url"))
