"""Bad configuration stops `scrapy crawl` with one clear message: no traceback, no secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crawling import scrapy

SECRET = "hunter2"
BAD_SOURCES = {
    "unclosed-list.yaml": ("sources:\n  - name: x\n    start_urls: [https://x.example/\n",
                           "malformed YAML"),
    "top-level-list.yaml": ("- name: x\n", "expected a top-level 'sources:' list"),
    "empty.yaml": ("", "expected a top-level 'sources:' list"),
    "unknown-option.yaml": ("sources:\n  - name: x\n    start_urls: [https://x.example/]\n"
                            "    options: {speed: 11}\n", "unknown option 'speed'"),
    "bad-option.yaml": ("sources:\n  - name: x\n    start_urls: [https://x.example/]\n"
                        "    options: {depth_limit: deep}\n", "bad option value"),
    "bad-url.yaml": ("sources:\n  - name: x\n    start_urls: ['javascript:alert(1)']\n",
                     "malformed URL"),
    "duplicate.yaml": ("sources:\n  - name: x\n    start_urls: [https://x.example/]\n"
                       "  - name: x\n    start_urls: [https://y.example/]\n", "duplicate name 'x'"),
}


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
    ("setting", "message"),
    [
        ("DOWNLOAD_TIMEOUT=soon", "setting DOWNLOAD_TIMEOUT='soon': could not convert"),
        ("NEWS_DEPTH_LIMIT=deep", "setting NEWS_DEPTH_LIMIT='deep': could not convert"),
        ("ALLOW_PRIVATE_NETWORKS=maybe", "setting ALLOW_PRIVATE_NETWORKS='maybe': Supported"),
    ],
)
def test_settings_of_the_wrong_type(setting: str, message: str) -> None:
    result = scrapy("crawl", "news", "-s", setting)
    assert_one_clear_error(result.stderr, result.returncode, message)
