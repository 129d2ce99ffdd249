"""A large local news site for benchmarks, built in memory from the extraction dev pages.

Usage: python bench/newssite.py [--pages N] [--dataset DIR]; prints the site's URL, serves
until killed. Every article is a dev page made a distinct story: a marker sentence in its
longest body paragraph and the story's number after every fourth word of its body text, so
that the dedup stage keeps them apart (two stories made from the same dev page share at most
42% of their word 3-grams, measured, against the 0.5 threshold). 10% are near
duplicates of the page before (the same story with one more sentence). Paginated listing pages
and a sitemap named in robots.txt list them. With --cite, every article ends with the same
citation, "Source: <a ministry's home page>", a page of the site under another host name
(localhost): the distinct stories must stay apart.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import html as html_lib
import json
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = REPO_ROOT.parent / "shared" / "bench" / "extraction" / "dev"
PER_LISTING = 50
NEAR_DUPLICATE_EVERY = 10
STORY_NUMBER_EVERY = 4
PARAGRAPH = re.compile(rb"<p[\s>].*?</p>", re.S | re.I)
NESTED_BLOCK = re.compile(rb"<(p|div|li|ul|table|section)[\s>]", re.I)
TAG = re.compile(r"<[^>]*>")
TEXT_RUN = re.compile(rb">([^<]+)<")
WORD = re.compile(r"\S{1,8}")
HEAD = re.compile(rb"<head[^>]*>", re.I)
ANCHOR_HREF = re.compile(rb"""(<a\s[^>]*?href=)(["'])([^"']*)\2""", re.I)
RELATIVE_HREF = re.compile(rb"""href=(["'])(?!https?:|//|#|mailto:|javascript:)([^"']*)\1""")
CANONICAL = re.compile(rb"""<(link|meta)\s[^>]*(rel|property)=["'](canonical|og:url)["'][^>]*>""",
                       re.I)
OG_ARTICLE = b'<meta property="og:type" content="article">'


@dataclass(frozen=True)
class Template:
    """A dev page cut where a story's number goes, and where its marker sentence goes."""

    pieces: tuple[bytes, ...]
    marker_after: int

    def render(self, number: bytes, marker: bytes) -> bytes:
        """The page with NUMBER between its pieces and MARKER after piece MARKER_AFTER."""
        parts = []
        for index, piece in enumerate(self.pieces[:-1]):
            parts.append(piece)
            parts.append(marker if index == self.marker_after else number)
        parts.append(self.pieces[-1])
        return b"".join(parts)


def article_path(page: int) -> str:
    """The path of article PAGE (0-based)."""
    return f"/news/2024/05/story-{page:06d}-bench-dispatch.html"


def local_links(html: bytes, page_url: str, pages: int) -> bytes:
    """Make the page's in-site links links to the bench's articles, as on a real site.

    Other relative links (stylesheets, feeds) point at the original site, never followed.
    """
    original_host = urlsplit(page_url).hostname

    def anchor(match: re.Match[bytes]) -> bytes:
        url = urljoin(page_url, match.group(3).decode("utf-8", "replace"))
        if urlsplit(url).hostname != original_host:
            return match.group(0)
        local = article_path(zlib.crc32(url.encode("utf-8")) % pages).encode()
        return match.group(1) + b'"' + local + b'"'

    def absolute(match: re.Match[bytes]) -> bytes:
        url = urljoin(page_url, match.group(2).decode("utf-8", "replace"))
        return b'href="' + url.encode("utf-8") + b'"'

    html = CANONICAL.sub(b"", html)
    return ANCHOR_HREF.sub(anchor, RELATIVE_HREF.sub(absolute, html))


def words(text: str) -> str:
    """Text without tags, spacing collapsed."""
    return " ".join(TAG.sub(" ", text).split())


def in_body(paragraph: bytes, body: str) -> bool:
    """True when a paragraph's text is part of the page's true article body."""
    text = words(html_lib.unescape(paragraph.decode("utf-8", "replace")))
    return len(text) >= 40 and text[:40] in body


def number_slots(html: bytes, body: str) -> list[int]:
    """Offsets right after every STORY_NUMBER_EVERY-th word of the page's body text runs.

    A word is at most 8 characters: text without spaces (Chinese, Japanese) gets slots too.
    """
    slots, count = [], 0
    for run in TEXT_RUN.finditer(html):
        try:
            raw = run.group(1).decode("utf-8")
        except UnicodeDecodeError:
            continue
        text = words(html_lib.unescape(raw))
        if len(text) < 40 and (len(text) < 8 or text not in body) or text[:40] not in body:
            continue
        for word in WORD.finditer(raw):
            count += 1
            if count % STORY_NUMBER_EVERY == 0:
                slots.append(run.start(1) + len(raw[: word.end()].encode("utf-8")))
    return slots


def make_template(html: bytes, page_url: str, body: str, pages: int) -> Template:
    """Cut a page after every fourth word of its body text and inside its longest paragraph."""
    html = local_links(html, page_url, pages)
    head = HEAD.search(html)
    if head:
        html = html[: head.end()] + OG_ARTICLE + html[head.end():]
    paragraphs = [m for m in PARAGRAPH.finditer(html)
                  if not NESTED_BLOCK.search(m.group(0), 2) and in_body(m.group(0), body)]
    if paragraphs:
        cut = max(paragraphs, key=lambda m: len(m.group(0))).end() - len(b"</p>")
    else:
        cut = max(html.lower().rfind(b"</body>"), 0)
    slots = sorted({cut, *number_slots(html, body)})
    pieces = [html[start:end] for start, end in zip([0, *slots], [*slots, len(html)], strict=True)]
    return Template(tuple(pieces), slots.index(cut))


def load_templates(dataset: Path, pages: int) -> list[Template]:
    """The dev pages as templates for a site of PAGES articles, in a stable order."""
    truth = json.loads((dataset / "ground-truth.json").read_text(encoding="utf-8"))
    templates = []
    for item_id in sorted(truth):
        with gzip.open(dataset / "html" / f"{item_id}.html.gz", "rb") as handle:
            templates.append(make_template(handle.read(), truth[item_id].get("url", ""),
                                           words(truth[item_id].get("articleBody", "")), pages))
    return templates


def marker(story: int) -> bytes:
    """A sentence, added to the body's longest paragraph, that makes a story distinct."""
    return (f" Bench dispatch {story:06d}: desk {story % 97} filed reference "
            f"{story * 7919 % 100003}-{story * 104729 % 999983} on this story.").encode()


MINISTRY = (b'<html><head><title>Ministry of Information</title><meta property="og:type" '
            b'content="website"></head><body><h1>Ministry of Information</h1><ul>'
            b"<li>Press office</li><li>Licences</li><li>Public notices</li></ul>"
            b"<p>Opening hours: Monday to Friday, 8:00 to 17:00.</p></body></html>")


class NewsSite:
    """The pages of the site, rendered on request from the templates."""

    def __init__(self, templates: list[Template], pages: int) -> None:
        self.templates = templates
        self.pages = pages
        self.listings = -(-pages // PER_LISTING)
        self.citation: bytes | None = None  # the URL every article cites (--cite)

    def article(self, page: int) -> bytes:
        """Article PAGE: a dev page with its story's marker; near duplicates add a sentence."""
        duplicate = page % NEAR_DUPLICATE_EVERY == NEAR_DUPLICATE_EVERY - 1
        story = page - 1 if duplicate else page
        template = self.templates[story % len(self.templates)]
        extra = b" Updated with a correction." if duplicate else b""
        html = template.render(f" {story:06d}".encode(), marker(story) + extra)
        if self.citation is None:
            return html
        cite = b'<p>Source: <a href="' + self.citation + b'">Ministry of Information</a></p>'
        return html.replace(b"</body>", cite + b"</body>", 1)

    def listing(self, number: int) -> bytes:
        """Listing page NUMBER (1-based): its articles' links and the next page's."""
        first = (number - 1) * PER_LISTING
        links = "".join(f'<li><a href="{article_path(p)}">Story {p}</a></li>'
                        for p in range(first, min(first + PER_LISTING, self.pages)))
        more = (f'<a rel="next" href="/news/page/{number + 1}">Next</a>'
                if number < self.listings else "")
        return (f"<html><head><title>News, page {number}</title>"
                '<meta property="og:type" content="website"></head>'
                f"<body><h1>Latest news</h1><ul>{links}</ul>{more}</body></html>").encode()

    def sitemap(self, base: str) -> bytes:
        """A urlset of every article."""
        urls = "".join(f"<url><loc>{base}{article_path(p)}</loc></url>"
                       for p in range(self.pages))
        return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns='
                f'"http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode()

    def render(self, path: str, base: str) -> tuple[int, str, bytes]:
        """Status, content type and body for a path."""
        html = "text/html; charset=utf-8"
        if path == "/robots.txt":
            return 200, "text/plain", f"User-agent: *\nSitemap: {base}/sitemap.xml\n".encode()
        if path == "/sitemap.xml":
            return 200, "application/xml", self.sitemap(base)
        if path == "/":
            return 200, html, self.listing(1)
        if path == "/ministry/":
            return 200, html, MINISTRY
        if match := re.fullmatch(r"/news/page/(\d+)", path):
            number = int(match.group(1))
            if 1 <= number <= self.listings:
                return 200, html, self.listing(number)
        if match := re.fullmatch(r"/news/2024/05/story-(\d{6})-bench-dispatch\.html", path):
            page = int(match.group(1))
            if page < self.pages:
                return 200, html, self.article(page)
        return 404, "text/plain", b"not found"

    def article_pages(self) -> Iterator[tuple[str, bytes]]:
        """(path, html) of every article, for benchmarks that need no server."""
        for page in range(self.pages):
            yield article_path(page), self.article(page)


async def handle(site: NewsSite, base: str, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
    """Serve HTTP/1.1 requests on one keep-alive connection."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            status, content_type, body = site.render(target.split("?", 1)[0], base)
            close = b"connection: close" in head.lower()
            writer.write((f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
                          f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                          f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
                          ).encode("latin-1"))
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def serve(site: NewsSite, cite: bool = False) -> None:
    """Serve the site on 127.0.0.1 (a free port); print its URL."""
    base: list[str] = []
    server = await asyncio.start_server(lambda r, w: handle(site, base[0], r, w), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    base.append(f"http://127.0.0.1:{port}")
    if cite:
        site.citation = f"http://localhost:{port}/ministry/".encode()
    print(base[0], flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Build the site and serve it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--cite", action="store_true",
                        help="every article cites the same ministry home page")
    args = parser.parse_args()
    site = NewsSite(load_templates(args.dataset, args.pages), args.pages)
    try:
        asyncio.run(serve(site, args.cite))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
