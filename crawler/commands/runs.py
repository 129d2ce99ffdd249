"""`scrapy runs`: the last crawl runs per source, with their counts and health."""

from __future__ import annotations

import argparse
from collections import Counter

from scrapy.commands import ScrapyCommand

from crawler.commands._database import open_database
from crawler.commands._table import format_table
from storage.models import CrawlRun
from storage.runs import (
    BODY_CHARS,
    DEGRADED,
    FAILED,
    FILL_FIELDS,
    INTERRUPTED,
    KILLED,
    OK,
    RUNNING,
    last_runs,
    run_status,
)

HEADER = ("started (UTC)", "source", "pages", "new", "upd", "dup", "not art", "errors",
          "fill " + "/".join(name[0] for name in FILL_FIELDS), "body", "health")
WIDTHS = (19, 16, 6, 5, 5, 5, 7, 6, 24, 6, None)


def health_cell(run: CrawlRun, status: str) -> str:
    """A run's status as the table's last cell, with what it means."""
    if status == DEGRADED:
        return f"DEGRADED: {run.health_note}"
    if status == INTERRUPTED:
        return "INTERRUPTED: stopped by a signal"
    if status == FAILED:
        return f"FAILED: closed ({run.finish_reason})"
    if status == KILLED:
        return f"KILLED: never finished (process {run.pid} is gone)"
    if status == RUNNING:
        return f"running (process {run.pid})"
    if status == OK:
        return "ok"
    return f"UNFINISHED: running or killed on {run.hostname}"


def run_row(run: CrawlRun, status: str) -> tuple[str, ...]:
    """One run as the table's cells."""
    fill = " ".join(f"{round(100 * float((run.fill_rates or {}).get(name, 0))):3d}"
                    for name in FILL_FIELDS) if run.fill_rates else "-"
    body = (run.fill_rates or {}).get(BODY_CHARS)
    return (run.started_at.strftime("%Y-%m-%d %H:%M:%S"), run.source, str(run.pages_fetched),
            str(run.stories_new), str(run.stories_updated), str(run.stories_duplicate),
            str(run.not_articles), str(sum((run.errors or {}).values())), fill,
            "-" if body is None else str(body), health_cell(run, status))


class RunsCommand(ScrapyCommand):
    """Print the last crawl runs as a table."""

    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def short_desc(self) -> str:
        """One line of help."""
        return "Print the last crawl runs: pages, stories, errors, fill rates, health"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """The table's options."""
        super().add_options(parser)
        parser.add_argument("--source", metavar="NAME", help="only runs of this source")
        parser.add_argument("--limit", type=int, default=20, metavar="N",
                            help="how many runs, newest first (default: 20)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Print the table and a count."""
        assert self.settings is not None
        engine, sessions = open_database(self.settings)
        try:
            with sessions() as session:
                runs = last_runs(session, source=opts.source, limit=opts.limit)
        finally:
            engine.dispose()
        statuses = [run_status(run) for run in runs]
        print(format_table(HEADER, [run_row(r, s) for r, s in zip(runs, statuses, strict=True)],
                           WIDTHS))
        counts = Counter(statuses)
        others = "".join(f", {count} {status}" for status, count in sorted(counts.items())
                         if status not in (OK, DEGRADED))
        print(f"\n{len(runs)} runs, {counts[DEGRADED]} degraded{others}")
