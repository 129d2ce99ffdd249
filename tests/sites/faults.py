"""Serve a hostile news site for the fault tests: errors, stalls, lies, bombs and loops.

Run ``python -m tests.sites.faults``. Site "faults" listens on 127.0.0.6 and "elsewhere" (a
second, unconfigured host that redirects lead to) on 127.0.0.7, both on port 0. On start it
prints one JSON line ``{"elsewhere": URL, "faults": URL}`` and serves until SIGTERM. Each
request is logged to stderr as ``REQ <site> <method> <path> <status>``. ``ROUTES`` maps the
fault paths; ``/pace/<token>/`` is a slow site whose ``/pace/<token>/stats`` tells the most
requests it served at once.
"""

from __future__ import annotations

import gzip
import json
import signal
import socket
import struct
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType

from tests.sites.faults_pages import CHARSET_PAGES, article_html, generated_article

ADDRESSES = {"faults": "127.0.0.6", "elsewhere": "127.0.0.7"}
HTML = "text/html; charset=utf-8"
SLOW_SECONDS = 6.0
TRICKLE_SECONDS = 0.5
TRICKLE_CHUNKS = 12
BOMB_BYTES = 24 * 1024 * 1024
HUGE_BYTES = 20 * 1024 * 1024
SITEMAP_BOMB_BYTES = 64 * 1024 * 1024
PACE_STORIES = 20
PACE_DELAY = 0.1
SOUP_PATH = "/news/markup-soup-story-with-scripts-and-entities.html"
SOUP_PARAGRAPHS = [
    "Caf&eacute; owners on Rue Haute said the &quot;quiet hours&quot; rule &amp; the new "
    "terrace fees were agreed after a long meeting at the town hall on Monday evening.",
    "<b>Bold</b> claims aside, the <i>mayor</i> said fees would rise by 3&nbsp;% &lt;at most&gt;"
    " in the first year<script>document.write('INJECTED-SCRIPT')</script> for every terrace.",
    "Residents asked for quieter deliveries<iframe src=\"https://evil.example/frame\">"
    "IFRAME-FALLBACK</iframe> and for more benches along the promenade near the fountain.",
    "The council will publish the full list of terraces<style>p{color:red}</style> and their "
    "opening hours on its website before the summer season begins in early June.",
]
CREDITS = {
    "/news/aggregator-credits-cloud-metadata-address.html":
        "http://169.254.169.254/latest/meta-data/news-story-page.html",
    "/news/aggregator-credits-an-intranet-address.html":
        "http://10.20.30.40/news/intranet-story.html",
    "/news/aggregator-credits-localhost-by-name.html": "http://localhost:9/news/local-story.html",
}
ARTICLES = [
    "/news/flaky-story-served-after-one-error.html",
    "/news/always-failing-story-server-error.html",
    "/news/missing-story-that-was-removed.html",
    "/news/slow-story-that-never-answers.html",
    "/news/trickling-story-that-drips-for-ever.html",
    "/news/redirect-loop-story-a.html",
    "/news/redirect-away-to-another-host.html",
    "/news/connection-reset-in-the-middle.html",
    "/news/truncated-body-shorter-than-declared.html",
    "/news/gzip-bomb-that-inflates-past-the-limit.html",
    "/news/huge-page-past-the-download-limit.html",
    "/news/empty-body-with-status-ok.html",
    "/news/binary-junk-served-as-html.html",
    "/news/redirect-to-a-local-file.html",
    SOUP_PATH,
    *CREDITS,
    "/private/disallowed-story-behind-robots.html",
    "/files/annual-report-2024.pdf",
    "/images/front-page-photo.jpg",
    *(page.path for page in CHARSET_PAGES),
]
SITEMAPS = ("/sitemap-bomb.xml.gz", "/sitemap-junk.xml", "/sitemap-corrupt.xml.gz")
BROKEN_LINKS = ("http://[::1", "http://x:999999/")
Handler = Callable[["FaultHandler"], None]


@dataclass(frozen=True)
class FaultSite:
    """URLs of a running fault server ("faults", "elsewhere") and its request log."""

    urls: dict[str, str]
    log_path: Path

    @property
    def url(self) -> str:
        """The base URL of the faulty news site."""
        return self.urls["faults"]


def slug(path: str) -> str:
    """The last path segment without its extension."""
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


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


def index(h: FaultHandler) -> None:
    links = "".join(f'<li><a href="{path}">{slug(path)}</a></li>' for path in ARTICLES)
    links += f'<li><a href="{BROKEN_LINKS[0]}">IPv6</a><a href="{BROKEN_LINKS[1]}">port</a></li>'
    h.send(200, f"<!DOCTYPE html><html><head><title>Faults</title></head><body><ul>{links}"
                "</ul></body></html>")


def robots(h: FaultHandler) -> None:
    sitemaps = "".join(f"Sitemap: {path}\n" for path in SITEMAPS)
    h.send(200, f"User-agent: *\nDisallow: /private/\n{sitemaps}", "text/plain")


def flaky(h: FaultHandler) -> None:
    if h.first_time():
        h.send(500, b"<html><body>Internal error</body></html>")
    else:
        h.send(200, generated_article(slug(h.path)))


def slow(h: FaultHandler) -> None:
    time.sleep(SLOW_SECONDS)
    h.send(200, generated_article(slug(h.path)))


def trickle(h: FaultHandler) -> None:
    body = generated_article(slug(h.path)).encode("utf-8")
    h.send_response(200)
    h.send_header("Content-Type", HTML)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    step = len(body) // TRICKLE_CHUNKS + 1
    for start in range(0, len(body), step):
        h.wfile.write(body[start:start + step])
        h.wfile.flush()
        time.sleep(TRICKLE_SECONDS)


def redirect(target: str) -> Handler:
    def answer(h: FaultHandler) -> None:
        location = target.format(**h.urls)
        h.send(302, b"", headers={"Location": location})
    return answer


def reset(h: FaultHandler) -> None:
    body = generated_article(slug(h.path)).encode("utf-8")
    h.send_response(200)
    h.send_header("Content-Type", HTML)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body[: len(body) // 2])
    h.wfile.flush()
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.close_connection = True
    h.connection.close()


def truncated(h: FaultHandler) -> None:
    body = generated_article(slug(h.path)).encode("utf-8")
    h.send_response(200)
    h.send_header("Content-Type", HTML)
    h.send_header("Content-Length", str(len(body) + 5000))
    h.send_header("Connection", "close")
    h.end_headers()
    h.wfile.write(body)
    h.close_connection = True


BOMB = gzip.compress(b"<html><body><p>" + b" " * BOMB_BYTES + b"</p></body></html>", 9)


SITEMAP_BOMB = gzip.compress(b"<urlset><url><loc>/x.html</loc></url>" + b" " * SITEMAP_BOMB_BYTES)


def bomb(h: FaultHandler) -> None:
    h.send(200, BOMB, headers={"Content-Encoding": "gzip"})


def huge(h: FaultHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", HTML)
    h.send_header("Connection", "close")
    h.end_headers()
    h.wfile.write(generated_article(slug(h.path)).encode("utf-8"))
    chunk = b"<!-- " + b"x" * (1024 * 1024) + b" -->"
    for _ in range(HUGE_BYTES // len(chunk) + 1):
        h.wfile.write(chunk)
    h.close_connection = True


def empty(h: FaultHandler) -> None:
    h.send(200, b"")


def binary(h: FaultHandler) -> None:
    h.send(200, bytes(range(256)) * 64)


def soup(h: FaultHandler) -> None:
    h.send(200, article_html("Terrace fees agreed after a long night at the town hall",
                             SOUP_PARAGRAPHS, meta='<meta charset="utf-8">\n', escape=False))


def any_file(h: FaultHandler) -> None:
    h.send(200, b"%PDF-1.4 or \x89PNG, never to be fetched", "application/octet-stream")


ROUTES: dict[str, Handler] = {
    "/": index,
    "/robots.txt": robots,
    ARTICLES[0]: flaky,
    ARTICLES[1]: lambda h: h.send(500, b"<html><body>Internal error</body></html>"),
    ARTICLES[2]: lambda h: h.send(404, b"<html><body>Gone</body></html>"),
    ARTICLES[3]: slow,
    ARTICLES[4]: trickle,
    ARTICLES[5]: redirect("{faults}/news/redirect-loop-story-b.html"),
    "/news/redirect-loop-story-b.html": redirect("{faults}/news/redirect-loop-story-a.html"),
    ARTICLES[6]: redirect("{elsewhere}/news/moved-story-on-another-host.html"),
    ARTICLES[7]: reset,
    ARTICLES[8]: truncated,
    ARTICLES[9]: bomb,
    ARTICLES[10]: huge,
    ARTICLES[11]: empty,
    ARTICLES[12]: binary,
    ARTICLES[13]: redirect("file:///etc/passwd"),
    SOUP_PATH: soup,
    SITEMAPS[0]: lambda h: h.send(200, SITEMAP_BOMB, "application/x-gzip"),
    SITEMAPS[1]: lambda h: h.send(200, bytes(range(256)) * 16, "application/xml"),
    SITEMAPS[2]: lambda h: h.send(200, b"\x1f\x8b\x08\x00" + b"junk" * 64,
                                  "application/x-gzip"),
    "/files/annual-report-2024.pdf": any_file,
    "/images/front-page-photo.jpg": any_file,
}
CHARSET_BY_PATH = {page.path: page for page in CHARSET_PAGES}


def main() -> int:
    """Start both hosts, print their URLs as one JSON line, serve until signalled."""
    urls: dict[str, str] = {}
    servers = {}
    for site, address in ADDRESSES.items():
        server = ThreadingHTTPServer((address, 0), partial(FaultHandler, site=site, urls=urls))
        server.daemon_threads = True
        servers[site] = server
        urls[site] = f"http://{address}:{server.server_address[1]}"
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for name, server in servers.items():
        threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    sys.stdout.write(json.dumps(urls, sort_keys=True) + "\n")
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    for server in servers.values():
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
