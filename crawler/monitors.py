"""Spidermon monitors that judge a finished crawl: failed, degraded or healthy.

Three suites run at spider close (SPIDERMON_SPIDER_CLOSE_MONITORS). When a monitor of the
failed suite fails, the run failed (`scrapy crawl` exits EXIT_FAILED); else when the run was
stopped cleanly by SIGTERM or SIGINT, it was interrupted (EXIT_INTERRUPTED: a normal event, the
next run with the same JOBDIR resumes it; the degraded checks are skipped, a partial run says
nothing about its sources); else when a degraded monitor fails, the run is degraded
(EXIT_DEGRADED). Each failing monitor's message is kept in the stats (`news/health/failed`,
`news/health/interrupted`, `news/health/degraded`) and logged as one line.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider
from spidermon import Monitor, MonitorSuite, monitors
from spidermon.core.actions import Action

from pipelines.pool import PAGES_LOST
from pipelines.store import UNWRITABLE_KEY
from storage.runs import SHUTDOWN, error_burst

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_DEGRADED = 3
EXIT_INTERRUPTED = 4
# Which verdict wins when several suites fail.
EXIT_RANK = {EXIT_OK: 0, EXIT_DEGRADED: 1, EXIT_INTERRUPTED: 2, EXIT_FAILED: 3}
FAILED_KEY = "news/health/failed"
INTERRUPTED_KEY = "news/health/interrupted"
DEGRADED_KEY = "news/health/degraded"
EXIT_KEY = "news/health/exit_code"


def failure_message(reason: str) -> str:
    """A failed check's own message: the last line of unittest's failure report (the
    assertion, after its traceback), without the exception's name."""
    lines = reason.strip().splitlines()
    last = lines[-1] if lines else ""
    name, sep, message = last.partition(": ")
    return message if sep and name == "AssertionError" else last


def counters_under(stats: dict[str, Any], prefix: str) -> dict[str, int]:
    """Counters named PREFIX/NAME (one level below the prefix), by name."""
    return {key.removeprefix(prefix + "/"): int(value) for key, value in stats.items()
            if key.startswith(prefix + "/") and "/" not in key.removeprefix(prefix + "/")}


class SpidermonReportAtDebug(Spider):
    """A spider whose Spider.log (deprecated by Scrapy) logs at DEBUG, with no warning.

    Only Spidermon's report calls it: a title, one line per check, totals and each failure
    again at length, about 50 lines per crawl at INFO and ERROR, plus a deprecation warning.
    The verdict is already logged as one line per failing check (RecordVerdict), so the
    report is kept for LOG_LEVEL=DEBUG only.
    """

    def log(self, message: Any, level: int = logging.DEBUG, **kw: Any) -> None:
        """Log the message at DEBUG through the spider's logger (whatever `level` says)."""
        self.logger.debug(message, **kw)


class NewsMonitor(Monitor):
    """A monitor with the crawl's stats and settings at hand; failures show our message only."""

    longMessage = False

    @property
    def stats(self) -> dict[str, Any]:
        """The crawl's stats at spider close."""
        return dict(self.data.stats)

    def setting(self, name: str) -> float:
        """A numeric setting of the crawl."""
        return float(self.data.crawler.settings.getfloat(name))

    def skip_if_unwritable(self) -> None:
        """Skip a check that a database refusing writes fails too: that is reported once."""
        if self.stats.get(UNWRITABLE_KEY):
            self.skipTest("the database cannot be written (reported once)")


@monitors.name("failed")
class FailedMonitor(NewsMonitor):
    """The run failed: it did not finish, fetched nothing, or could not store or record."""

    @monitors.name("the database took writes")
    def test_writable(self) -> None:
        """The database never refused writes as a whole (a full disk); if it did, the store
        stopped the crawl at once."""
        reason = self.stats.get(UNWRITABLE_KEY)
        lost = int(self.stats.get("news/store/failed", 0))
        self.assertFalse(reason, f"the database cannot be written ({reason}): {lost} stories "
                                 "not stored")

    @monitors.name("the run finished")
    def test_finished(self) -> None:
        """Scrapy's finish reason is `finished`, or `shutdown` (a clean stop on a signal,
        judged by the interrupted suite); not a close on error or a limit."""
        self.skip_if_unwritable()
        reason = self.stats.get("finish_reason")
        self.assertIn(reason, ("finished", SHUTDOWN), f"the run did not finish (reason: {reason})")

    @monitors.name("pages were fetched")
    def test_fetched(self) -> None:
        """At least one response came back (with REDIS_URL another process may take all)."""
        if self.data.crawler.settings.get("REDIS_URL"):
            self.skipTest("a shared frontier may leave this process nothing to fetch")
        if self.stats.get("finish_reason") == SHUTDOWN:
            self.skipTest("stopped by a signal, perhaps before its first page")
        fetched = int(self.stats.get("response_received_count", 0))
        errors = sum(counters_under(self.stats, "news/errors").values())
        self.assertGreater(fetched, 0, f"nothing fetched ({errors} failed requests)")

    @monitors.name("stories were written")
    def test_store(self) -> None:
        """Not every write to the database failed."""
        self.skip_if_unwritable()
        failed = int(self.stats.get("news/store/failed", 0))
        written = sum(int(self.stats.get(f"news/store/{kind}", 0))
                      for kind in ("new", "updated", "duplicate"))
        self.assertFalse(failed and not written,
                         f"every database write failed ({failed} records)")

    @monitors.name("run records were written")
    def test_run_records(self) -> None:
        """The crawl_runs rows were written (the database was usable at close)."""
        self.skip_if_unwritable()
        self.assertFalse(self.stats.get("news/runs/write_failed"),
                         f"run records not written: {self.stats.get('news/runs/write_failed')}")


@monitors.name("interrupted")
class InterruptedMonitor(NewsMonitor):
    """The run was stopped cleanly by a signal (systemctl stop, a shutdown, Ctrl-C)."""

    @monitors.name("the run was not interrupted")
    def test_not_interrupted(self) -> None:
        """Scrapy's finish reason is not `shutdown`."""
        jobdir = self.data.crawler.settings.get("JOBDIR")
        fetched = int(self.stats.get("response_received_count", 0))
        then = (f"the next run with JOBDIR {jobdir} resumes it" if jobdir
                else "no JOBDIR: the next run starts afresh")
        self.assertNotEqual(self.stats.get("finish_reason"), SHUTDOWN,
                            f"stopped by a signal after {fetched} pages; {then}")


@monitors.name("degraded")
class DegradedMonitor(NewsMonitor):
    """The run finished but looks broken: errors, silent sources, dropped pages, drops."""

    def setUp(self) -> None:
        """An interrupted run is not judged against its sources' history."""
        super().setUp()
        if self.stats.get("finish_reason") == SHUTDOWN:
            self.skipTest("the run was interrupted")

    @monitors.name("error rate")
    def test_error_rate(self) -> None:
        """Failed pages stay under NEWS_HEALTH_MAX_ERROR_RATE of all pages (an HTTP error
        response counts once, as a failure), or fewer than NEWS_HEALTH_MIN_ERRORS failed."""
        errors = sum(counters_under(self.stats, "news/errors").values())
        answered = int(self.stats.get("response_received_count", 0)) - int(
            self.stats.get("news/errors/HttpError", 0))
        limit = self.setting("NEWS_HEALTH_MAX_ERROR_RATE")
        total = errors + max(answered, 0)
        self.assertFalse(
            error_burst(errors, total, limit, int(self.setting("NEWS_HEALTH_MIN_ERRORS"))),
            f"error rate {errors / max(total, 1):.0%} over {limit:.0%} ({errors} of {total})")

    @monitors.name("dropped pages")
    def test_dropped(self) -> None:
        """No page was lost to a crashed worker or a failed write."""
        self.skip_if_unwritable()
        dropped = int(self.stats.get(PAGES_LOST, 0)) + int(
            self.stats.get("news/store/failed", 0))
        self.assertEqual(dropped, 0, f"{dropped} pages dropped (worker crashes, failed writes)")

    @monitors.name("source health")
    def test_sources(self) -> None:
        """No source looks degraded next to its history (zero stories, fill-rate drops)."""
        notes = self.stats.get("news/health/sources") or []
        self.assertFalse(notes, "; ".join(notes))


class RecordVerdict(Action):
    """Keep the failing monitors' messages and the exit code in the crawl's stats."""

    key = DEGRADED_KEY
    code = EXIT_DEGRADED
    label = "DEGRADED"
    level = logging.ERROR

    def run_action(self) -> None:
        """Store and log the failures of this suite; keep the exit code that ranks highest."""
        stats = self.data.crawler.stats
        messages = [failure_message(str(item.reason or "")) or item.monitor.name
                    for item in self.result.monitors_failed_results]
        stats.set_value(self.key, messages)
        current = int(stats.get_value(EXIT_KEY, EXIT_OK))
        stats.set_value(EXIT_KEY, max(current, self.code, key=EXIT_RANK.__getitem__))
        for message in messages:
            logger.log(self.level, "Run %s: %s", self.label, message)


class RecordFailure(RecordVerdict):
    """The failed suite's verdict."""

    key = FAILED_KEY
    code = EXIT_FAILED
    label = "FAILED"


class RecordInterruption(RecordVerdict):
    """The interrupted suite's verdict: a warning, not an error (a normal event)."""

    key = INTERRUPTED_KEY
    code = EXIT_INTERRUPTED
    label = "INTERRUPTED"
    level = logging.WARNING


class FailedSuite(MonitorSuite):
    """Monitors whose failure means the run failed."""

    monitors = [FailedMonitor]
    monitors_failed_actions = [RecordFailure]


class InterruptedSuite(MonitorSuite):
    """The monitor whose failure means the run was interrupted."""

    monitors = [InterruptedMonitor]
    monitors_failed_actions = [RecordInterruption]


class DegradedSuite(MonitorSuite):
    """Monitors whose failure means the run is degraded."""

    monitors = [DegradedMonitor]
    monitors_failed_actions = [RecordVerdict]
