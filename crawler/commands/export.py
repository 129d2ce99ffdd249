"""`scrapy export -o FILE.jsonl`: one JSON object per stored story."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands._database import open_database
from storage.read import iter_stories


def parse_since(value: str) -> dt.datetime:
    """An ISO 8601 date or time; naive values are taken as UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class ExportCommand(ScrapyCommand):
    """Write stored stories as JSON Lines."""

    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        """Command syntax."""
        return "-o FILE.jsonl [--since WHEN] [--language CODE] [--source NAME]"

    def short_desc(self) -> str:
        """One line of help."""
        return "Export stored stories as JSON Lines, one object per story"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """The export's options."""
        super().add_options(parser)
        parser.add_argument("-o", "--output", metavar="FILE", required=True,
                            help="JSON Lines file to write ('-' for stdout)")
        parser.add_argument("--since", type=parse_since, metavar="WHEN",
                            help="only stories stored or updated since this ISO 8601 time")
        parser.add_argument("--language", metavar="CODE", help="only stories in this language")
        parser.add_argument("--source", metavar="NAME", help="only stories from this source")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Stream the stories to the file; write it atomically (temp file, then rename)."""
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        assert self.settings is not None
        engine, sessions = open_database(self.settings)
        count = 0
        skipped: list[int] = []
        try:
            with sessions() as session:
                stories = iter_stories(session, since=opts.since, language=opts.language,
                                       source=opts.source, skipped=skipped.append)
                if opts.output == "-":
                    for story in stories:
                        sys.stdout.write(json.dumps(story.to_json(), ensure_ascii=False) + "\n")
                        count += 1
                else:
                    target = Path(opts.output)
                    partial = target.with_name(target.name + ".partial")
                    with partial.open("w", encoding="utf-8") as out:
                        for story in stories:
                            out.write(json.dumps(story.to_json(), ensure_ascii=False) + "\n")
                            count += 1
                    partial.replace(target)
        finally:
            engine.dispose()
        print(f"exported {count} stories to {opts.output}", file=sys.stderr)
        if skipped:
            ids = ", ".join(map(str, skipped[:20]))
            print(f"skipped {len(skipped)} unreadable stories (ids {ids})", file=sys.stderr)
