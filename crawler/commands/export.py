"""`scrapy export -o FILE.jsonl`: one JSON object per stored story.

A file is written to a temporary file in the target's folder and renamed over the target when
complete (a reader never sees half an export; the target keeps its mode); `-o -` streams to
standard output and stops quietly when the reader closes the pipe (`| head`). A target that
cannot be written is refused (exit 2); a disk that fills up during the export fails it in one
line (exit 1), the old file unchanged and no temporary file left.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings

from crawler.commands._checks import parse_when
from crawler.commands._database import open_database
from crawler.sources import SourcesConfigError, load_sources
from storage.read import iter_stories, stored_sources
from storage.records import StoryView

# Write errors of a full disk or quota: the export failed (exit 1), the target was fine.
FULL_DISK_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def write_lines(stories: Iterable[StoryView], out: IO[str]) -> int:
    """Write each story as one JSON line; the count."""
    count = 0
    for story in stories:
        out.write(json.dumps(story.to_json(), ensure_ascii=False) + "\n")
        count += 1
    return count


def new_file_mode() -> int:
    """The mode a new file gets under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(target: Path, stories: Iterable[StoryView]) -> int:
    """Write to a temporary file beside the target, then rename it over the target."""
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else new_file_mode()
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            count = write_lines(stories, out)
            out.flush()
            os.fsync(out.fileno())
        Path(temp).chmod(mode)
        Path(temp).replace(target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return count


def check_source(settings: BaseSettings, name: str, stored: list[str]) -> None:
    """UsageError for a source name neither stored nor in the sources file."""
    try:
        configured = [s.name for s in load_sources(Path(settings["NEWS_SOURCES_FILE"]))]
    except SourcesConfigError:
        configured = []
    known = sorted(set(stored) | set(configured))
    if name not in known:
        raise UsageError(f"no source named {name!r} (known: {', '.join(known) or 'none'})",
                         print_help=False)


class ExportCommand(ScrapyCommand):
    """Write stored stories as JSON Lines."""

    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        """Command syntax."""
        return ("-o FILE.jsonl [--since WHEN] [--until WHEN] [--stored-since WHEN] "
                "[--language CODE] [--source NAME]")

    def short_desc(self) -> str:
        """One line of help."""
        return "Export stored stories as JSON Lines, one object per story"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """The export's options."""
        super().add_options(parser)
        parser.add_argument("-o", "--output", metavar="FILE", required=True,
                            help="JSON Lines file to write ('-' for stdout)")
        parser.add_argument("--since", type=parse_when, metavar="WHEN",
                            help="only stories published at or after this ISO 8601 time")
        parser.add_argument("--until", type=parse_when, metavar="WHEN",
                            help="only stories published before this ISO 8601 time")
        parser.add_argument("--stored-since", type=parse_when, metavar="WHEN",
                            help="only stories stored or updated since this ISO 8601 time")
        parser.add_argument("--language", metavar="CODE", help="only stories in this language")
        parser.add_argument("--source", metavar="NAME", help="only stories from this source")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Check the target and source, then stream the stories."""
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        assert self.settings is not None
        target = None if opts.output == "-" else Path(opts.output)
        if target is not None and not target.parent.is_dir():
            raise UsageError(f"cannot write {target}: folder {target.parent} does not exist",
                             print_help=False)
        engine, sessions = open_database(self.settings)
        skipped: list[int] = []
        try:
            with sessions() as session:
                if opts.source is not None:
                    check_source(self.settings, opts.source, stored_sources(session))
                stories = iter_stories(session, since=opts.stored_since,
                                       language=opts.language, source=opts.source,
                                       published_since=opts.since, published_until=opts.until,
                                       skipped=skipped.append)
                count = self.write(target, stories)
        finally:
            engine.dispose()
        if count is not None:
            print(f"exported {count} stories to {opts.output}", file=sys.stderr)
        if skipped:
            ids = ", ".join(map(str, skipped[:20]))
            print(f"skipped {len(skipped)} unreadable stories (ids {ids})", file=sys.stderr)

    def write(self, target: Path | None, stories: Iterable[StoryView]) -> int | None:
        """Write to the file or stdout; the count (None when the reader closed the pipe or the
        disk filled up)."""
        if target is None:
            try:
                count = write_lines(stories, sys.stdout)
                sys.stdout.flush()
            except BrokenPipeError:
                # The reader is gone (`| head`): stop quietly, and keep Python from
                # complaining again when it flushes stdout at exit.
                with contextlib.suppress(OSError):
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, sys.stdout.fileno())
                return None
            return count
        try:
            return write_atomically(target, stories)
        except OSError as exc:
            if exc.errno in FULL_DISK_ERRNOS:
                print(f"scrapy: export failed: cannot write {target}: {exc.strerror} "
                      f"({'the old file is unchanged' if target.exists() else 'nothing written'})",
                      file=sys.stderr)
                self.exitcode = 1
                return None
            raise UsageError(f"cannot write {target}: {exc.strerror or exc}",
                             print_help=False) from None
