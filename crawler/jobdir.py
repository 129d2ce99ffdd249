"""JOBDIR for scheduled runs: fresh after a finished run, resumed after an interrupted one.

Scrapy's JOBDIR keeps the request queue and the seen fingerprints between runs. Reused by a
schedule as is, it would make every run after the first "resume" a finished job and fetch
nothing, and after a SIGKILL its files may be stale (a queue state naming popped or truncated
queues). This dupefilter writes the run's state to the JOBDIR (`run.json`: running,
interrupted or finished) and decides at start, before the scheduler reads the queue:

- fresh: no state, or the last run finished: the JOBDIR's files are removed, a new run starts;
- resume: the last run stopped cleanly before finishing (SIGTERM, SIGINT) and its saved queue
  reads back whole (checked on a copy with the configured queue classes): Scrapy resumes it;
- recover: the last run was killed, or its queue does not read back: the queue and
  fingerprints are dropped so discovery runs again, and the journal of stored articles
  (`stored.seen`, one fingerprint per committed article, flushed at once) keeps those pages
  from being fetched twice. An aggregator's copy whose credited original is still to be
  followed is not journaled: the next run fetches it again to follow the credit.

A finished run leaves no resumable state behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any

from scrapy.crawler import Crawler
from scrapy.dupefilters import RFPDupeFilter
from scrapy.http import Request
from scrapy.utils.job import job_dir
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy.utils.request import RequestFingerprinterProtocol

from pipelines.items import PageItem
from pipelines.store import story_stored

logger = logging.getLogger(__name__)

JOURNAL = "stored.seen"
STATE = "run.json"
QUEUE = "requests.queue"
RESUMABLE = (QUEUE, "requests.seen", "spider.state", JOURNAL)
FRESH, RESUME, RECOVER = "fresh", "resume", "recover"
MAX_QUEUE_CHECK = 10_000_000


def read_state(path: Path) -> dict[str, Any]:
    """The last run's state file ({} when missing; a torn or foreign file counts as a kill)."""
    try:
        state = json.loads((path / STATE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {"state": "running"}
    return state if isinstance(state, dict) else {"state": "running"}


def write_state(path: Path, state: str) -> None:
    """Replace the state file atomically (a crash leaves the old one or the new one)."""
    fd, temp = tempfile.mkstemp(prefix=".run-", dir=path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"state": state}, out)
            out.flush()
            os.fsync(out.fileno())
        Path(temp).replace(path / STATE)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def has_resumable_files(path: Path) -> bool:
    """True when a queue, fingerprints or journal of an earlier run is in the JOBDIR."""
    return any((path / name).exists() for name in RESUMABLE)


def remove(path: Path, names: tuple[str, ...]) -> None:
    """Delete files or folders of the JOBDIR."""
    for name in names:
        target = path / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def queue_reads_back(path: Path, crawler: Crawler) -> bool:
    """True when the saved queue opens and every request in it pops and deserializes.

    The check runs on a copy with the scheduler's own queue classes, built as Scrapy's
    scheduler builds them; any error or a queue that never empties means it is not whole.
    """
    settings = crawler.settings
    try:
        startprios = json.loads((path / QUEUE / "active.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return not (path / QUEUE).exists() or not any((path / QUEUE).iterdir())
    except (OSError, ValueError):
        return False
    with tempfile.TemporaryDirectory(prefix=".check-", dir=path) as scratch:
        copy = Path(scratch, QUEUE)
        queue: Any = None
        try:
            shutil.copytree(path / QUEUE, copy)
            queue = build_from_crawler(
                load_object(settings["SCHEDULER_PRIORITY_QUEUE"]), crawler,
                downstream_queue_cls=load_object(settings["SCHEDULER_DISK_QUEUE"]),
                key=str(copy), startprios=startprios,
                start_queue_cls=load_object(settings["SCHEDULER_START_DISK_QUEUE"]),
            )
            for _ in range(MAX_QUEUE_CHECK):
                if not len(queue):
                    return True
                if queue.pop() is None:
                    return False
            return False
        except Exception as exc:  # noqa: BLE001 - any failure to read back means "not whole"
            logger.warning("JOBDIR %s: the saved queue does not read back (%s: %s)", path,
                           type(exc).__name__, exc)
            return False
        finally:
            if queue is not None:
                try:
                    queue.close()
                except Exception:  # noqa: BLE001 - the copy is thrown away
                    logger.debug("closing the checked copy of the queue failed", exc_info=True)


def plan_run(path: Path, crawler: Crawler | None) -> str:
    """fresh, resume or recover, from the last run's state and files."""
    if not has_resumable_files(path):
        return FRESH
    state = read_state(path).get("state")
    if state == "finished":
        return FRESH
    if state == "interrupted" and (crawler is None or queue_reads_back(path, crawler)):
        return RESUME
    return RECOVER


def prepare_jobdir(path: Path, crawler: Crawler | None) -> str:
    """Clear what the plan drops, mark the run as running; return the plan."""
    path.mkdir(parents=True, exist_ok=True)
    plan = plan_run(path, crawler)
    if plan == FRESH:
        remove(path, RESUMABLE)
    elif plan == RECOVER:
        remove(path, (QUEUE, "requests.seen", "spider.state"))
        logger.warning("JOBDIR %s: the last run did not stop cleanly; rediscovering pages "
                       "and skipping the articles it stored", path)
    else:
        logger.info("JOBDIR %s: resuming the interrupted run", path)
    write_state(path, "running")
    return plan


def read_journal(path: Path) -> set[str]:
    """The fingerprints of stored articles, one hex line each (a torn line is ignored)."""
    if not path.exists():
        return set()
    found = set()
    for line in path.read_text(encoding="ascii", errors="ignore").splitlines():
        try:
            found.add(bytes.fromhex(line).hex())
        except ValueError:
            continue
    return found


class ResumableDupeFilter(RFPDupeFilter):
    """Scrapy's dupefilter, plus the run state and a journal of stored articles in JOBDIR."""

    def __init__(self, path: str | None = None, debug: bool = False, *,
                 fingerprinter: RequestFingerprinterProtocol | None = None,
                 crawler: Crawler | None = None) -> None:
        self.journal: IO[str] | None = None
        self.jobdir = Path(path) if path else None
        self.stored: set[str] = set()
        if self.jobdir is not None:
            prepare_jobdir(self.jobdir, crawler)
        super().__init__(path, debug, fingerprinter=fingerprinter)
        if self.jobdir is not None:
            self.stored = read_journal(self.jobdir / JOURNAL)
            if self.stored:
                logger.info("JOBDIR %s: %d stored articles will not be fetched again",
                            self.jobdir, len(self.stored))
            self.journal = (self.jobdir / JOURNAL).open("a", encoding="ascii")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResumableDupeFilter:
        """Build the filter and journal each stored article's request."""
        dupefilter = cls(job_dir(crawler.settings), crawler.settings.getbool("DUPEFILTER_DEBUG"),
                         fingerprinter=crawler.request_fingerprinter, crawler=crawler)
        crawler.signals.connect(dupefilter.story_stored, signal=story_stored)
        return dupefilter

    def request_seen(self, request: Request) -> bool:
        """Seen in this run (or the resumed one), or stored by an earlier interrupted run."""
        if self.stored and self.request_fingerprint(request) in self.stored:
            return True
        return super().request_seen(request)

    def story_stored(self, item: PageItem) -> None:
        """Journal a committed article's request, flushed so a SIGKILL cannot lose it."""
        if item.credited_url and not item.credited_by:
            return
        if self.journal is not None:
            self.journal.write(self.request_fingerprint(Request(item.url)) + "\n")
            self.journal.flush()

    def close(self, reason: str) -> None:
        """Called after the scheduler saved its queue: record how the run ended.

        A finished run removes its queue, fingerprints and journal, so the next scheduled
        run starts fresh; any other reason leaves them for the next run to resume.
        """
        super().close(reason)
        if self.journal is not None:
            self.journal.close()
        if self.jobdir is None:
            return
        if reason == "finished":
            remove(self.jobdir, RESUMABLE)
            write_state(self.jobdir, "finished")
        else:
            write_state(self.jobdir, "interrupted")
