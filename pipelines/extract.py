"""Extraction stage (temporary minimal version; replaced by the extraction branch)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import trafilatura
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem


@dataclass(frozen=True)
class Article:
    """A clean article."""

    title: str
    text: str
    authors: list[str]
    published_at: dt.datetime | None
    publisher: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    description: str | None = None


def extract_article(html: str | bytes, url: str) -> Article | None:
    """Extract."""
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    if not doc or not doc.text:
        return None
    return Article(title=doc.title or "", text=doc.text, authors=[], published_at=None,
                   language=None, canonical_url=None)


class ExtractPipeline:
    """Extract stage."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        """Build."""
        return cls(crawler)

    def process_item(self, item):  # noqa: ANN001, ANN201
        """Extract."""
        article = extract_article(item.html, item.url)
        if article is None:
            raise DropItem("not an article")
        item.article = article
        return item
