"""Private networks: the guard's checks over address spellings and URL authorities (fuzz).

The crawls that show the resolver and the guard at work are in test_hostile_network_crawl.py.
"""

from __future__ import annotations

import ipaddress

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
