"""Serve the second sample universe (tests/sites/_universe2/), one loopback host per site.

Run ``python -m tests.sites.universe2 [--port N]``: the same rules, JSON line and request
log as ``tests.sites.server``, plus what its sites need and the first universe does not:

- ``_redirects.txt`` in a site directory: lines ``PATH TARGET``; a GET of PATH answers
  ``301 Moved Permanently`` to TARGET (``{{site:NAME}}`` templated).
- ``X.gz`` where only ``X`` exists: X rendered, then gzip-compressed, served as
  ``application/gzip`` (a gzipped sitemap whose URLs carry the dynamic ports).
- A file without an extension (the feed at ``/feed/tin-moi``) is templated and served as
  ``text/html; charset=utf-8``, a mislabelled type: the crawler reads it by its content.
  ``.json`` files are templated and served as ``application/json``.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from functools import partial
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from tests.sites.server import (
    SiteRequestHandler,
    base_url,
    render,
    resolve,
    serve_until_signalled,
    site_names,
)

UNIVERSE_ROOT = Path(__file__).resolve().parent / "_universe2"
# Files the first universe's server would send untemplated, as application/octet-stream.
TEMPLATED_TYPES = {"": "text/html; charset=utf-8", ".json": "application/json"}
FIRST_ADDRESS = 21  # 127.0.0.21 and up: clear of the first universe and the fault server


def redirects(site_dir: Path) -> dict[str, str]:
    """The site's 301 redirects, path to target."""
    table = site_dir / "_redirects.txt"
    if not table.is_file():
        return {}
    pairs = (line.split() for line in table.read_text(encoding="utf-8").splitlines())
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


class UniverseRequestHandler(SiteRequestHandler):
    """The first universe's handler with redirects and gzip-on-the-fly."""

    def do_GET(self) -> None:
        """Answer a GET: a redirect, a gzipped rendering, else a file."""
        path = urlsplit(self.path).path
        target = redirects(self.site_dir).get(path)
        if target is not None:
            self._send(HTTPStatus.MOVED_PERMANENTLY, b"", "text/html; charset=utf-8", True,
                       {"Location": render(target, self.urls)})
            return
        if path.endswith(".gz"):
            plain = resolve(self.site_dir, path[:-3])
            if plain is not None:
                self._send(HTTPStatus.OK, gzip.compress(self._rendered(plain), mtime=0),
                           "application/gzip", True)
                return
        file = resolve(self.site_dir, path)
        if file is not None and file.suffix in TEMPLATED_TYPES:
            self._send(HTTPStatus.OK, self._rendered(file), TEMPLATED_TYPES[file.suffix], True)
            return
        super().do_GET()

    def _rendered(self, file: Path) -> bytes:
        """A text file with its {{site:NAME}} templates filled in, as UTF-8."""
        return render(file.read_text(encoding="utf-8"), self.urls).encode("utf-8")


def build_universe(root: Path, port: int) -> tuple[dict[str, ThreadingHTTPServer], dict[str, str]]:
    """Bind one server per site of the universe on 127.0.0.21 and up."""
    urls: dict[str, str] = {}
    servers: dict[str, ThreadingHTTPServer] = {}
    for number, name in enumerate(site_names(root), start=FIRST_ADDRESS):
        handler = partial(UniverseRequestHandler, site=name, site_dir=root / name, urls=urls)
        server = ThreadingHTTPServer((f"127.0.0.{number}", port), handler)
        server.daemon_threads = True
        servers[name] = server
    for name, server in servers.items():
        urls[name] = base_url(server)
    return servers, urls


def main(argv: list[str] | None = None) -> int:
    """Start every site, print the URL map as one JSON line, serve until signalled."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port for every site (0: any)")
    args = parser.parse_args(argv)
    return serve_until_signalled(*build_universe(UNIVERSE_ROOT, args.port))


if __name__ == "__main__":
    sys.exit(main())
