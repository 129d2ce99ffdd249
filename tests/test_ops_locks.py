"""Run locks: safe file names, one lock per start_urls list, file and PostgreSQL locks."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.commands._lock import LockRefused, RunLocks, lock_file_name, start_urls_lock_name
from tests.servers import new_postgres_database


@pytest.mark.parametrize("name", ["../..", "/etc/passwd", "..", "a/../../b", "", "gazette"])
def test_lock_files_stay_in_their_folder(name: str, tmp_path: Path) -> None:
    path = tmp_path / lock_file_name(name)
    assert path.resolve().parent == tmp_path.resolve()
    assert path.name.endswith(".lock")
    assert not path.name.startswith(".")


def test_names_that_clean_alike_get_different_locks() -> None:
    assert lock_file_name("a/b") != lock_file_name("a_b")


def test_each_start_urls_list_has_its_own_lock() -> None:
    one = start_urls_lock_name(["http://a.example/", "http://b.example/"])
    assert one == start_urls_lock_name(["http://b.example/", "http://a.example/"])
    assert one != start_urls_lock_name(["http://a.example/"])


def test_a_held_file_lock_refuses_a_second_run(tmp_path: Path) -> None:
    with RunLocks(["gazette", "../.."], str(tmp_path), None):
        with pytest.raises(LockRefused, match=r"another run of source \.\./\.\. holds the lock"), \
                RunLocks(["../.."], str(tmp_path), None):
            pass
        with RunLocks(["other"], str(tmp_path), None):
            pass
    with RunLocks(["gazette"], str(tmp_path), None):
        pass
    assert sorted(p.parent for p in tmp_path.iterdir()) == [tmp_path] * 3


def test_postgresql_advisory_lock_across_connections(postgres_url: str) -> None:
    db_url = new_postgres_database(postgres_url)
    with RunLocks(["gazette"], "", db_url):
        with pytest.raises(LockRefused, match="holds its database lock"), \
                RunLocks(["gazette"], "", db_url):
            pass
        with RunLocks(["vietnam"], "", db_url):
            pass
    with RunLocks(["gazette"], "", db_url):
        pass
