"""News sources from config/sources.yaml: loading and validation."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from common.urls import host_of
from config import CONFIG_DIR

DEFAULT_SOURCES_FILE = CONFIG_DIR / "sources.yaml"

SOURCE_KEYS = {"name", "start_urls", "feeds", "sitemaps", "allowed_hosts", "options"}
OPTION_KEYS = {"depth_limit", "download_delay", "concurrency", "follow_credits"}
# Limits of a sources file: its size, and how much its aliases may expand it (nodes after
# expansion at most MAX_ALIAS_EXPANSION times those written, plus MIN_ALIAS_BUDGET).
MAX_SOURCES_BYTES = 64 * 1024 * 1024
MAX_ALIAS_EXPANSION = 10
MIN_ALIAS_BUDGET = 10_000
MAX_MESSAGE_CHARS = 300
OPTION_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


class SourcesConfigError(ValueError):
    """The sources file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class SourceOptions:
    """Per-source crawl options; None means the crawl-wide setting applies."""

    depth_limit: int | None = None
    download_delay: float | None = None
    concurrency: int | None = None
    follow_credits: bool = True


@dataclass(frozen=True)
class Source:
    """One configured news source."""

    name: str
    start_urls: tuple[str, ...]
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    options: SourceOptions = field(default_factory=SourceOptions)


def check_url(url: object) -> str:
    """Return the URL if it is an absolute http(s) URL with a host, else raise ValueError."""
    if not isinstance(url, str):
        raise ValueError(f"not a URL: {url!r}")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"malformed URL {url!r} (want http(s)://host/...)")
    return url.strip()


def _url_list(entry: dict[str, Any], key: str) -> tuple[str, ...]:
    """A list of URLs under a key (a single string is accepted)."""
    value = entry.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"{key!r} must be a list of URLs")
    return tuple(check_url(url) for url in value)


def _option_bool(name: str, value: object) -> bool:
    """true/false (YAML booleans, or the words true/false, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in OPTION_WORDS:
        return OPTION_WORDS[value.strip().lower()]
    raise ValueError(f"option {name}={value!r}: expected true or false")


def _option_number(name: str, value: object, kind: type, minimum: float) -> float:
    """An int or float option of at least `minimum` (booleans refused)."""
    wanted = f"{'an integer' if kind is int else 'a number'} >= {minimum:g}"
    if isinstance(value, bool) or (kind is int and isinstance(value, float)):
        raise ValueError(f"option {name}={value!r}: expected {wanted}")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"option {name}={value!r}: expected {wanted}") from None
    if number < minimum or number != number:
        raise ValueError(f"option {name}={value!r}: expected {wanted}")
    return float(number)


def _options(raw: object) -> SourceOptions:
    """Validated per-source options: depth_limit >= 0, download_delay >= 0, concurrency >= 1,
    follow_credits true or false."""
    if raw is None:
        return SourceOptions()
    if not isinstance(raw, dict):
        raise ValueError("'options' must be a mapping")
    unknown = sorted(set(raw) - OPTION_KEYS)
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r} (known: {', '.join(sorted(OPTION_KEYS))})")
    depth, delay, concurrency = (raw.get(key) for key in
                                 ("depth_limit", "download_delay", "concurrency"))
    return SourceOptions(
        depth_limit=None if depth is None else int(_option_number("depth_limit", depth, int, 0)),
        download_delay=None if delay is None else _option_number("download_delay", delay,
                                                                 float, 0),
        concurrency=None if concurrency is None else int(
            _option_number("concurrency", concurrency, int, 1)),
        follow_credits=_option_bool("follow_credits", raw.get("follow_credits", True)),
    )


def parse_source(entry: object) -> Source:
    """Validate one entry of the sources list."""
    if not isinstance(entry, dict):
        raise ValueError("each source must be a mapping")
    unknown = sorted(set(entry) - SOURCE_KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(SOURCE_KEYS))})")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("missing 'name'")
    start_urls = _url_list(entry, "start_urls")
    feeds = _url_list(entry, "feeds")
    sitemaps = _url_list(entry, "sitemaps")
    if not (start_urls or feeds or sitemaps):
        raise ValueError("needs at least one of 'start_urls', 'feeds', 'sitemaps'")
    hosts = entry.get("allowed_hosts") or []
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise ValueError("'allowed_hosts' must be a list of host names")
    allowed = {h.lower().strip() for h in hosts} or {
        host_of(u) for u in (*start_urls, *feeds, *sitemaps)
    }
    return Source(
        name=name.strip(),
        start_urls=start_urls,
        feeds=feeds,
        sitemaps=sitemaps,
        allowed_hosts=frozenset(allowed),
        options=_options(entry.get("options")),
    )


def expanded_size(events: Iterable[yaml.Event]) -> tuple[int, int]:
    """(nodes written, nodes once every alias is expanded) of a YAML event stream."""
    written, sizes = 0, dict[str, int]()
    stack: list[list[Any]] = [[None, 0]]  # [anchor, expanded size] of each open collection
    for event in events:
        if isinstance(event, yaml.AliasEvent):
            stack[-1][1] += sizes.get(event.anchor or "", 1)
        elif isinstance(event, yaml.ScalarEvent):
            written += 1
            stack[-1][1] += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            written += 1
            stack.append([event.anchor, 1])
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
            if anchor:
                sizes[anchor] = size
            stack[-1][1] += size
    return written, stack[0][1]


def read_yaml(path: Path) -> Any:
    """A YAML file's data, read safely: at most MAX_SOURCES_BYTES, and aliases that expand
    the document at most MAX_ALIAS_EXPANSION times (an alias bomb is refused before it is
    built). SourcesConfigError says why in one line, never quoting the document."""
    try:
        if path.stat().st_size > MAX_SOURCES_BYTES:
            raise SourcesConfigError(f"{path}: larger than {MAX_SOURCES_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourcesConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        message = f"{path}: not UTF-8 text: {exc.reason} at byte {exc.start}"
        raise SourcesConfigError(message) from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        written, expanded = expanded_size(yaml.parse(text, Loader=loader))
        if expanded > MAX_ALIAS_EXPANSION * written + MIN_ALIAS_BUDGET:
            raise SourcesConfigError(f"{path}: aliases expand {written} YAML nodes to "
                                     f"{expanded} (more than {MAX_ALIAS_EXPANSION} times): "
                                     "refused")
        return yaml.load(text, Loader=loader)  # a safe loader: CSafeLoader or SafeLoader
    except yaml.YAMLError as exc:
        message = str(exc).replace("\n", " ")[:MAX_MESSAGE_CHARS]
        raise SourcesConfigError(f"{path}: malformed YAML: {message}") from None


def load_sources(path: Path = DEFAULT_SOURCES_FILE) -> list[Source]:
    """Load and validate a sources file; SourcesConfigError names the file and entry.

    Parsed once per process and file version (path, size, modification time): the crawl
    command, the spider's settings and the spider itself all ask for it.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        raise SourcesConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return list(_load_sources(path.resolve(), stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _load_sources(path: Path, size: int, mtime_ns: int) -> tuple[Source, ...]:
    """load_sources for one version of a file (the size and time are the cache key)."""
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise SourcesConfigError(f"{path}: expected a top-level 'sources:' list")
    sources: list[Source] = []
    seen: set[str] = set()
    for index, entry in enumerate(data["sources"], start=1):
        label = entry.get("name") if isinstance(entry, dict) else None
        where = f"{path}: source #{index}" + (f" ({label!r})" if label else "")
        try:
            source = parse_source(entry)
        except ValueError as exc:
            raise SourcesConfigError(f"{where}: {str(exc)[:MAX_MESSAGE_CHARS]}") from None
        if source.name in seen:
            raise SourcesConfigError(f"{where}: duplicate name {source.name!r}")
        seen.add(source.name)
        sources.append(source)
    return tuple(sources)


def source_from_urls(urls: list[str]) -> Source:
    """An ad-hoc source for `-a start_urls=...`: its hosts are the URLs' hosts."""
    checked = tuple(check_url(u) for u in urls)
    return Source(
        name="start_urls",
        start_urls=checked,
        allowed_hosts=frozenset(host_of(u) for u in checked),
    )


def source_download_slot(source: Source) -> dict[str, float | int]:
    """Scrapy DOWNLOAD_SLOTS entry for a source's politeness overrides (empty if none)."""
    slot: dict[str, float | int] = {}
    if source.options.download_delay is not None:
        slot["delay"] = source.options.download_delay
    if source.options.concurrency is not None:
        slot["concurrency"] = source.options.concurrency
    return slot
