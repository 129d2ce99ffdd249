"""JOBDIR that survives a crash: stored articles are journaled and never fetched twice.

Scrapy's JOBDIR saves the request queue only when a crawl stops cleanly; after a SIGKILL its
`requests.seen` may name requests that were in the lost queue, so a resumed crawl would skip
them forever. This dupefilter detects such a crash (no saved queue state), drops the stale
queue and fingerprints so discovery runs again, and journals the fingerprint of every stored
article (flushed at once) so the resumed crawl does not fetch those pages again. An
aggregator's copy whose credited original is still to be followed is not journaled: the
resumed crawl fetches it again to follow the credit.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import IO

from scrapy.crawler import Crawler
from scrapy.dupefilters import RFPDupeFilter
from scrapy.http import Request
from scrapy.utils.job import job_dir
from scrapy.utils.request import RequestFingerprinterProtocol

from pipelines.items import PageItem
from pipelines.store import story_stored

logger = logging.getLogger(__name__)

JOURNAL = "stored.seen"


def clear_after_crash(path: Path) -> bool:
    """Remove a crashed run's queue and fingerprints; True when there was a crash."""
    queue, seen = path / "requests.queue", path / "requests.seen"
    if (queue / "active.json").exists() or not (queue.exists() or seen.exists()):
        return False
    shutil.rmtree(queue, ignore_errors=True)
    seen.unlink(missing_ok=True)
    return True


def read_journal(path: Path) -> set[bytes]:
    """The fingerprints of stored articles, one hex line each (a torn last line is ignored)."""
    if not path.exists():
        return set()
    found = set()
    for line in path.read_text(encoding="ascii", errors="ignore").splitlines():
        try:
            found.add(bytes.fromhex(line))
        except ValueError:
            continue
    return found


class ResumableDupeFilter(RFPDupeFilter):
    """Scrapy's dupefilter, plus a journal of stored articles that outlives a SIGKILL."""

    def __init__(self, path: str | None = None, debug: bool = False, *,
                 fingerprinter: RequestFingerprinterProtocol | None = None) -> None:
        self.journal: IO[str] | None = None
        if path and clear_after_crash(Path(path)):
            logger.warning("JOBDIR %s: the last run did not stop cleanly; rediscovering pages "
                           "and skipping the articles it stored", path)
        super().__init__(path, debug, fingerprinter=fingerprinter)
        if path:
            stored = read_journal(Path(path, JOURNAL))
            self._fingerprints.update(stored)
            if stored:
                logger.info("JOBDIR %s: %d stored articles will not be fetched again",
                            path, len(stored))
            self.journal = Path(path, JOURNAL).open("a", encoding="ascii")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResumableDupeFilter:
        """Build the filter and journal each stored article's request."""
        dupefilter = cls(job_dir(crawler.settings), crawler.settings.getbool("DUPEFILTER_DEBUG"),
                         fingerprinter=crawler.request_fingerprinter)
        crawler.signals.connect(dupefilter.story_stored, signal=story_stored)
        return dupefilter

    def story_stored(self, item: PageItem) -> None:
        """Journal a committed article's request, flushed so a SIGKILL cannot lose it."""
        if item.credited_url and not item.credited_by:
            return
        if self.journal is not None:
            self.journal.write(self._fingerprint(Request(item.url)).hex() + "\n")
            self.journal.flush()

    def close(self, reason: str) -> None:
        """Close the fingerprints file and the journal."""
        super().close(reason)
        if self.journal is not None:
            self.journal.close()
