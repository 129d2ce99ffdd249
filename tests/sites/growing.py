"""A news site in a temporary folder that gains stories between crawls.

`GrowingSite.add(n)` writes n more generated stories and relists them on the home page;
served by `python -m tests.sites.server --root ROOT` (files are read on every request).
"""

from __future__ import annotations

import contextlib
import html
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.sites.faults_pages import generated_article, story_title

SITE = "growing"
REPO_ROOT = Path(__file__).resolve().parents[2]


def story_slug(number: int) -> str:
    """The slug of the n-th story of the growing site."""
    return f"growing-story-number-{number:03d}-about-the-town"


@dataclass
class GrowingSite:
    """A site folder (ROOT/growing) and how many stories it lists."""

    root: Path
    count: int = 0
    titles: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        """The site's own folder."""
        return self.root / SITE

    def add(self, stories: int) -> None:
        """Write `stories` more articles and list every article on the home page."""
        news = self.folder / "news"
        news.mkdir(parents=True, exist_ok=True)
        (self.folder / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
        for number in range(self.count + 1, self.count + stories + 1):
            slug = story_slug(number)
            (news / f"{slug}.html").write_text(generated_article(slug), encoding="utf-8")
            self.titles.append(story_title(slug))
        self.count += stories
        links = "\n".join(
            f'<li><a href="/news/{story_slug(n)}.html">{html.escape(story_title(story_slug(n)))}'
            "</a></li>" for n in range(self.count, 0, -1))
        (self.folder / "index.html").write_text(
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Town news'
            f"</title></head>\n<body><h1>Town news</h1><ul>\n{links}\n</ul></body></html>\n",
            encoding="utf-8")


@contextlib.contextmanager
def serve_growing(root: Path, stories: int) -> Iterator[tuple[GrowingSite, str]]:
    """Serve a growing site with `stories` stories; yield it and its base URL."""
    site = GrowingSite(root)
    site.add(stories)
    log = (root / "server.log").open("w", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "tests.sites.server", "--root", str(root)],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, f"the growing site did not start; see {root / 'server.log'}"
        yield site, json.loads(line)[SITE]
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def sources_file(path: Path, url: str, name: str = "town") -> Path:
    """A sources file naming the growing site as one source."""
    path.write_text(f"sources:\n  - name: {name}\n    start_urls: ['{url}/']\n",
                    encoding="utf-8")
    return path
