"""robots.txt as RFC 9309 says, fetched once per host: a real `scrapy crawl` subprocess
against loopback hosts whose robots.txt answers 200 (over 500 KiB), 404, 503, or never."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crawler.robots import DISALLOW_ALL, robots_body
from tests.crawling import crawl

ARTICLE = (b'<html><head><meta property="og:type" content="article"><title>Story</title></head>'
           b"<body><h1>Story</h1>" + b"<p>A paragraph of the story, long enough to read.</p>" * 8
           + b"</body></html>")
PADDING = b"# " + b"x" * 1000 + b"\n"
BIG_ROBOTS = (b"User-agent: *\nDisallow: /early/\n" + PADDING * 520
              + b"Disallow: /late/\nSitemap: /never-read.xml\n")
HOSTS = {"ok-big": "127.0.0.31", "missing": "127.0.0.32", "failing": "127.0.0.33",
         "silent": "127.0.0.34"}
PAGES = ("/early/story-one-two-three.html", "/late/story-one-two-three.html",
         "/news/story-one-two-three.html")


def test_rfc9309_rules() -> None:
    assert robots_body(200, b"Disallow: /x", 5) == b"Disall"[:5]
    assert robots_body(404, b"<html>not found</html>", 500) == b""
    assert robots_body(503, b"", 500) == DISALLOW_ALL
    assert robots_body(None, b"", 500) == DISALLOW_ALL


class Hits:
    """Requests the hosts received, by (host name, path)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()
        self.release = threading.Event()


def handler(name: str, hits: Hits) -> type[BaseHTTPRequestHandler]:
    """A request handler for one host's behaviour."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with hits.lock:
                hits.counts[(name, self.path)] += 1
            if self.path == "/robots.txt":
                if name == "silent":
                    hits.release.wait(30)
                    return
                status, body = {"ok-big": (200, BIG_ROBOTS), "missing": (404, b"Not found"),
                                "failing": (503, b"Busy")}[name]
            else:
                status, body = 200, ARTICLE
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if self.path == "/robots.txt"
                             else "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the counts are the log."""

    return Handler


@pytest.fixture(scope="module")
def robots_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hits, str]]:
    hits = Hits()
    servers = {name: ThreadingHTTPServer((address, 0), handler(name, hits))
               for name, address in HOSTS.items()}
    for server in servers.values():
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    urls = [f"http://{HOSTS[name]}:{server.server_address[1]}{page}"
            for name, server in servers.items() for page in PAGES]
    db = tmp_path_factory.mktemp("robots") / "news.db"
    try:
        result = crawl(f"sqlite:///{db}", "-a", "start_urls=" + ",".join(urls),
                       "-s", "DOWNLOAD_TIMEOUT=2", "-s", "RETRY_TIMES=1")
        yield hits, result.stderr
    finally:
        hits.release.set()
        for server in servers.values():
            server.shutdown()
            server.server_close()


def test_a_2xx_robots_txt_is_read_up_to_500_kib(robots_crawl: tuple[Hits, str]) -> None:
    hits, _ = robots_crawl
    assert hits.counts[("ok-big", "/robots.txt")] == 1
    assert hits.counts[("ok-big", PAGES[0])] == 0
    assert hits.counts[("ok-big", PAGES[1])] == 1
    assert hits.counts[("ok-big", PAGES[2])] == 1
    assert hits.counts[("ok-big", "/never-read.xml")] == 0


def test_a_4xx_robots_txt_allows_everything(robots_crawl: tuple[Hits, str]) -> None:
    hits, _ = robots_crawl
    assert hits.counts[("missing", "/robots.txt")] == 1
    assert all(hits.counts[("missing", page)] == 1 for page in PAGES)


@pytest.mark.parametrize("name", ["failing", "silent"])
def test_a_5xx_or_unreachable_robots_txt_disallows_everything(
    robots_crawl: tuple[Hits, str], name: str
) -> None:
    hits, stderr = robots_crawl
    assert hits.counts[(name, "/robots.txt")] == 2  # one fetch, retried once (RETRY_TIMES=1)
    assert all(hits.counts[(name, page)] == 0 for page in PAGES)
    assert f"robots.txt http://{HOSTS[name]}:" in stderr
    assert "disallowing the host for this run" in stderr
