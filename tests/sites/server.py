"""Serve the sample universe of fixture news sites, one loopback host per site.

Run ``python -m tests.sites.server [--root DIR] [--port N]``. Every subdirectory of
the root is a site, served by its own ``ThreadingHTTPServer`` on its own loopback
address (see ``SITE_ADDRESSES``). On start the server prints one line of JSON,
``{"site": "http://127.0.0.N:PORT", ...}`` with sorted keys, then serves until
SIGTERM or SIGINT. Each request is logged to stderr as one line:
``REQ <site> <method> <path-with-query> <status>``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import signal
import sys
import threading
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from urllib.parse import parse_qs, unquote, urlsplit

SITES_ROOT = Path(__file__).resolve().parent
SITE_ADDRESSES: dict[str, str] = {
    "vietnam": "127.0.0.2",
    "daidoanket": "127.0.0.3",
    "gazette": "127.0.0.4",
}
# Every file claims the same modification time so responses are deterministic.
LAST_MODIFIED_TS = 1723622400.0  # 2024-08-14T08:00:00Z
LAST_MODIFIED = formatdate(LAST_MODIFIED_TS, usegmt=True)
CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Feeds keep the conventional ``.xml`` names but announce their real media type.
FILENAME_CONTENT_TYPES: dict[str, str] = {
    "rss.xml": "application/rss+xml",
    "atom.xml": "application/atom+xml",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"
TEMPLATE_RE = re.compile(r"\{\{site:([a-z0-9_-]+)\}\}")
PAGE_RE = re.compile(r"^[1-9][0-9]*$")
NOT_FOUND_BODY = (
    b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
    b"<title>404 Not Found</title></head>\n"
    b"<body><h1>404 Not Found</h1><p>No such page.</p></body></html>\n"
)


@dataclass(frozen=True)
class SampleSites:
    """URLs of a running sample universe and the path of its request log."""

    urls: dict[str, str]
    log_path: Path


def site_names(root: Path) -> list[str]:
    """Return the sorted names of the site directories under ``root``."""
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
    )


def assign_addresses(names: list[str]) -> dict[str, str]:
    """Map each site to its loopback address; unknown sites get the next free ones."""
    addresses = {name: SITE_ADDRESSES[name] for name in names if name in SITE_ADDRESSES}
    last = max((int(a.rsplit(".", 1)[1]) for a in SITE_ADDRESSES.values()), default=1)
    for name in names:
        if name not in addresses:
            last += 1
            addresses[name] = f"127.0.0.{last}"
    return addresses


def render(text: str, urls: dict[str, str]) -> str:
    """Replace every ``{{site:NAME}}`` with that site's base URL (no trailing slash)."""
    return TEMPLATE_RE.sub(lambda m: urls.get(m.group(1), m.group(0)), text)


def resolve(site_dir: Path, raw_path: str) -> Path | None:
    """Map a request path (with query) to a file under ``site_dir``, or None."""
    parts = urlsplit(raw_path)
    rel = unquote(parts.path).lstrip("/")
    candidate = (site_dir / rel).resolve()
    if not candidate.is_relative_to(site_dir):
        return None
    if candidate.is_dir():
        page = parse_qs(parts.query).get("page", [""])[0]
        if PAGE_RE.match(page) and page != "1":
            paged = candidate / f"index.page-{page}.html"
            if paged.is_file():
                return paged
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None


def is_fresh(headers: dict[str, str], etag: str) -> bool:
    """Tell whether the conditional request headers allow a 304 answer."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip() for t in if_none_match.split(",")}
        return "*" in tags or etag in tags or f"W/{etag}" in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return since.timestamp() >= LAST_MODIFIED_TS
    return False


class SiteRequestHandler(BaseHTTPRequestHandler):
    """Serve one site's static files with templating, validators and a compact log."""

    server_version = "newsagg-sample-sites/1.0"
    protocol_version = "HTTP/1.1"
    log_lock = threading.Lock()  # one whole line per write, whatever the thread

    def __init__(self, *args: object, site: str, site_dir: Path, urls: dict[str, str]) -> None:
        self.site = site
        self.site_dir = site_dir
        self.urls = urls
        super().__init__(*args)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        """Answer a GET request."""
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        """Answer a HEAD request."""
        self._respond(send_body=False)

    def _respond(self, *, send_body: bool) -> None:
        path = resolve(self.site_dir, self.path)
        if path is None:
            self._send(HTTPStatus.NOT_FOUND, NOT_FOUND_BODY, CONTENT_TYPES[".html"], send_body)
            return
        content_type = FILENAME_CONTENT_TYPES.get(path.name) or CONTENT_TYPES.get(
            path.suffix, DEFAULT_CONTENT_TYPE
        )
        data = path.read_bytes()
        if content_type != DEFAULT_CONTENT_TYPE:  # every known type is text: template it
            data = render(data.decode("utf-8"), self.urls).encode("utf-8")
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        validators = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
        headers = {k.lower(): v for k, v in self.headers.items()}
        if is_fresh(headers, etag):
            self._send(HTTPStatus.NOT_MODIFIED, b"", None, False, validators)
            return
        self._send(HTTPStatus.OK, data, content_type, send_body, validators)

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str | None,
        send_body: bool,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Write one ``REQ <site> <method> <path> <status>`` line to stderr."""
        status = code.value if isinstance(code, HTTPStatus) else code
        method = getattr(self, "command", None) or "-"
        path = getattr(self, "path", None) or "-"
        self._log(f"REQ {self.site} {method} {path} {status}")

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: the ``REQ`` line already carries the status, one line per request."""

    def _log(self, line: str) -> None:
        with self.log_lock:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()


def base_url(server: ThreadingHTTPServer) -> str:
    """Return ``http://HOST:PORT`` for a bound server."""
    host, port = server.server_address[:2]
    host_text = host.decode("ascii") if isinstance(host, bytes) else host
    return f"http://{host_text}:{port}"


def build_servers(root: Path, port: int) -> tuple[dict[str, ThreadingHTTPServer], dict[str, str]]:
    """Bind one server per site; fill the shared URL map once all ports are known."""
    names = site_names(root)
    addresses = assign_addresses(names)
    urls: dict[str, str] = {}
    servers: dict[str, ThreadingHTTPServer] = {}
    for name in names:
        handler = partial(SiteRequestHandler, site=name, site_dir=root / name, urls=urls)
        server = ThreadingHTTPServer((addresses[name], port), handler)
        server.daemon_threads = True
        servers[name] = server
    for name, server in servers.items():
        urls[name] = base_url(server)
    return servers, urls


def serve_until_signalled(servers: dict[str, ThreadingHTTPServer], urls: dict[str, str]) -> int:
    """Serve every server, print the URL map as one JSON line, stop on SIGTERM or SIGINT."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for name, server in servers.items():
        threading.Thread(target=server.serve_forever, name=f"site-{name}", daemon=True).start()
    sys.stdout.write(json.dumps(urls, sort_keys=True) + "\n")
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    for server in servers.values():
        server.shutdown()
        server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Start every site, print the URL map as one JSON line, serve until signalled."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=SITES_ROOT, help="directory of sites")
    parser.add_argument("--port", type=int, default=0, help="port for every site (0: any)")
    args = parser.parse_args(argv)
    servers, urls = build_servers(args.root.resolve(), args.port)
    return serve_until_signalled(servers, urls)


if __name__ == "__main__":
    sys.exit(main())
