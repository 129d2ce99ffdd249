"""Loopback news hosts that answer after 50-150 ms and log when each request arrives.

Run ``python -m tests.sites.latency --hosts N --articles K --log FILE``. Host i listens on
its own address 127.0.1.(i+1) (a free port each) and serves ``/robots.txt`` (which
disallows ``/private/``), a home page linking to its K articles and to a disallowed page,
and the articles: distinct stories of generated English text. On start the server prints
one line of JSON, ``{"h001": "http://127.0.1.1:PORT", ...}``, then serves until SIGTERM.

Every request writes two lines to the log, in seconds of the wall clock:
``ARR <host> <time> <open> <connection>.<request> <path>``, stamped with the time the kernel
received the request's first segment (SO_TIMESTAMPNS, Linux), so the host's own scheduling
on a loaded machine does not move it; ``open`` counts the host's requests in progress, this
one included; then the connection's number at the host and the request's on it.
``END <host> <time> <path>`` follows as the response starts out (the client cannot have it
sooner). A response waits 50-150 ms (seeded by host and path), so a host holds requests
open as a real, slower server does. Each connection is served by its own thread.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import socket
import struct
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import TextIO

LATENCY = (0.05, 0.15)
# Linux's SO_TIMESTAMPNS: the kernel stamps each received segment with its arrival time.
SO_TIMESTAMPNS = 35
WORDS = (
    "the council said on monday that a new bridge over the river would open next year "
    "after engineers finished tests of its steel frame while residents asked for more "
    "buses and safer crossings near the school market station hospital park library "
    "officials expect traffic to fall by a third once the old road closes for repairs "
    "during summer when farmers bring their harvest to town and visitors fill hotels"
).split()


def article_path(number: int) -> str:
    """The path of article NUMBER."""
    return f"/news/2024/05/story-{number:04d}.html"


def boilerplate(kilobytes: int) -> str:
    """About KILOBYTES of the markup around an article: a menu of section links."""
    item = '<li class="menu-item"><a href="/">Section</a> <span>latest updates</span></li>'
    return f'<nav><ul>{item * (kilobytes * 1024 // len(item))}</ul></nav>' if kilobytes else ""


def article(host: str, number: int, padding_kb: int = 0) -> bytes:
    """An article page whose text no other host or number shares."""
    rng = random.Random(f"{host}/{number}")
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(60)).capitalize() + ".</p>"
        for _ in range(6))
    title = f"Report {number} from {host}: " + " ".join(rng.choice(WORDS) for _ in range(6))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        '<meta property="og:type" content="article">'
        '<meta property="article:published_time" '
        f'content="2024-05-{number % 28 + 1:02d}T08:00:00Z">'
        '<meta name="author" content="Desk Reporter">'
        f"</head><body>{boilerplate(padding_kb)}<article><h1>{title}</h1>{paragraphs}"
        "</article></body></html>"
    ).encode()


def home(articles: int) -> bytes:
    """The home page: every article, and one page robots.txt disallows."""
    links = "".join(f'<li><a href="{article_path(n)}">Story {n}</a></li>'
                    for n in range(articles))
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Home</title>'
            '<meta property="og:type" content="website"></head><body><h1>Latest</h1>'
            f'<ul>{links}</ul><a href="/private/members.html">Members</a></body></html>'
            ).encode()


ROBOTS = b"User-agent: *\nDisallow: /private/\n"


class Host:
    """One site: its pages, its open requests, the shared arrival log."""

    def __init__(self, name: str, articles: int, log: TextIO, lock: threading.Lock,
                 padding_kb: int = 0) -> None:
        self.name = name
        self.log = log
        self.lock = lock
        self.open = 0
        self.connections = 0
        html = "text/html; charset=utf-8"
        self.pages: dict[str, tuple[int, str, bytes]] = {
            "/robots.txt": (200, "text/plain", ROBOTS), "/": (200, html, home(articles)),
            **{article_path(n): (200, html, article(name, n, padding_kb))
               for n in range(articles)},
        }

    def write(self, line: str) -> None:
        """Append a line to the log (the hosts share it)."""
        with self.lock:
            self.log.write(line)

    def accept(self, listener: socket.socket) -> None:
        """Serve each connection in its own thread."""
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self.serve, args=(conn, number), daemon=True).start()

    def serve(self, conn: socket.socket, connection: int) -> None:
        """Serve HTTP/1.1 requests on one keep-alive connection."""
        pending, served = b"", 0
        with conn:
            while True:
                arrived = None
                while b"\r\n\r\n" not in pending:
                    try:
                        data, ancillary, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(16))
                    except OSError:
                        return
                    if not data:
                        return
                    if arrived is None:
                        arrived = kernel_time(ancillary)
                    pending += data
                head, pending = pending.split(b"\r\n\r\n", 1)
                served += 1
                if arrived is None:
                    self.write(f"NOSTAMP {self.name} {connection}.{served}\n")
                self.answer(conn, head, arrived or time.time(), f"{connection}.{served}")

    def answer(self, conn: socket.socket, head: bytes, arrived: float, number: str) -> None:
        """Log the arrival, wait the response's latency, send it, log the end."""
        method, target = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[:2]
        path = target.split("?", 1)[0]
        with self.lock:
            self.open += 1
            self.log.write(f"ARR {self.name} {arrived:.6f} {self.open} {number} {path}\n")
        status, content_type, body = self.pages.get(path, (404, "text/plain", b"not found"))
        time.sleep(random.Random(f"{self.name}{path}").uniform(*LATENCY))
        # Closed as the response starts out: the client cannot see it end, and send the
        # request this one made room for, any earlier.
        with self.lock:
            self.open -= 1
            self.log.write(f"END {self.name} {time.time():.6f} {path}\n")
        conn.sendall((f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
                      f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
                      ).encode("latin-1") + (body if method != "HEAD" else b""))


def kernel_time(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    """The kernel's receive time of a segment (SO_TIMESTAMPNS), when it gave one."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return seconds + nanoseconds / 1e9
    return None


def serve(hosts: int, articles: int, log: TextIO, padding_kb: int = 0) -> None:
    """Start every host, print their URLs, serve until SIGTERM or SIGINT."""
    urls: dict[str, str] = {}
    lock = threading.Lock()
    for index in range(hosts):
        host = Host(f"h{index + 1:03d}", articles, log, lock, padding_kb)
        listener = socket.create_server((f"127.0.1.{index + 1}", 0), backlog=64)
        # Set on the listener, so that connections have it from their first segment on.
        listener.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        threading.Thread(target=host.accept, args=(listener,), daemon=True).start()
        address, port = listener.getsockname()[:2]
        urls[host.name] = f"http://{address}:{port}"
    print(json.dumps(urls, sort_keys=True), flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    with lock:
        log.flush()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--articles", type=int, default=10)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--padding-kb", type=int, default=0,
                        help="KB of menu markup around each article (realistic page weight)")
    args = parser.parse_args(argv)
    if not 1 <= args.hosts <= 254:
        print("--hosts must be between 1 and 254", file=sys.stderr)
        return 2
    with args.log.open("w", encoding="utf-8", buffering=1) as log:
        serve(args.hosts, args.articles, log, args.padding_kb)
    return 0


def arrivals(log: Path) -> dict[str, list[tuple[float, int, str]]]:
    """Per host, its requests as (arrival time, open requests then, path), in order."""
    per_host: dict[str, list[tuple[float, int, str]]] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        if line.startswith("ARR "):
            _, host, at, open_now, _, path = line.split(" ", 5)
            per_host.setdefault(host, []).append((float(at), int(open_now), path))
    return per_host


def paths_served(log: Path) -> Counter[str]:
    """How often each (host, path) was requested."""
    return Counter(f"{host} {path}" for host, requests in arrivals(log).items()
                   for _, _, path in requests)


if __name__ == "__main__":
    sys.exit(main())
