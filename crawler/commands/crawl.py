"""`scrapy crawl`: Scrapy's own command, with the configuration checked before crawling."""

from __future__ import annotations

import argparse
from pathlib import Path

from scrapy.commands.crawl import Command
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings

from crawler import settings as project_settings
from crawler.commands._database import open_database
from crawler.sources import SourcesConfigError, load_sources, source_from_urls


def check_typed_settings(settings: BaseSettings) -> None:
    """UsageError when a number or boolean setting (by its default) holds anything else.

    Numbers are checked as floats: an int default may be read with getfloat (0.001 is fine).
    """
    for name, default in vars(project_settings).items():
        getter = {bool: settings.getbool, int: settings.getfloat,
                  float: settings.getfloat}.get(type(default))
        if not name.isupper() or getter is None:
            continue
        try:
            getter(name)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"setting {name}={settings.get(name)!r}: {exc}",
                             print_help=False) from None


class CrawlCommand(Command):
    """Run a spider; for `news`, a bad sources file or database stops it with one message."""

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Check the news spider's sources and database, then crawl as Scrapy does."""
        assert self.settings is not None
        check_typed_settings(self.settings)
        if args and args[0] == "news":
            self._check_news_config(opts.spargs)
        super().run(args, opts)

    def _check_news_config(self, spargs: dict[str, str]) -> None:
        """Raise UsageError naming the file and entry, or the database, that is wrong."""
        assert self.settings is not None
        try:
            if spargs.get("start_urls"):
                source_from_urls([u for u in spargs["start_urls"].split(",") if u.strip()])
            else:
                path = Path(self.settings.get("NEWS_SOURCES_FILE"))
                names = [s.name for s in load_sources(path)]
                wanted = spargs.get("source")
                if wanted and wanted not in names:
                    raise SourcesConfigError(
                        f"{path}: no source named {wanted!r} (known: {', '.join(names)})"
                    )
        except (SourcesConfigError, ValueError) as exc:
            raise UsageError(str(exc), print_help=False) from None
        engine, _sessions = open_database(self.settings)
        engine.dispose()
