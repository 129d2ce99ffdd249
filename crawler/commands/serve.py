"""`scrapy serve`: the HTTP read API and browsing pages over DATABASE_URL (storage/web)."""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands._database import open_database
from storage.session import redact_url

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class ServeCommand(ScrapyCommand):
    """Serve the stored stories over HTTP until interrupted."""

    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        """Usage line."""
        return "[--host HOST] [--port PORT]"

    def short_desc(self) -> str:
        """One line of help."""
        return "Serve the stories: JSON API with search (/api, docs at /docs) and pages (/)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """Where to listen."""
        super().add_options(parser)
        parser.add_argument("--host", default=DEFAULT_HOST,
                            help=f"address to bind (default: {DEFAULT_HOST}, loopback only)")
        parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                            help=f"TCP port (default: {DEFAULT_PORT})")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Bring the schema up to date, then serve read-only until SIGINT or SIGTERM."""
        import uvicorn  # imported here: FastAPI and uvicorn load in about a second

        from storage.web.app import create_app

        assert self.settings is not None
        if args:
            raise UsageError(f"unexpected argument: {args[0]}", print_help=False)
        if not 0 < opts.port < 65536:
            raise UsageError(f"--port {opts.port}: not a TCP port (1-65535)", print_help=False)
        engine, _sessions = open_database(self.settings)
        engine.dispose()
        url = self.settings.get("DATABASE_URL")
        print(f"Serving {redact_url(url)} on http://{opts.host}:{opts.port}/ "
              f"(API docs: /docs)", flush=True)
        uvicorn.run(create_app(url), host=opts.host, port=opts.port, log_level="warning")
