"""Run records: one row per crawl run and source, and a health check against past runs."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import CrawlRun

logger = logging.getLogger(__name__)

FILL_FIELDS = ("title", "body", "authors", "published_at", "language")
# The fill_rates key of the stored articles' mean body length in characters: a redesign that
# leaves extraction a teaser keeps `body` filled but shortens it.
BODY_CHARS = "body_chars"
# Scrapy's finish reasons of a run that ended normally and of one stopped cleanly by SIGTERM
# or SIGINT.
FINISHED = "finished"
SHUTDOWN = "shutdown"
# A run's status (run_status): what `scrapy runs` and the API show.
OK, DEGRADED, FAILED, INTERRUPTED = "ok", "degraded", "failed", "interrupted"
RUNNING, KILLED, UNFINISHED = "running", "killed", "unfinished"
# The SQL conditions of a judged run (see `judged`), for queries over the runs table.
JUDGED_RUN = (CrawlRun.finished_at.is_not(None), CrawlRun.finish_reason.is_not(None),
              CrawlRun.finish_reason != SHUTDOWN)


def process_alive(pid: int) -> bool:
    """A process of this machine with this id runs a scrapy command (else it is gone, or the
    id was reused by another program)."""
    try:
        return b"scrapy" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def run_status(run: CrawlRun) -> str:
    """What became of a run: `running` or `killed` when its row was never finished (its
    process is alive or gone; `unfinished` when it ran on another machine), `interrupted`
    when a signal stopped it cleanly, `failed` when it closed for another reason than
    finishing (an unwritable database, a limit), else `degraded` or `ok`."""
    if run.finished_at is None or run.finish_reason is None:
        if run.pid is None or run.hostname != socket.gethostname():
            return UNFINISHED
        return RUNNING if process_alive(run.pid) else KILLED
    if run.finish_reason == SHUTDOWN:
        return INTERRUPTED
    if run.finish_reason != FINISHED:
        return FAILED
    return DEGRADED if run.degraded else OK


def judged(run: CrawlRun) -> bool:
    """A run that ended and was not stopped by a signal: one that says how its source is
    (JUDGED_RUN in SQL)."""
    return run.finished_at is not None and run.finish_reason not in (None, SHUTDOWN)


def stories_seen(run: CrawlRun) -> int:
    """Articles the run stored: new stories, updated ones and duplicates merged in."""
    return run.stories_new + run.stories_updated + run.stories_duplicate


def fill_rates(filled: Mapping[str, int], stored: int, body_chars: int = 0
               ) -> dict[str, float]:
    """The share of stored articles with each field filled, rounded to 3 decimals, and their
    mean body length (BODY_CHARS, from the total `body_chars`)."""
    if stored == 0:
        return {}
    rates = {name: round(filled.get(name, 0) / stored, 3) for name in FILL_FIELDS}
    return {**rates, BODY_CHARS: round(body_chars / stored)}


def error_burst(errors: int, requests: int, max_error_rate: float, min_errors: int) -> bool:
    """More than MAX_ERROR_RATE of REQUESTS failed, and at least MIN_ERRORS of them (fewer
    failures say little about a source)."""
    return errors >= max(min_errors, 1) and errors / requests > max_error_rate


def health_problems(run: CrawlRun, previous: Sequence[CrawlRun], drop_ratio: float,
                    min_runs: int, max_error_rate: float = 1.0, min_errors: int = 1
                    ) -> list[str]:
    """Why a run looks broken (empty: fine): an error burst (more than `max_error_rate` of its
    requests failed, and at least `min_errors` of them), or next to the median of the previous
    healthy runs, zero or far fewer stories, a field's fill rate or the mean body length far
    lower."""
    problems = []
    errors = sum((run.errors or {}).values())
    requests = max(run.pages_fetched - (run.errors or {}).get("HttpError", 0), 0) + errors
    if error_burst(errors, requests, max_error_rate, min_errors):
        problems.append(f"error burst: {errors} of {requests} requests failed")
    if len(previous) < min_runs:
        return problems
    baseline = statistics.median(stories_seen(r) for r in previous)
    if baseline > 0 and stories_seen(run) == 0:
        problems.append(f"zero stories where the last runs stored a median of {baseline:g}")
    elif baseline > 0 and stories_seen(run) < baseline * drop_ratio:
        problems.append(f"{stories_seen(run)} articles stored against a median of {baseline:g}")
    if stories_seen(run) == 0:
        return problems
    for name in (*FILL_FIELDS, BODY_CHARS):
        past = statistics.median(float((r.fill_rates or {}).get(name, 0.0)) for r in previous)
        now = float((run.fill_rates or {}).get(name, 0.0))
        if past > 0 and now < past * drop_ratio:
            problems.append(f"body length {now:.0f} characters against a median of {past:.0f}"
                            if name == BODY_CHARS else
                            f"{name} filled in {now:.0%} against a median of {past:.0%}")
    return problems


def previous_runs(session: Session, run: CrawlRun, window: int) -> list[CrawlRun]:
    """The last `window` healthy runs of the same source that started before this one (runs
    interrupted or never finished stored only part of the source: not a baseline)."""
    return list(session.scalars(
        select(CrawlRun)
        .where(CrawlRun.source == run.source, CrawlRun.started_at < run.started_at,
               CrawlRun.degraded.is_(False), *JUDGED_RUN)
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(window)
    ))


def record_run(session: Session, run: CrawlRun, *, window: int, drop_ratio: float,
               min_runs: int, max_error_rate: float = 1.0, min_errors: int = 1) -> CrawlRun:
    """Judge a run's health against its source's history, then add it to the session.

    An interrupted run (stopped by a signal) is recorded as such and not judged: it stored
    only part of its source, which says nothing about the source."""
    problems = health_problems(run, previous_runs(session, run, window), drop_ratio, min_runs,
                               max_error_rate, min_errors) if judged(run) else []
    run.degraded = bool(problems)
    run.health_note = "; ".join(problems) or None
    if problems:
        logger.warning("Source %s looks degraded (site redesign?): %s", run.source,
                       run.health_note)
    session.add(run)
    session.flush()
    return run


def last_runs(session: Session, *, source: str | None = None, limit: int = 20) -> list[CrawlRun]:
    """The newest runs first, optionally of one source."""
    query = select(CrawlRun).order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
    if source is not None:
        query = query.where(CrawlRun.source == source)
    return list(session.scalars(query.limit(limit)))


def last_finished_starts(session: Session, sources: Sequence[str]) -> dict[str, dt.datetime]:
    """When each source's last run that finished normally started (sources without one: absent).

    What such a run discovered was fetched, so a later run may skip sitemap and feed entries
    modified before then.
    """
    rows = session.execute(
        select(CrawlRun.source, func.max(CrawlRun.started_at))
        .where(CrawlRun.source.in_(list(sources)), CrawlRun.finish_reason == FINISHED)
        .group_by(CrawlRun.source)
    )
    return {source: started for source, started in rows if started is not None}
