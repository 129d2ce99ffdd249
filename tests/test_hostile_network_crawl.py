"""Private networks in real crawls: other ports, names that resolve to loopback, the resolver.

Each test runs `scrapy crawl` in a subprocess. The crawl starts at a page server on loopback
(a trusted, configured origin) whose pages link and credit a second loopback server on another
port, by address and by a host name that resolves to loopback. The second server counts the
requests it gets: none may arrive while the guard is on.
"""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.resolver import private_without_dns
from tests.crawling import FAST, crawl, export, scrapy
from tests.sites.faults_pages import generated_article


class Pages(http.server.BaseHTTPRequestHandler):
    """Serves PAGES by path on loopback; records every path it was asked for."""

    pages: dict[str, str] = {}
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits.append(self.path)
        body = self.pages.get(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@contextlib.contextmanager
def serve(pages: dict[str, str]) -> Iterator[tuple[int, list[str]]]:
    """A page server on 127.0.0.1 in a thread; yields its port and its list of hits."""
    handler = type("Handler", (Pages,), {"pages": pages, "hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler.hits
    finally:
        server.shutdown()
        server.server_close()


def loopback_name() -> str:
    """A host name (not localhost) that the system resolves to loopback only."""
    for name in (socket.gethostname(), "localhost.localdomain", "ip6-localhost"):
        if private_without_dns(name):
            continue
        with contextlib.suppress(OSError):
            found = {info[4][0] for info in socket.getaddrinfo(name, 80, proto=socket.IPPROTO_TCP)}
            if found and all(ipaddress.ip_address(a).is_loopback for a in found):
                return name
    pytest.fail("no host name resolves to loopback here (add one to /etc/hosts)")


@pytest.fixture(scope="module")
def name() -> str:
    return loopback_name()


@pytest.mark.parametrize("guard", ["middleware", "resolver only"])
def test_other_ports_and_names_of_a_trusted_host_are_not_reached(
    tmp_path: Path, name: str, guard: str
) -> None:
    """The configured origin is 127.0.0.1:P1. Links to 127.0.0.1:P2 (same host, other port)
    and credits to NAME:P2 (a name resolving to loopback) must never reach P2. With the
    middleware disabled, the resolver alone keeps the connection from the address."""
    with serve({}) as (port2, hits2):
        credit_by_name = f"http://{name}:{port2}/news/private-story-by-name.html"
        pages = {
            "/": "<html><body><a href='/news/credits-a-private-name.html'>a</a>"
                 f"<a href='http://127.0.0.1:{port2}/news/other-port-story.html'>b</a>"
                 "</body></html>",
            "/news/credits-a-private-name.html":
                generated_article("credits-a-private-name", credit=credit_by_name),
        }
        with serve(pages) as (port1, hits1):
            db_url = f"sqlite:///{tmp_path / 'news.db'}"
            args = ("-a", f"start_urls=http://127.0.0.1:{port1}/", "-s", "RETRY_TIMES=0")
            if guard == "middleware":
                result = crawl(db_url, *args, private=False)
            else:  # Scrapy's robots.txt middleware logs a traceback for a failed lookup
                result = scrapy("crawl", "news", "-s", f"DATABASE_URL={db_url}", *FAST, *args,
                                "-s", 'DOWNLOADER_MIDDLEWARES={"crawler.middlewares.'
                                      'PrivateNetworkGuardMiddleware": null}')
                # Each refused connection is a failed request: 3 of the run's 5, fewer than
                # NEWS_HEALTH_MIN_ERRORS (5), so the run is healthy (exit 0).
                assert result.returncode == 0, result.stderr[-3000:]
    assert "/news/credits-a-private-name.html" in hits1
    assert hits2 == []
    if guard == "middleware":
        assert f"Blocked http://127.0.0.1:{port2}/news/other-port-story.html" in result.stderr
        assert f"Blocked {credit_by_name}: host {name}" in result.stderr
        # Refused by the guard after a lookup: the credit is not stored either.
        assert f"Dropped the credit {credit_by_name} of " in result.stderr
    else:
        assert f"Not connecting to {name}:{port2} at 127.0.0.1" in result.stderr
        assert f"Not connecting to 127.0.0.1:{port2} at 127.0.0.1" in result.stderr
    stories = export(db_url)
    assert len(stories) == 1
    if guard == "middleware":
        assert stories[0]["original_url"] is None


def test_private_networks_allowed_reach_loopback(tmp_path: Path, name: str) -> None:
    """ALLOW_PRIVATE_NETWORKS=True keeps its meaning: loopback sites crawl, names resolve.

    The copy carries the credited page's story, so the credit is verified and kept."""
    with serve({"/news/story-by-name.html": generated_article("story-by-name")}) as (port2, hits2):
        credit = f"http://{name}:{port2}/news/story-by-name.html"
        pages = {"/": "<html><body><a href='/news/credits-a-name.html'>a</a></body></html>",
                 "/news/credits-a-name.html": generated_article("story-by-name", credit=credit)}
        with serve(pages) as (port1, _):
            db_url = f"sqlite:///{tmp_path / 'news.db'}"
            crawl(db_url, "-a", f"start_urls=http://127.0.0.1:{port1}/", private=True)
    assert "/news/story-by-name.html" in hits2
    assert any(s["original_url"] == credit for s in export(db_url))
