"""robots.txt as RFC 9309 says, fetched once per host: a real `scrapy crawl` subprocess
against loopback hosts whose robots.txt answers 200 (over 500 KiB), 404, 503, never, or 503
for its first fetches and then 200 (its held requests go ahead once it answers)."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crawler.robots import NO_ANSWER, robots_body, unreachable
from tests.crawling import crawl

ARTICLE = (b'<html><head><meta property="og:type" content="article"><title>Story</title></head>'
           b"<body><h1>Story</h1>" + b"<p>A paragraph of the story, long enough to read.</p>" * 8
           + b"</body></html>")
PADDING = b"# " + b"x" * 1000 + b"\n"
BIG_ROBOTS = (b"User-agent: *\nDisallow: /early/\n" + PADDING * 520
              + b"Disallow: /late/\nSitemap: /never-read.xml\n")
RECOVERING_ROBOTS = b"User-agent: *\nDisallow: /early/\n"
HOSTS = {"ok-big": "127.0.0.31", "missing": "127.0.0.32", "failing": "127.0.0.33",
         "silent": "127.0.0.34", "recovering": "127.0.0.35"}
# The recovering host's robots.txt answers 503 this many times, then 200: the first fetch and
# its retry (RETRY_TIMES=1) get 503, the first fetch again (after NEWS_ROBOTS_RETRY_SECONDS) 200.
RECOVERING_AFTER = 2
# Fetches of an unreachable robots.txt: the first, then NEWS_ROBOTS_RETRY_TIMES more.
FETCHES = 1 + 2
PAGES = ("/early/story-one-two-three.html", "/late/story-one-two-three.html",
         "/news/story-one-two-three.html")


def test_rfc9309_rules() -> None:
    assert robots_body(200, b"Disallow: /x", 5) == b"Disall"[:5]
    assert robots_body(404, b"<html>not found</html>", 500) == b""
    assert unreachable(503)
    assert unreachable(NO_ANSWER)
    assert not unreachable(404)
    assert not unreachable(200)


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
                if name == "recovering":
                    answered = hits.counts[(name, self.path)] > RECOVERING_AFTER
                    status, body = (200, RECOVERING_ROBOTS) if answered else (503, b"Busy")
                elif name == "silent":
                    hits.release.wait(30)
                    return
                else:
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
def robots_crawl(tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[tuple[Hits, str, set[str]]]:
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
                       "-s", "DOWNLOAD_TIMEOUT=2", "-s", "RETRY_TIMES=1",
                       "-s", "NEWS_ROBOTS_RETRY_SECONDS=0.5",
                       "-s", f"NEWS_ROBOTS_RETRY_TIMES={FETCHES - 1}")
        with sqlite3.connect(db) as conn:
            stored = {url for (url,) in conn.execute("SELECT url FROM story_urls")}
        yield hits, result.stderr, stored
    finally:
        hits.release.set()
        for server in servers.values():
            server.shutdown()
            server.server_close()


def test_a_2xx_robots_txt_is_read_up_to_500_kib(robots_crawl: tuple[Hits, str, set[str]]) -> None:
    hits, _, _ = robots_crawl
    assert hits.counts[("ok-big", "/robots.txt")] == 1
    assert hits.counts[("ok-big", PAGES[0])] == 0
    assert hits.counts[("ok-big", PAGES[1])] == 1
    assert hits.counts[("ok-big", PAGES[2])] == 1
    assert hits.counts[("ok-big", "/never-read.xml")] == 0


def test_a_4xx_robots_txt_allows_everything(robots_crawl: tuple[Hits, str, set[str]]) -> None:
    hits, _, _ = robots_crawl
    assert hits.counts[("missing", "/robots.txt")] == 1
    assert all(hits.counts[("missing", page)] == 1 for page in PAGES)


@pytest.mark.parametrize("name", ["failing", "silent"])
def test_a_5xx_or_unreachable_robots_txt_holds_the_host_until_the_run_ends(
    robots_crawl: tuple[Hits, str, set[str]], name: str
) -> None:
    """Nothing but robots.txt is fetched (each fetch retried once: RETRY_TIMES=1); the run
    ends, and the held requests (3 pages and the spider's robots.txt request) are counted."""
    hits, stderr, _ = robots_crawl
    assert hits.counts[(name, "/robots.txt")] == 2 * FETCHES
    assert all(hits.counts[(name, page)] == 0 for page in PAGES)
    assert f"robots.txt http://{HOSTS[name]}:" in stderr
    assert f"unreachable after {FETCHES} fetches: the host's requests stay held" in stderr
    held = 2 * (len(PAGES) + 1)
    assert f"{held} requests not fetched: robots.txt unreachable until the run ended" in stderr
    assert f"'news/robots/held_unfetched': {held}," in stderr


def test_held_requests_go_ahead_once_robots_txt_answers(
    robots_crawl: tuple[Hits, str, set[str]]
) -> None:
    """503 twice (a fetch and its retry), then 200: its rules apply to the held requests."""
    hits, stderr, stored = robots_crawl
    assert hits.counts[("recovering", "/robots.txt")] == RECOVERING_AFTER + 1
    assert hits.counts[("recovering", PAGES[0])] == 0
    assert hits.counts[("recovering", PAGES[1])] == 1
    assert hits.counts[("recovering", PAGES[2])] == 1
    site = f"http://{HOSTS['recovering']}:"
    assert sorted(url.split("/", 3)[3] for url in stored if url.startswith(site)) == [
        PAGES[1][1:], PAGES[2][1:]]
    assert "held requests go ahead" in stderr
