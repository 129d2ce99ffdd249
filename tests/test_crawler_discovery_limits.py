"""Sitemaps up to the protocol's limits, in a real `scrapy crawl` subprocess: a 20 MB sitemap of
55,000 URLs, plain and gzip-encoded (over DOWNLOAD_MAXSIZE, under the 50 MB per-request
limit), is read; URLs past 50,000 are ignored; the per-source cap stops discovery."""

from __future__ import annotations

import gzip
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.crawling import crawl

URLS = 55_000
PAD = "x" * 330
SITEMAP = ("<?xml version='1.0' encoding='UTF-8'?><urlset "
           "xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>" + "".join(
               f"<url><loc>/p/{n}-{PAD}.html</loc></url>" for n in range(URLS))
           + "</urlset>").encode()
ROBOTS = b"User-agent: *\nSitemap: /big.xml\nSitemap: /big-encoded.xml\n"
CAP = 5


class Site(BaseHTTPRequestHandler):
    """robots.txt, the plain and the gzip-encoded sitemap, a small page at each listed URL
    (so that the run is healthy: a 404 for each would make it degraded); 404 for the rest."""

    hits: Counter[str] = Counter()
    encoded = gzip.compress(SITEMAP, mtime=0)

    def do_GET(self) -> None:
        Site.hits[self.path] += 1
        headers = {"Content-Type": "application/xml"}
        if self.path == "/robots.txt":
            body, headers = ROBOTS, {"Content-Type": "text/plain"}
        elif self.path == "/big.xml":
            body = SITEMAP
        elif self.path == "/big-encoded.xml":
            body, headers["Content-Encoding"] = self.encoded, "gzip"
        elif self.path.startswith("/p/"):
            body, headers = b"<html><body><p>A listed page.</p></body></html>", {
                "Content-Type": "text/html; charset=utf-8"}
        else:
            body, headers = b"missing", {"Content-Type": "text/plain"}
        self.send_response(200 if body != b"missing" else 404)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the hits are the log."""


@pytest.fixture(scope="module")
def big_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.35", 0), Site)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    db = tmp_path_factory.mktemp("limits") / "news.db"
    try:
        yield crawl(f"sqlite:///{db}", "-a",
                    f"start_urls=http://127.0.0.35:{server.server_address[1]}/robots.txt",
                    "-s", f"NEWS_MAX_URLS_PER_SOURCE={CAP}").stderr
    finally:
        server.shutdown()
        server.server_close()


def test_sitemaps_over_download_maxsize_are_read(big_crawl: str) -> None:
    assert len(SITEMAP) > 16 * 1024 * 1024
    assert Site.hits["/big.xml"] == Site.hits["/big-encoded.xml"] == 1
    assert "news/spider/documents/sitemap': 2" in big_crawl
    assert "exceeded DOWNLOAD_MAXSIZE" not in big_crawl
    assert "Cancelling download" not in big_crawl


def test_urls_past_the_protocols_50000_are_ignored(big_crawl: str) -> None:
    assert "lists more than 50000 URLs: the rest is ignored" in big_crawl
    assert "news/spider/truncated_documents': 2" in big_crawl


def test_the_per_source_cap_stops_discovery_with_one_warning(big_crawl: str) -> None:
    pages = [path for path in Site.hits if path.startswith("/p/")]
    assert len(pages) == CAP
    assert big_crawl.count(f"{CAP} URLs discovered in this run") == 1
