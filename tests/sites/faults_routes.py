"""The fault server's routes: which path misbehaves how, and the pages it serves.

Used by tests/sites/faults.py (the server) and by the tests, which import the paths.
"""

from __future__ import annotations

import gzip
import socket
import struct
import time
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from tests.sites.faults_pages import CHARSET_PAGES, article_html, generated_article

if TYPE_CHECKING:
    from tests.sites.faults import FaultHandler

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


def slug(path: str) -> str:
    """The last path segment without its extension."""
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


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


@cache
def gzip_bomb(size: int, head: bytes) -> bytes:
    """A small gzip stream that inflates to ``size`` bytes of spaces after ``head``."""
    return gzip.compress(head + b" " * size)


def bomb(h: FaultHandler) -> None:
    h.send(200, gzip_bomb(BOMB_BYTES, b"<html><body><p>"), headers={"Content-Encoding": "gzip"})


def sitemap_bomb(h: FaultHandler) -> None:
    h.send(200, gzip_bomb(SITEMAP_BOMB_BYTES, b"<urlset><url><loc>/x.html</loc></url>"),
           "application/x-gzip")


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
    SITEMAPS[0]: sitemap_bomb,
    SITEMAPS[1]: lambda h: h.send(200, bytes(range(256)) * 16, "application/xml"),
    SITEMAPS[2]: lambda h: h.send(200, b"\x1f\x8b\x08\x00" + b"junk" * 64,
                                  "application/x-gzip"),
    "/files/annual-report-2024.pdf": any_file,
    "/images/front-page-photo.jpg": any_file,
}
CHARSET_BY_PATH = {page.path: page for page in CHARSET_PAGES}
