"""The naive baseline: trafilatura in the callback, one INSERT and commit per page."""

import sqlite3

import scrapy
import trafilatura
from scrapy.spiders import SitemapSpider


class NaiveSpider(SitemapSpider):
    name = "naive"

    def __init__(self, site: str, db: str, **kwargs):
        super().__init__(**kwargs)
        self.sitemap_urls = [f"{site}/robots.txt"]
        self.db = sqlite3.connect(db)
        self.db.execute("CREATE TABLE IF NOT EXISTS pages (url TEXT PRIMARY KEY, text TEXT)")

    def parse(self, response: scrapy.http.Response) -> None:
        text = trafilatura.extract(response.text, url=response.url)
        self.db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?)", (response.url, text))
        self.db.commit()
