"""Config files: alias bombs and oversized sources files are refused in one line; parsed once.

The alias bomb is also given to `scrapy crawl` in a subprocess.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crawler.sources import (
    MAX_SOURCES_BYTES,
    SourcesConfigError,
    expanded_size,
    load_sources,
)
from tests.crawling import scrapy

LEVELS = 9
# Billion laughs: each level lists the level below nine times (9**9 strings once expanded).
BOMB = "a0: &a0 [lol]\n" + "".join(
    f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]\n" for n in range(1, LEVELS + 1)
) + f"sources:\n  - name: bomb\n    start_urls: *a{LEVELS}\n"
SHARED = """\
defaults: &polite {depth_limit: 2, download_delay: 1.5}
sources:
  - name: one
    start_urls: [https://one.example/]
    options: *polite
  - name: two
    start_urls: [https://two.example/]
    options: *polite
"""


def test_alias_bomb_is_refused_in_one_line_by_scrapy_crawl(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB, encoding="utf-8")
    result = scrapy("crawl", "news", "-s", f"NEWS_SOURCES_FILE={path}", timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, result.stderr[-2000:]
    assert "aliases expand" in errors[0]
    assert "refused" in errors[0]
    assert "lol" not in result.stderr
    assert len(result.stderr) < 2000


def test_expanded_size_counts_what_aliases_repeat() -> None:
    import yaml

    written, expanded = expanded_size(yaml.parse(BOMB, Loader=yaml.SafeLoader))
    assert written < 150
    assert expanded > 9**LEVELS


def test_a_few_shared_options_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "shared.yaml"
    path.write_text(SHARED, encoding="utf-8")
    sources = load_sources(path)
    assert [s.options.depth_limit for s in sources] == [2, 2]
    assert [s.options.download_delay for s in sources] == [1.5, 1.5]


def test_oversized_sources_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:  # sparse: no disk used
        handle.truncate(MAX_SOURCES_BYTES + 1)
    with pytest.raises(SourcesConfigError, match="larger than"):
        load_sources(path)


def test_parsed_once_per_file_version(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(SHARED, encoding="utf-8")
    first = load_sources(path)
    assert load_sources(path)[0] is first[0]  # the same objects: not parsed again
    path.write_text(SHARED.replace("two.example", "three.example"), encoding="utf-8")
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 1_000_000_000))
    changed = load_sources(path)
    assert changed[1].start_urls == ("https://three.example/",)
