"""Sources file: loading, validation and its error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.sources import (
    DEFAULT_SOURCES_FILE,
    SourcesConfigError,
    load_sources,
    source_download_slot,
    source_from_urls,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_sources_file_is_valid() -> None:
    sources = load_sources(DEFAULT_SOURCES_FILE)
    names = [s.name for s in sources]
    assert "vietnam.vn" in names
    assert "baodaidoanket.vn" in names
    assert len(names) == len(set(names)) >= 4


def test_source_fields_and_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, """
sources:
  - name: Example
    start_urls: [https://Example.com/news/]
    feeds: https://example.com/rss.xml
    options: {depth_limit: 1, download_delay: 2.5, concurrency: 1}
""")
    (source,) = load_sources(path)
    assert source.name == "Example"
    assert source.feeds == ("https://example.com/rss.xml",)
    assert source.allowed_hosts == frozenset({"example.com"})
    assert source.options.depth_limit == 1
    assert source_download_slot(source) == {"delay": 2.5, "concurrency": 1}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("sources:\n  - name: a\n    start_urls: [https://a.example/]\n    colour: red\n",
         "source #1 ('a'): unknown key 'colour'"),
        ("sources:\n  - start_urls: [https://a.example/]\n", "source #1: missing 'name'"),
        ("sources:\n  - name: ok\n    start_urls: [https://ok.example/]\n"
         "  - name: bad\n    start_urls: [not a url]\n",
         "source #2 ('bad'): malformed URL 'not a url'"),
        ("sources:\n  - name: a\n    start_urls: [https://a.example/]\n    options: {speed: 3}\n",
         "unknown option 'speed'"),
        ("sources: [\n  - name: a\n", "malformed YAML"),
        ("just text\n", "expected a top-level 'sources:' list"),
        ("sources:\n  - name: a\n    start_urls: [https://a.example/]\n"
         "  - name: a\n    start_urls: [https://b.example/]\n", "duplicate name 'a'"),
        ("sources:\n  - name: a\n", "needs at least one of"),
    ],
)
def test_bad_files_name_the_file_and_entry(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(SourcesConfigError) as info:
        load_sources(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourcesConfigError, match="cannot read"):
        load_sources(tmp_path / "absent.yaml")


def test_start_urls_make_an_ad_hoc_source() -> None:
    source = source_from_urls(["http://127.0.0.2:8000/", "http://127.0.0.4:8000/x"])
    assert source.allowed_hosts == frozenset({"127.0.0.2", "127.0.0.4"})
    with pytest.raises(ValueError, match="malformed URL"):
        source_from_urls(["ftp://x/"])
