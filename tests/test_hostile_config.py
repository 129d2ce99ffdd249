"""Bad configuration stops `scrapy crawl` with one clear message: no traceback, no secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.sources import load_sources
from tests.crawling import crawl, export, scrapy
from tests.servers import new_postgres_database
from tests.sites.server import SampleSites

SECRET = "hunter2"
BAD_SOURCES = {
    "unclosed-list.yaml": ("sources:\n  - name: x\n    start_urls: [https://x.example/\n",
                           "malformed YAML"),
    "top-level-list.yaml": ("- name: x\n", "expected a top-level 'sources:' list"),
    "empty.yaml": ("", "expected a top-level 'sources:' list"),
    "unknown-option.yaml": ("sources:\n  - name: x\n    start_urls: [https://x.example/]\n"
                            "    options: {speed: 11}\n", "unknown option 'speed'"),
    "bad-option.yaml": ("sources:\n  - name: x\n    start_urls: [https://x.example/]\n"
                        "    options: {depth_limit: deep}\n",
                        "option depth_limit='deep': expected an integer >= 0"),
    "negative-depth.yaml": ("sources:\n  - name: x\n    start_urls: [https://x.example/]\n"
                            "    options: {depth_limit: -1}\n",
                            "option depth_limit=-1: expected an integer >= 0"),
    "zero-concurrency.yaml": ("sources:\n  - name: x\n    start_urls: [https://x.example/]\n"
                              "    options: {concurrency: 0}\n",
                              "option concurrency=0: expected an integer >= 1"),
    "negative-delay.yaml": ("sources:\n  - name: x\n    start_urls: [https://x.example/]\n"
                            "    options: {download_delay: -0.5}\n",
                            "option download_delay=-0.5: expected a number >= 0"),
    "maybe-credits.yaml": ("sources:\n  - name: x\n    start_urls: [https://x.example/]\n"
                           "    options: {follow_credits: maybe}\n",
                           "option follow_credits='maybe': expected true or false"),
    "bad-url.yaml": ("sources:\n  - name: x\n    start_urls: ['javascript:alert(1)']\n",
                     "malformed URL"),
    "duplicate.yaml": ("sources:\n  - name: x\n    start_urls: [https://x.example/]\n"
                       "  - name: x\n    start_urls: [https://y.example/]\n", "duplicate name 'x'"),
}


class Stored:
    """A database with stories stored by an earlier crawl, to show a refused run loses none."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.stories = export(db_url)
        assert self.stories

    def assert_kept(self) -> None:
        """Every story stored before is still there, unchanged."""
        assert export(self.db_url) == self.stories


@pytest.fixture(scope="module")
def stored(sample_sites: SampleSites, tmp_path_factory: pytest.TempPathFactory) -> Stored:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('stored') / 'news.db'}"
    crawl(db_url, "-a", f"start_urls={sample_sites.urls['gazette']}/")
    return Stored(db_url)


def assert_one_clear_error(result_stderr: str, returncode: int, message: str) -> None:
    assert returncode != 0
    assert message in result_stderr
    assert "Traceback" not in result_stderr
    assert SECRET not in result_stderr
    errors = [line for line in result_stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, result_stderr
    assert message in errors[0]


@pytest.mark.parametrize("name", sorted(BAD_SOURCES))
def test_bad_sources_file(name: str, tmp_path: Path) -> None:
    text, message = BAD_SOURCES[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = scrapy("crawl", "news", "-s", f"NEWS_SOURCES_FILE={path}")
    assert_one_clear_error(result.stderr, result.returncode, f"{path}: ")
    assert message in result.stderr


def test_sources_file_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_bytes(b"\xff\xfe\x00\x01junk")
    result = scrapy("crawl", "news", "-s", f"NEWS_SOURCES_FILE={path}")
    assert_one_clear_error(result.stderr, result.returncode, f"{path}: not UTF-8 text")


def test_missing_sources_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    result = scrapy("crawl", "news", "-s", f"NEWS_SOURCES_FILE={path}")
    assert_one_clear_error(result.stderr, result.returncode, f"{path}: cannot read")


@pytest.mark.parametrize(
    ("command", "url", "shown"),
    [
        (("crawl", "news"), f"postgresql://newsagg:{SECRET}@127.0.0.1:notaport/none",
         "cannot open database postgresql://newsagg:***@127.0.0.1:notaport/none"),
        (("crawl", "news"), f"postgresql+psycopg://127.0.0.1:9/none?password={SECRET}",
         "cannot open database postgresql+psycopg://127.0.0.1:9/none?password=***"),
        (("export", "-o", "-"), f"postgresql+psycopg://newsagg:{SECRET}@127.0.0.1:9/none",
         "cannot open database postgresql+psycopg://newsagg:***@127.0.0.1:9/none"),
        (("stories",), f"nosuchdriver://newsagg:{SECRET}@127.0.0.1/none",
         "cannot open database nosuchdriver://newsagg:***@127.0.0.1/none"),
    ],
    ids=["crawl-malformed-port", "crawl-query-password", "export",
         "stories-unknown-driver"],
)
def test_database_url_errors_never_show_the_password(
    command: tuple[str, ...], url: str, shown: str
) -> None:
    result = scrapy(*command, "-s", f"DATABASE_URL={url}")
    assert_one_clear_error(result.stderr, result.returncode, shown)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-s", "DOWNLOAD_TIMEOUT=soon"), "setting DOWNLOAD_TIMEOUT='soon': expected a number > 0"),
        (("-s", "NEWS_DEPTH_LIMIT=deep"),
         "setting NEWS_DEPTH_LIMIT='deep': expected an integer >= 0"),
        (("-s", "NEWS_DEPTH_LIMIT=-1"), "setting NEWS_DEPTH_LIMIT='-1': expected an integer >= 0"),
        (("-s", "ALLOW_PRIVATE_NETWORKS=maybe"),
         "setting ALLOW_PRIVATE_NETWORKS='maybe': expected true or false"),
        (("-s", "NEWS_WORKERS=two"),
         "setting NEWS_WORKERS='two': expected an integer >= 0 or empty"),
        (("-s", "NEWS_DEDUP_THRESHOLD=5"),
         "setting NEWS_DEDUP_THRESHOLD='5': expected a number > 0 and <= 1"),
        (("-s", "LOG_LEVEL=LOUD"),
         "setting LOG_LEVEL='LOUD': expected one of CRITICAL, ERROR, WARNING, INFO, DEBUG"),
        (("-s", "NEWS_GC_THRESHOLDS=1,2,x"),
         "setting NEWS_GC_THRESHOLDS='1,2,x': expected up to 3"),
        (("-s", "NEWS_WORKER=2"), "unknown setting NEWS_WORKER (did you mean NEWS_WORKERS?)"),
        (("-a", "sources=gazette"),
         "unknown spider argument -a sources='gazette' (did you mean source?)"),
        (("-o", "items.jsonl"), "feed exports (-o/-O, FEEDS) are not supported"),
        (("-s", f"DATABASE_URL=mysql://newsagg:{SECRET}@127.0.0.1/news"),
         "cannot open database mysql://newsagg:***@127.0.0.1/news: unsupported database 'mysql'"),
        (("-s", "JOBDIR=/proc/self/no-such-job"),
         "setting JOBDIR='/proc/self/no-such-job': not a writable folder"),
        (("-s", "NEWS_LOCK_DIR=/proc/self/no-such-locks"),
         "setting NEWS_LOCK_DIR='/proc/self/no-such-locks': not a writable folder"),
    ],
)
def test_bad_settings_and_arguments(stored: Stored, args: tuple[str, ...], message: str) -> None:
    result = scrapy("crawl", "news", "-s", f"DATABASE_URL={stored.db_url}", *args)
    assert result.returncode == 2
    assert_one_clear_error(result.stderr, result.returncode, message)
    stored.assert_kept()


def test_a_sqlite_file_in_a_missing_folder_is_refused_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "news.db"
    result = scrapy("crawl", "news", "-s", f"DATABASE_URL=sqlite:///{missing}")
    assert_one_clear_error(result.stderr, result.returncode,
                           f"folder {missing.parent} does not exist")
    assert not missing.parent.exists()


def test_postgres_scheme_means_postgresql(postgres_url: str) -> None:
    db_url = new_postgres_database(postgres_url).replace("postgresql+psycopg://", "postgres://")
    result = scrapy("stories", "-s", f"DATABASE_URL={db_url}")
    assert result.returncode == 0, result.stderr
    assert "0 stories" in result.stdout


def test_remote_control_is_off_unless_turned_on() -> None:
    from scrapy.settings import Settings

    from crawler import settings as project_settings

    settings = Settings()
    assert settings.getbool("REMOTE_CONTROL_ENABLED")  # Scrapy's own default is on
    settings.setmodule(project_settings)
    assert not settings.getbool("REMOTE_CONTROL_ENABLED")


@pytest.mark.parametrize(("value", "expected"),
                         [("false", False), ("'false'", False), ("no", False), ("'true'", True),
                          ("true", True)])
def test_follow_credits_words(value: str, expected: bool, tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: x\n    start_urls: [https://x.example/]\n"
                    f"    options: {{follow_credits: {value}}}\n", encoding="utf-8")
    (source,) = load_sources(path)
    assert source.options.follow_credits is expected
