"""Private networks: address spellings, ports, names that resolve to loopback, the resolver.

The crawls start at a page server on loopback (a trusted, configured origin) whose pages
link and credit a second loopback server on another port, by address and by a host name
that resolves to loopback. The second server counts the requests it gets: none may arrive.
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
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scrapy import Request
from twisted.web.client import URI

from crawler.resolver import (
    is_private_address,
    literal_address,
    origin_of,
    private_without_dns,
    request_origins,
)
from tests.crawling import FAST, crawl, export, scrapy
from tests.sites.faults_pages import generated_article

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)
PRIVATE_V4 = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
    "100.64.0.0/10", "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4", "198.18.0.0/15")]
TEREDO_SERVER = ipaddress.IPv4Address("65.54.227.120")
PUBLIC_V4 = ["8.8.8.8", "93.184.216.34", "1.1.1.1", "151.101.1.69", "203.0.114.1"]


def spellings(address: ipaddress.IPv4Address) -> list[str]:
    """Host spellings that every resolver reads as this IPv4 address, IPv6 transition forms
    of it included (mapped, compatible, NAT64, 6to4, Teredo client)."""
    value, octets = int(address), address.packed
    teredo_client = ipaddress.IPv6Address(
        (0x20010000 << 96) | (int(TEREDO_SERVER) << 64) | (value ^ 0xFFFFFFFF))
    return [
        str(address), str(value), hex(value), "0" + oct(value)[2:],
        ".".join(hex(o) for o in octets), ".".join("0" + oct(o)[2:] for o in octets),
        f"{octets[0]}.{int.from_bytes(octets[1:], 'big')}",
        f"{octets[0]}.{octets[1]}.{int.from_bytes(octets[2:], 'big')}",
        f"[::ffff:{address}]", f"[::{address}]" if value > 1 else f"[::ffff:{address}]",
        f"[64:ff9b::{address}]", f"[2002:{value >> 16:x}:{value & 0xFFFF:x}::1]",
        f"[{teredo_client}]", f"{address}.",
    ]


@FUZZ
@given(network=st.sampled_from(PRIVATE_V4), offset=st.integers(0, 2**32 - 1),
       spelling=st.integers(0, 13))
def test_private_ipv4_is_private_in_every_spelling(
    network: ipaddress.IPv4Network, offset: int, spelling: int
) -> None:
    address = network[offset % network.num_addresses]
    host = spellings(address)[spelling]
    assert private_without_dns(host), host
    assert literal_address(host) is not None


@FUZZ
@given(address=st.sampled_from(PUBLIC_V4), spelling=st.integers(0, 13))
def test_public_ipv4_is_public_in_every_spelling(address: str, spelling: int) -> None:
    host = spellings(ipaddress.IPv4Address(address))[spelling]
    assert not private_without_dns(host), host


@FUZZ
@given(v6=st.integers(0, 2**128 - 1))
@example(v6=int(ipaddress.IPv6Address("fec0::1")))
@example(v6=int(ipaddress.IPv6Address("64:ff9b:1::a00:1")))
def test_ipv6_is_private_when_its_range_or_its_ipv4_is(v6: int) -> None:
    address = ipaddress.IPv6Address(v6)
    embedded = [inner for inner in (address.ipv4_mapped, address.sixtofour,
                                    *(address.teredo or ())) if inner is not None]
    if any(not inner.is_global or inner.is_multicast for inner in embedded):
        assert is_private_address(address)
    if not embedded and (not address.is_global or address.is_site_local):
        assert is_private_address(address)


AUTHORITY_TRICKS = st.sampled_from([
    "127.0.0.1\\@news.example", "news.example\\@127.0.0.1", "news.example\\.127.0.0.1",
    "127.0.0.1:80\\@news.example:8080", "news.example%5C@127.0.0.1", "news.example@127.0.0.1",
    "127.0.0.1%2F@news.example", "news.example#@127.0.0.1", "news.example?@127.0.0.1",
    "[::ffff:127.0.0.1]\\@news.example", "0x7f.1\\news.example", "news.example\t@127.0.0.1",
])


@FUZZ
@given(authority=AUTHORITY_TRICKS, path=st.sampled_from(["/", "/a\\b", "\\x", ""]))
def test_the_guard_checks_the_host_the_connection_uses(authority: str, path: str) -> None:
    """Scrapy normalises the URL once (a backslash ends the authority, as in browsers); the
    guard checks the host Twisted's agent connects to (user:password@ and all) and the host
    URL parsers read; when these differ, both."""
    try:
        request = Request(f"http://{authority}{path}")
    except ValueError:
        return
    origins = request_origins(request.url)
    assert origins is not None
    agent = URI.fromBytes(request.url.encode())
    assert (agent.host.decode().lower(), agent.port) in origins
    assert origin_of(request.url) in origins


def test_known_spellings() -> None:
    for host in ("127.0.0.1", "2130706433", "0x7f.1", "127.1", "0", "[::1]",
                 "[::ffff:127.0.0.1]", "localhost.", "news.localhost", "10.20.30.40",
                 "192.168.1.1", "169.254.169.254", "[fe80::1]", "100.100.100.200", "224.0.0.1",
                 "[64:ff9b::a9fe:a9fe]", "[2002:a00:1::]", "[::7f00:1]", "[fec0::1]"):
        assert private_without_dns(host), host
    for host in ("8.8.8.8", "93.184.216.34", "[2606:4700::1111]", "news.example"):
        assert not private_without_dns(host), host


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
                assert result.returncode == 0, result.stderr[-3000:]
    assert "/news/credits-a-private-name.html" in hits1
    assert hits2 == []
    if guard == "middleware":
        assert f"Blocked http://127.0.0.1:{port2}/news/other-port-story.html" in result.stderr
        assert f"Blocked {credit_by_name}: host {name}" in result.stderr
    else:
        assert f"Not connecting to {name}:{port2} at 127.0.0.1" in result.stderr
        assert f"Not connecting to 127.0.0.1:{port2} at 127.0.0.1" in result.stderr
    assert len(export(db_url)) == 1


def test_private_networks_allowed_reach_loopback(tmp_path: Path, name: str) -> None:
    """ALLOW_PRIVATE_NETWORKS=True keeps its meaning: loopback sites crawl, names resolve."""
    with serve({"/news/story-by-name.html": generated_article("story-by-name")}) as (port2, hits2):
        credit = f"http://{name}:{port2}/news/story-by-name.html"
        pages = {"/": "<html><body><a href='/news/credits-a-name.html'>a</a></body></html>",
                 "/news/credits-a-name.html": generated_article("credits-a-name", credit=credit)}
        with serve(pages) as (port1, _):
            db_url = f"sqlite:///{tmp_path / 'news.db'}"
            crawl(db_url, "-a", f"start_urls=http://127.0.0.1:{port1}/", private=True)
    assert "/news/story-by-name.html" in hits2
    assert any(s["original_url"] == credit for s in export(db_url))
