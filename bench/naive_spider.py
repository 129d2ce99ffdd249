"""The naive baseline: trafilatura and langdetect in the callback, an INSERT and commit per page."""

import sqlite3

import langdetect
import scrapy
import trafilatura
from scrapy.spiders import SitemapSpider

langdetect.DetectorFactory.seed = 0


class NaiveSpider(SitemapSpider):
    """Crawl a site's sitemaps; extract, detect and store each page in its callback."""

    name = "naive"

    def __init__(self, site: str, db: str, language: str = "1", **kwargs):
        super().__init__(**kwargs)
        self.sitemap_urls = [f"{site}/robots.txt"]
        self.language = language == "1"
        self.db = sqlite3.connect(db)
        self.db.execute("CREATE TABLE IF NOT EXISTS pages (url TEXT PRIMARY KEY, text, lang)")

    def parse(self, response: scrapy.http.Response) -> None:
        """Extract the page's text, detect its language and insert and commit its row."""
        text = trafilatura.extract(response.text, url=response.url)
        try:
            lang = langdetect.detect(text) if text and self.language else None
        except langdetect.LangDetectException:
            lang = None
        self.db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?)", (response.url, text, lang))
        self.db.commit()
