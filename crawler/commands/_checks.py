"""Settings and spider arguments checked before a crawl starts: one line for the first problem.

CHECKS maps a setting to the rule its value must follow (add a NEWS_* setting: one line here
when its default's type is not rule enough; settings without a rule are checked by the type
of their default in crawler/settings.py). Unknown NEWS_* settings and spider arguments are
refused with the closest valid name.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings

from crawler import settings as project_settings

Check = Callable[[Any], str | None]
SPIDER_ARGUMENTS = ("source", "start_urls")
SCRAPYD_ARGUMENTS = ("_job",)
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def as_bool(value: Any) -> bool:
    """A boolean from True/False, 0/1 or their words (true/false, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ValueError("expected true or false")


def whole(minimum: int | None = None, *, empty: bool = False) -> Check:
    """An integer, at least `minimum`; `empty`: None or '' allowed too."""
    wanted = "an integer" + (f" >= {minimum}" if minimum is not None else "")
    wanted += " or empty" if empty else ""

    def check(value: Any) -> str | None:
        if empty and value in (None, ""):
            return None
        try:
            number = int(str(value).strip()) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None or (minimum is not None and number < minimum):
            return f"expected {wanted}"
        return None
    return check


def number(low: float, high: float | None = None, *, above: bool = False) -> Check:
    """A number in [low, high] (`above`: strictly more than low)."""
    wanted = f"a number {'>' if above else '>='} {low:g}" + (
        f" and <= {high:g}" if high is not None else "")

    def check(value: Any) -> str | None:
        try:
            parsed = float(str(value).strip()) if not isinstance(value, bool) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed != parsed or parsed < low or (above and parsed == low) or (
                high is not None and parsed > high):
            return f"expected {wanted}"
        return None
    return check


def boolean(value: Any) -> str | None:
    """true/false, yes/no, on/off or 0/1."""
    try:
        as_bool(value)
    except ValueError:
        return "expected true or false (or yes/no, on/off, 1/0)"
    return None


def log_level(value: Any) -> str | None:
    """One of Python's logging level names."""
    if str(value).strip().upper() in LOG_LEVELS:
        return None
    return f"expected one of {', '.join(LOG_LEVELS)}"


def int_list(length: int) -> Check:
    """Empty, or up to `length` integers >= 0 (a list, or comma-separated text)."""
    def check(value: Any) -> str | None:
        items = value.split(",") if isinstance(value, str) else list(value or ())
        try:
            numbers = [int(str(item).strip()) for item in items if str(item).strip()]
        except ValueError:
            numbers = [-1]
        if len(numbers) > length or any(n < 0 for n in numbers):
            return f"expected up to {length} integers >= 0 (e.g. 10000,10,10) or empty"
        return None
    return check


CHECKS: dict[str, Check] = {
    "NEWS_DEPTH_LIMIT": whole(0),
    "NEWS_FOLLOW_CREDITS": boolean,
    "ALLOW_PRIVATE_NETWORKS": boolean,
    "NEWS_WORKERS": whole(0, empty=True),
    "NEWS_WORKERS_MAX_RESTARTS": whole(0),
    "NEWS_WORKERS_NICE": whole(0),
    "NEWS_STORE_BATCH_SIZE": whole(1),
    "NEWS_STORE_BATCH_SECONDS": number(0, above=True),
    "NEWS_DEDUP_THRESHOLD": number(0, 1, above=True),
    "NEWS_DEDUP_SHINGLE_SIZE": whole(1),
    "NEWS_DEDUP_NUM_PERM": whole(1),
    "NEWS_LANGUAGE_MIN_CHARS": whole(0),
    "NEWS_LANGUAGE_SAMPLE_CHARS": whole(1),
    "NEWS_LANGUAGE_SEED": whole(),
    "NEWS_INCREMENTAL": boolean,
    "NEWS_RECRAWL_INTERVAL": number(0),
    "NEWS_RUNS_ENABLED": boolean,
    "NEWS_HEALTH_WINDOW": whole(1),
    "NEWS_HEALTH_DROP_RATIO": number(0, 1),
    "NEWS_HEALTH_MIN_RUNS": whole(0),
    "NEWS_HEALTH_MAX_ERROR_RATE": number(0, 1),
    "NEWS_HEALTH_MIN_ERRORS": whole(1),
    "NEWS_PROGRESS_INTERVAL": number(0),
    "NEWS_ROBOTS_RETRY_SECONDS": number(0, above=True),
    "NEWS_REDIS_LEASE_SECONDS": number(0, above=True),
    "NEWS_ROBOTS_RETRY_TIMES": whole(0),
    "NEWS_GC_FREEZE": boolean,
    "NEWS_GC_THRESHOLDS": int_list(3),
    "NEWS_HOST_LOOKAHEAD": whole(0),
    "LOG_LEVEL": log_level,
    "CONCURRENT_REQUESTS": whole(1),
    "CONCURRENT_REQUESTS_PER_DOMAIN": whole(1),
    "CONCURRENT_ITEMS": whole(1),
    "DOWNLOAD_DELAY": number(0),
    "DOWNLOAD_TIMEOUT": number(0, above=True),
    "RETRY_TIMES": whole(0),
    "REDIRECT_MAX_TIMES": whole(0),
    "AUTOTHROTTLE_START_DELAY": number(0),
    "AUTOTHROTTLE_MAX_DELAY": number(0),
    "AUTOTHROTTLE_TARGET_CONCURRENCY": number(0, above=True),
}


def by_default_type(default: Any) -> Check | None:
    """The rule of a setting without its own: the type of its default."""
    if isinstance(default, bool):
        return boolean
    if isinstance(default, int):
        return whole()
    if isinstance(default, float):
        return number(float("-inf"))
    return None


def closest(name: str, known: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest known name, else ''."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


def check_settings(settings: BaseSettings) -> None:
    """UsageError naming the first unknown NEWS_* setting or value outside its rule."""
    defaults = {name: value for name, value in vars(project_settings).items() if name.isupper()}
    for name in sorted(settings):
        if name.startswith("NEWS_") and name not in defaults:
            raise UsageError(f"unknown setting {name}{closest(name, defaults)}",
                             print_help=False)
    for name in sorted(set(CHECKS) | set(defaults)):
        check = CHECKS.get(name) or by_default_type(defaults.get(name))
        value = settings.get(name)
        if check is None or (value is None and name not in CHECKS):
            continue
        problem = check(value)
        if problem:
            raise UsageError(f"setting {name}={value!r}: {problem}", print_help=False)


def check_spider_arguments(spargs: dict[str, str]) -> None:
    """UsageError for a spider argument the news spider does not take."""
    for name in sorted(spargs):
        if name not in SPIDER_ARGUMENTS + SCRAPYD_ARGUMENTS:
            raise UsageError(
                f"unknown spider argument -a {name}={spargs[name]!r}"
                f"{closest(name, SPIDER_ARGUMENTS)} (known: {', '.join(SPIDER_ARGUMENTS)})",
                print_help=False)


def check_writable_folder(setting: str, folder: str) -> None:
    """UsageError unless the folder exists or can be made, and a file can be written in it."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=path)
        os.close(fd)
        Path(probe).unlink()
    except OSError as exc:
        raise UsageError(f"setting {setting}={folder!r}: not a writable folder: "
                         f"{exc.strerror or exc}", print_help=False) from None


def parse_when(value: str) -> dt.datetime:
    """An ISO 8601 date or time; naive values are taken as UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
