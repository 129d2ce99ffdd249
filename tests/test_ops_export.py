"""`scrapy export`: atomic files that keep their mode, `-o -` into a closed pipe, the record's
keys, publication and storage time filters, and one-line refusals (real processes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.crawling import REPO_ROOT, crawl, export, scrapy
from tests.sites.server import SampleSites

KEYS = {"id", "url", "source", "title", "text", "language", "published_at", "authors", "site",
        "original_url", "publisher", "seen_urls", "urls", "updated_at"}


@pytest.fixture(scope="module")
def db_url(sample_sites: SampleSites, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('export') / 'news.db'}"
    crawl(url, "-a", f"start_urls={sample_sites.urls['gazette']}/")
    return url


def one_error_line(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, result.stderr
    assert message in errors[0]


def test_records_carry_id_source_and_update_time(db_url: str) -> None:
    stories = export(db_url)
    assert stories
    assert all(set(story) == KEYS for story in stories)
    assert len({story["id"] for story in stories}) == len(stories)
    assert {story["source"] for story in stories} == {"start_urls"}


def test_a_file_is_replaced_whole_and_keeps_its_mode(db_url: str, tmp_path: Path) -> None:
    target = tmp_path / "stories.jsonl"
    target.write_text("old\n")
    target.chmod(0o640)
    result = scrapy("export", "-o", str(target), "-s", f"DATABASE_URL={db_url}")
    assert result.returncode == 0, result.stderr
    lines = target.read_text().splitlines()
    assert [json.loads(line)["url"] for line in lines] == [s["url"] for s in export(db_url)]
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stories.jsonl"]


def test_stdout_into_a_closed_pipe_stops_quietly(db_url: str) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "scrapy", "export", "-o", "-",
                             "-s", f"DATABASE_URL={db_url}"], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the first line, as with `| head -0`
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert stderr == ""


def test_publication_and_storage_time_filters(db_url: str) -> None:
    stories = export(db_url)
    dated = sorted(s["published_at"] for s in stories if s["published_at"])
    assert len(dated) >= 2
    middle = dated[len(dated) // 2]
    since = export(db_url, "--since", middle)
    until = export(db_url, "--until", middle)
    assert {s["url"] for s in since} == {s["url"] for s in stories
                                        if s["published_at"] and s["published_at"] >= middle}
    assert {s["url"] for s in until} == {s["url"] for s in stories
                                        if s["published_at"] and s["published_at"] < middle}
    assert export(db_url, "--stored-since", "2000-01-01") == stories
    assert export(db_url, "--stored-since", "2999-01-01") == []


def test_an_unknown_source_is_refused(db_url: str) -> None:
    result = scrapy("export", "-o", "-", "-s", f"DATABASE_URL={db_url}", "--source", "nope")
    one_error_line(result, "no source named 'nope' (known: ")
    assert result.stdout == ""


@pytest.mark.parametrize("folder", ["missing", "/proc/self"])
def test_an_unwritable_target_is_refused(db_url: str, tmp_path: Path, folder: str) -> None:
    target = (tmp_path / folder if folder == "missing" else Path(folder)) / "stories.jsonl"
    result = scrapy("export", "-o", str(target), "-s", f"DATABASE_URL={db_url}")
    one_error_line(result, f"cannot write {target}: ")
    assert not target.exists()


def test_stories_refuses_an_unknown_source(db_url: str) -> None:
    one_error_line(scrapy("stories", "-s", f"DATABASE_URL={db_url}", "--source", "nope"),
                   "no source named 'nope' (known: ")
    listed = scrapy("stories", "-s", f"DATABASE_URL={db_url}", "--source", "start_urls")
    assert listed.returncode == 0, listed.stderr
