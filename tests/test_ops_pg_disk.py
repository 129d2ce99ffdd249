"""PostgreSQL on a full disk: a real PostgreSQL 15 server whose tables live in a tablespace on
a small tmpfs that fills during a crawl. The crawl stops in one line and exits 1, every story
stored before is intact, and the next run, with space again, stores the rest.

The tablespace holds the tables only (the database's default_tablespace): the server's
catalog and write-ahead log stay on its own disk, as a full WAL disk stops the whole server
(a PANIC), which no crawl can report.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.crawling import export, scrapy
from tests.servers import POSTGRES_USER, new_postgres_database
from tests.sites.growing import serve_growing
from tests.test_ops_health import Site, verdicts

DISK = "4m"
# Free space left on the tablespace's disk when the crawl starts: room for a few pages of
# 8 KiB, not for 12 stories with their URLs, bands and search index entries.
FREE_BYTES = 96 * 1024


@contextlib.contextmanager
def small_disk() -> Iterator[Path]:
    """A tmpfs of DISK bytes owned by the PostgreSQL server's user; unmounted at the end."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the SQLite full-disk tests cover a full disk")
    folder = Path(tempfile.mkdtemp(prefix="newsagg-pgdisk-"))
    user = pwd.getpwnam(POSTGRES_USER)
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o",
                            f"size={DISK},mode=0700,uid={user.pw_uid},gid={user.pw_gid}",
                            "tmpfs", str(folder)], capture_output=True, text=True, check=False)
    if mount.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a tmpfs here ({mount.stderr.strip()}); the SQLite "
                    "full-disk tests cover a full disk")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)
        folder.rmdir()


@contextlib.contextmanager
def database_on(disk: Path, server_url: str) -> Iterator[str]:
    """A new database whose tables and indexes go to a tablespace on `disk`; its URL."""
    url = new_postgres_database(server_url)
    name = url.rsplit("/", 1)[1]
    space = f"{name}_disk"
    conninfo = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE TABLESPACE \"{space}\" LOCATION '{disk}'")
        conn.execute(f'ALTER DATABASE "{name}" SET default_tablespace = "{space}"')
    try:
        yield url
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            conn.execute(f'DROP TABLESPACE "{space}"')


def fill(disk: Path, free: int) -> Path:
    """Write a file that leaves `free` bytes free on `disk`; the file."""
    filler = disk / "filler"
    stat = os.statvfs(disk)
    filler.write_bytes(b"\0" * max(stat.f_bavail * stat.f_frsize - free, 0))
    return filler


def test_a_full_postgresql_tablespace_stops_the_crawl_in_one_line_and_keeps_the_stories(
        postgres_url: str, tmp_path: Path) -> None:
    with (small_disk() as disk, database_on(disk, postgres_url) as db_url,
          serve_growing(tmp_path / "site", 3) as (growing, url)):
        site = Site(growing, url, tmp_path, db_url)
        site.site.add(12)
        filler = fill(disk, FREE_BYTES)
        result = site.crawl("-s", "NEWS_STORE_BATCH_SIZE=1")
        assert result.returncode == 1, result.stderr[-3000:]
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        assert len(verdicts(result.stderr)) == 1, result.stderr[-3000:]
        verdict = verdicts(result.stderr)[0]
        lost = re.fullmatch(r"Run FAILED: the database cannot be written \(could not extend "
                            r'file "pg_tblspc/[0-9/_A-Z]+": No space left on device\): '
                            r"(\d+) stories not stored", verdict)
        assert lost, verdict
        assert 1 <= int(lost[1]) <= 12
        assert "Could not store" not in result.stderr
        assert "'finish_reason': 'database_unwritable'" in result.stderr
        site.assert_kept()
        stored = len(export(db_url))
        assert 3 <= stored < 15

        filler.unlink()
        again = site.crawl()
        assert again.returncode == 0, again.stderr[-3000:]
        site.assert_kept()
        assert sorted(s["title"] for s in export(db_url)) == sorted(growing.titles)
        table = scrapy("runs", "-s", f"DATABASE_URL={db_url}", "--limit", "2")
        assert table.returncode == 0, table.stderr
        lines = table.stdout.splitlines()
        assert lines[2].endswith(" ok"), lines
        assert lines[3].endswith("FAILED: closed (database_unwritable)"), lines
