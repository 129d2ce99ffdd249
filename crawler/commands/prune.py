"""`scrapy prune --before DATE [--source NAME]`: delete old stories, in batches."""

from __future__ import annotations

import argparse
import sys

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands._checks import parse_when
from crawler.commands._database import open_database
from storage.retention import PRUNE_BATCH, prune_stories


class PruneCommand(ScrapyCommand):
    """Delete the stories last updated before a date, with their URLs, revisions and keys."""

    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_LEVEL": "WARNING"}

    def syntax(self) -> str:
        """Command syntax."""
        return "--before DATE [--source NAME] [--batch N]"

    def short_desc(self) -> str:
        """One line of help."""
        return "Delete stories last updated before DATE (safe while a crawl runs)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """The command's options."""
        super().add_options(parser)
        parser.add_argument("--before", type=parse_when, metavar="DATE", required=True,
                            help="delete stories last updated before this ISO 8601 time (UTC "
                                 "when no offset is given)")
        parser.add_argument("--source", metavar="NAME", help="only stories of this source")
        parser.add_argument("--batch", type=int, default=PRUNE_BATCH, metavar="N",
                            help=f"stories deleted per transaction (default: {PRUNE_BATCH})")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Delete batch by batch; print how many stories went."""
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        if opts.batch < 1:
            raise UsageError(f"--batch must be at least 1, not {opts.batch}")
        assert self.settings is not None
        engine, sessions = open_database(self.settings)
        try:
            pruned = prune_stories(sessions, opts.before, opts.source, opts.batch)
        finally:
            engine.dispose()
        source = f" of {opts.source}" if opts.source else ""
        print(f"pruned {pruned} stories{source} last updated before {opts.before.isoformat()}",
              file=sys.stderr)
