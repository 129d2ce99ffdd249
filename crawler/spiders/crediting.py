"""The news spider's credit hops: a copy's credited original, fetched once and checked.

A copy's item waits (Credit.waiting) until its credited original is fetched, through
redirects and, for an AMP, print or mobile variant, its declared canonical; the copy keeps
the credit only when the original carries the same story (crawler/credits.py). A waiting copy
is announced (signal item_waiting), so a Redis frontier keeps its page's lease until it is
stored; the credit hop stays in the process where its copies wait (LOCAL_META).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response

from crawler.credits import credit_holds, original_url, story_words, variant_canonical
from crawler.encoding import looks_binary, page_text, utf8_page
from crawler.incremental import ARTICLE_CANDIDATE
from crawler.leases import LOCAL_META, item_waiting
from crawler.middlewares import PrivateNetworkBlocked
from crawler.pages import is_article_page, parse_html
from pipelines.items import PageItem
from pipelines.neardup import signature

logger = logging.getLogger(__name__)

CREDIT_COPY = "news_credit_copy"  # Request.meta: the first copy's (item, signature)
CREDIT_META = ("source", "credit_key", "credited_by", "news_depth", CREDIT_COPY,
               ARTICLE_CANDIDATE, LOCAL_META)


@dataclass
class Credit:
    """A credited original: the copies waiting for it, then what its fetch found.

    Fetched once per credited URL, whatever number of copies credit it (a citation shared
    by many stories): copies that come later are judged on the kept result.
    """

    waiting: list[tuple[PageItem, np.ndarray | None]] = field(default_factory=list)
    resolved: bool = False
    url: str | None = None  # the original's canonical URL; None: it could not be fetched
    signature: np.ndarray | None = None  # of its story text (see crawler.credits)
    private: bool = False  # the guard refused it (its host resolves privately): no credit


def _header(response: Response, name: bytes) -> str | None:
    """A response header as text, None when absent."""
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class CreditingSpider(scrapy.Spider):
    """Article items and credit hops; the news spider's base (no name: not a spider itself)."""

    # Set by the news spider: the credits followed, and the dedup stage's measure
    # (NEWS_DEDUP_SHINGLE_SIZE, NEWS_DEDUP_NUM_PERM, NEWS_DEDUP_THRESHOLD) they are judged by.
    credits: dict[str, Credit]
    shingle_size: int
    coefficients: tuple[np.ndarray, np.ndarray]
    credit_threshold: float

    def _count(self, key: str) -> None:
        """Increment a namespaced stats counter."""
        self.crawler.stats.inc_value(f"news/spider/{key}")

    def _as_text(self, response: HtmlResponse) -> HtmlResponse:
        """The response decoded right (see crawler.encoding.page_text), as NFC text."""
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        text = page_text(response.body, content_type, response.text)
        if text == response.text:
            return response
        self._count("recoded_pages")
        return response.replace(body=text.encode("utf-8"), encoding="utf-8")

    def _item(self, response: HtmlResponse, html: bytes, original: str | None) -> PageItem:
        """The item for an article page."""
        self._count("article_pages")
        redirects = response.meta.get("redirect_urls") or [response.url]
        return PageItem(
            url=response.url,
            html=html,
            source=response.meta["source"],
            fetched_at=dt.datetime.now(dt.UTC),
            request_url=redirects[0],
            credited_url=original,
            credited_by=response.meta.get("credited_by"),
            http_etag=_header(response, b"ETag"),
            http_last_modified=_header(response, b"Last-Modified"),
        )

    def _signature(self, root: Any) -> np.ndarray | None:
        """The MinHash signature of a page's story text, by the dedup stage's settings."""
        return signature(story_words(root), self.shingle_size, self.coefficients)

    def _credit(self, response: Response, item: PageItem, original: str, root: Any
                ) -> Iterator[Request | PageItem]:
        """Hold a copy's item until its credited original is fetched (once per original)."""
        copy = self._signature(root)
        credit = self.credits.get(original)
        if credit is None or not credit.resolved:
            self.crawler.signals.send_catch_log(item_waiting, item=item, response=response)
        if credit is None:
            # The first copy travels with the request (in a JOBDIR's queue too); later copies
            # wait here. With a Redis frontier the request stays in this process.
            self.credits[original] = Credit()
            self._count("credits_followed")
            yield Request(original, callback=self.parse_credit, errback=self.on_credit_error,
                          dont_filter=True, priority=5,
                          meta={"source": item.source, "credit_key": original,
                                "credited_by": item.url, "news_depth": 0,
                                CREDIT_COPY: (item, copy), ARTICLE_CANDIDATE: False,
                                LOCAL_META: True})
        elif credit.resolved:
            yield self._judged(item, credit, copy)
        else:
            credit.waiting.append((item, copy))

    def parse_credit(self, response: Response) -> Iterator[Request | PageItem]:
        """A credited original, redirects followed: a variant's canonical is fetched in its
        place (once); the page is stored as an article and judges the copies that credit it."""
        key = response.meta["credit_key"]
        if not isinstance(response, HtmlResponse) or looks_binary(response.body):
            yield from self._resolve(response.meta, None, None)
            return
        response = self._as_text(response)
        html = utf8_page(response.body, response.encoding, response.text)
        root = parse_html(html)
        canonical = variant_canonical(root, response.url)
        if canonical and not response.meta.get("credit_canonical"):
            self._count("credit_variants_followed")
            yield Request(canonical, callback=self.parse_credit, errback=self.on_credit_error,
                          dont_filter=True, priority=5,
                          meta={**{k: response.meta[k] for k in CREDIT_META if
                                   k in response.meta}, "credit_canonical": True})
            return
        if is_article_page(root, response.url):
            item = self._item(response, html, None)
            item.request_url = key
            yield item
        yield from self._resolve(response.meta, original_url(root, response.url),
                                 self._signature(root))

    def on_credit_error(self, failure: Any) -> Iterator[PageItem]:
        """An original that cannot be fetched: its copies keep the credit, not verified; one
        the private-network guard refused: its copies drop the credit."""
        self.on_error(failure)
        request = getattr(failure, "request", None)
        if request is not None and request.meta.get("credit_key"):
            yield from self._resolve(request.meta, None, None,
                                     private=failure.check(PrivateNetworkBlocked) is not None)

    def _resolve(self, meta: dict[str, Any], url: str | None, original: np.ndarray | None,
                 private: bool = False) -> Iterator[PageItem]:
        """Keep what the original's fetch found; release the copy its request carried and the
        copies waiting for it here."""
        credit = self.credits.setdefault(meta["credit_key"], Credit())
        credit.resolved, credit.url, credit.signature = True, url, original
        credit.private = private
        waiting, credit.waiting = credit.waiting, []
        if meta.get(CREDIT_COPY):
            waiting.insert(0, meta[CREDIT_COPY])
        for item, copy in waiting:
            yield self._judged(item, credit, copy)

    def _judged(self, item: PageItem, credit: Credit, copy: np.ndarray | None) -> PageItem:
        """The copy's item with its credit verified (at the original's canonical URL), kept
        unverified (the original could not be fetched) or dropped (another story, or a
        private network address the guard refused)."""
        if credit.private:
            self._count("private_credits_dropped")
            logger.warning("Dropped the credit %s of %s: a private network address",
                           item.credited_url, item.url)
            item.credited_url = None
        elif credit.url is None:
            item.credit_verified = False
            self._count("credits_unverified")
        elif credit_holds(copy, credit.signature, self.credit_threshold):
            item.credited_url, item.credit_verified = credit.url, True
            self._count("credits_verified")
        else:
            logger.debug("%s links to %s, which carries another story: no credit", item.url,
                         credit.url)
            item.credited_url = None
            self._count("credits_rejected")
        return item

    def closed(self, reason: str) -> None:
        """Say how many copies were still waiting for an original when the crawl ended (they
        are not stored: the next run finds them again)."""
        waiting = sum(len(credit.waiting) for credit in self.credits.values())
        if waiting:
            self.crawler.stats.set_value("news/spider/copies_left_waiting", waiting)
            logger.warning("%d aggregator copies were still waiting for their credited "
                           "original when the crawl ended (%s): not stored", waiting, reason)

    def on_error(self, failure: Any) -> None:
        """Log a failed request once, with its kind, and count it.

        A request a middleware chose to drop (known article, private network) is no error;
        HttpError subclasses IgnoreRequest but is one (4xx/5xx).
        """
        if failure.type in (IgnoreRequest, PrivateNetworkBlocked):
            return
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        kind = failure.type.__name__ if failure.type else "Error"
        self.crawler.stats.inc_value(f"news/errors/{kind}")
        if request is not None and request.meta.get("source"):
            self.crawler.stats.inc_value(f"news/errors/{kind}/{request.meta['source']}")
        response = getattr(failure.value, "response", None)
        status = f" (HTTP {response.status})" if isinstance(response, Response) else ""
        logger.warning("Failed %s: %s%s: %s", url, kind, status, failure.getErrorMessage())
