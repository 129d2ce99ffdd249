"""Serve a hostile news site for the fault tests: errors, stalls, lies, bombs and loops.

Run ``python -m tests.sites.faults``. Site "faults" listens on 127.0.0.6 and "elsewhere" (a
second, unconfigured host that redirects lead to) on 127.0.0.7, both on port 0. On start it
prints one JSON line ``{"elsewhere": URL, "faults": URL}`` and serves until SIGTERM. Each
request is logged to stderr as ``REQ <site> <method> <path> <status>``.
``faults_routes.ROUTES`` maps the fault paths; ``/pace/<token>/`` is a slow site whose
``/pace/<token>/stats`` tells the most requests it served at once.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.sites.faults_pages import generated_article
from tests.sites.faults_routes import (
    ARTICLES,
    CHARSET_BY_PATH,
    CREDITS,
    HTML,
    PACE_DELAY,
    PACE_STORIES,
    ROUTES,
    slug,
)
from tests.sites.server import serve_until_signalled

ADDRESSES = {"faults": "127.0.0.6", "elsewhere": "127.0.0.7"}


@dataclass(frozen=True)
class FaultSite:
    """URLs of a running fault server ("faults", "elsewhere") and its request log."""

    urls: dict[str, str]
    log_path: Path

    @property
    def url(self) -> str:
        """The base URL of the faulty news site."""
        return self.urls["faults"]



class PaceTracker:
    """Requests in flight per token of the slow site, and the most seen at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = defaultdict(int)
        self.most: dict[str, int] = defaultdict(int)

    def enter(self, token: str) -> None:
        with self.lock:
            self.in_flight[token] += 1
            self.most[token] = max(self.most[token], self.in_flight[token])

    def leave(self, token: str) -> None:
        with self.lock:
            self.in_flight[token] -= 1


class FaultHandler(BaseHTTPRequestHandler):
    """Answer each fault path with its fault; everything else with a 404."""

    server_version = "newsagg-faults/1.0"
    protocol_version = "HTTP/1.1"
    seen: set[str] = set()
    seen_lock = threading.Lock()
    pace = PaceTracker()

    def __init__(self, *args: object, site: str, urls: dict[str, str]) -> None:
        self.site = site
        self.urls = urls
        self.status = 0
        super().__init__(*args)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        """Dispatch on the path."""
        path = self.path.split("?", 1)[0]
        if self.site == "elsewhere":
            self.send(200, generated_article("story-" + slug(path)))
        elif path.startswith("/pace/"):
            self.paced(path)
        elif path in ROUTES:
            ROUTES[path](self)
        elif path in CHARSET_BY_PATH:
            page = CHARSET_BY_PATH[path]
            self.send(200, page.body(), page.content_type())
        elif path in CREDITS:
            self.send(200, generated_article(slug(path), credit=CREDITS[path]))
        elif path.startswith(("/news/", "/private/")) and path in ARTICLES:
            self.send(200, generated_article(slug(path)))
        else:
            self.send(404, b"<html><body><h1>Not found</h1></body></html>")

    def send(self, status: int, body: str | bytes, content_type: str = HTML,
             headers: dict[str, str] | None = None) -> None:
        """A complete response."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def first_time(self) -> bool:
        """True on the first request for this path since the server started."""
        with self.seen_lock:
            new = self.path not in self.seen
            self.seen.add(self.path)
        return new

    def paced(self, path: str) -> None:
        """The slow site: an index of stories, each answered after PACE_DELAY."""
        token, _, rest = path[len("/pace/"):].partition("/")
        if rest == "stats":
            self.send(200, json.dumps({"max_in_flight": self.pace.most[token]}),
                      "application/json")
            return
        self.pace.enter(token)
        try:
            time.sleep(PACE_DELAY)
            if rest == "":
                links = "".join(f'<li><a href="story-{n:02d}-of-the-paced-site.html">{n}</a></li>'
                                for n in range(1, PACE_STORIES + 1))
                self.send(200, f"<html><body><ul>{links}</ul></body></html>")
            else:
                self.send(200, generated_article(f"{token}-{slug(path)}"))
        finally:
            self.pace.leave(token)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Write one ``REQ <site> <method> <path> <status>`` line to stderr."""
        sys.stderr.write(f"REQ {self.site} {self.command} {self.path} {int(code)}\n")
        sys.stderr.flush()

    def log_message(self, format: str, *args: object) -> None:
        """Keep errors on one line."""
        sys.stderr.write(f"ERR {self.site} {format % args}\n")

    def handle(self) -> None:
        """Serve the connection; a client that hangs up early is not an error here."""
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass



def main() -> int:
    """Start both hosts, print their URLs as one JSON line, serve until signalled."""
    urls: dict[str, str] = {}
    servers = {}
    for site, address in ADDRESSES.items():
        server = ThreadingHTTPServer((address, 0), partial(FaultHandler, site=site, urls=urls))
        server.daemon_threads = True
        servers[site] = server
        urls[site] = f"http://{address}:{server.server_address[1]}"
    return serve_until_signalled(servers, urls)


if __name__ == "__main__":
    sys.exit(main())
