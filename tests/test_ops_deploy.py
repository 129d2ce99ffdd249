"""The deploy files' own commands, run three times against a site that gains stories between
runs: every run exits 0 and stores the new stories (cron: its log folder is created)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.monitors import EXIT_INTERRUPTED
from tests.crawling import REPO_ROOT, export
from tests.servers import running_scrapyd
from tests.sites.growing import GrowingSite, serve_growing, sources_file
from tests.test_ops_scrapyd import build_egg, call, post_multipart

DEPLOY = REPO_ROOT / "deploy"
SERVER_ROOT = "/srv/newsagg"
ENV_FILE = "/etc/newsagg/newsagg.env"
RUNS = 3


class Deployment:
    """A deployment folder like /srv/newsagg (the project's venv, scrapy.cfg) and its env file."""

    def __init__(self, root: Path, site: GrowingSite, url: str) -> None:
        self.root = root / "srv"
        self.root.mkdir()
        (self.root / ".venv").symlink_to(REPO_ROOT / ".venv")
        (self.root / "scrapy.cfg").write_text((REPO_ROOT / "scrapy.cfg").read_text())
        self.env_file = root / "newsagg.env"
        self.db_url = f"sqlite:///{root / 'news.db'}"
        self.env_file.write_text(f"DATABASE_URL={self.db_url}\n"
                                 f"NEWS_SOURCES_FILE={sources_file(root / 'sources.yaml', url)}\n",
                                 encoding="utf-8")
        self.site = site

    def localize(self, command: str) -> str:
        """The command with the deployment's paths in place of /srv/newsagg and the env file."""
        return command.replace(ENV_FILE, str(self.env_file)).replace(SERVER_ROOT, str(self.root))

    def environment(self) -> dict[str, str]:
        """The process environment with the env file's variables (as systemd loads it)."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "NEWS_SOURCES_FILE")}
        for line in self.env_file.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            env[key] = value
        return env

    def assert_every_story_once(self) -> None:
        """The site's stories, each stored once."""
        titles = Counter(s["title"] for s in export(self.db_url))
        assert set(titles) == set(self.site.titles)
        assert set(titles.values()) == {1}


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    with serve_growing(tmp_path / "site", 4) as (site, url):
        yield Deployment(tmp_path, site, url)


def cron_command() -> str:
    """The crontab line's command, with cron's `\\%` turned back into `%`."""
    (line,) = [line for line in (DEPLOY / "newsagg.cron").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    return line.split(None, 5)[5].replace("\\%", "%")


def scrapyd_command() -> str:
    """The scrapyd crontab line's command."""
    (line,) = [line for line in (DEPLOY / "newsagg-scrapyd.cron").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    return line.split(None, 5)[5]


def systemd_service() -> tuple[str, list[str]]:
    """The unit's WorkingDirectory and ExecStart."""
    text = (DEPLOY / "newsagg-crawl@.service").read_text()
    workdir = re.search(r"^WorkingDirectory=(.+)$", text, re.MULTILINE)
    exec_start = re.search(r"^ExecStart=(.+)$", text, re.MULTILINE)
    assert workdir
    assert exec_start
    return workdir.group(1), shlex.split(exec_start.group(1))


def test_systemd_counts_only_an_interrupted_run_as_success() -> None:
    text = (DEPLOY / "newsagg-crawl@.service").read_text()
    success = re.findall(r"^SuccessExitStatus=(.+)$", text, re.MULTILINE)
    assert success == [str(EXIT_INTERRUPTED)]


def test_cron_line_stores_new_stories_every_run(deployment: Deployment) -> None:
    command = deployment.localize(cron_command())
    for run in range(RUNS):
        result = subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                                timeout=300, check=False, env=deployment.environment())
        logs = sorted((deployment.root / "data" / "logs").glob("crawl-*.log"))
        assert logs, result.stderr
        log = logs[-1].read_text(encoding="utf-8")
        assert result.returncode == 0, log[-3000:]
        assert "'finish_reason': 'finished'" in log
        assert "Traceback" not in log
        deployment.assert_every_story_once()
        deployment.site.add(2 + run)


def test_systemd_unit_stores_new_stories_every_run(deployment: Deployment) -> None:
    workdir, argv = systemd_service()
    argv = [deployment.localize(arg).replace("%i", "town") for arg in argv]
    for run in range(RUNS):
        result = subprocess.run(argv, cwd=deployment.localize(workdir), capture_output=True,
                                text=True, timeout=300, check=False,
                                env=deployment.environment())
        assert result.returncode == 0, result.stderr[-3000:]
        assert "'finish_reason': 'finished'" in result.stderr
        assert "Resuming crawl" not in result.stderr
        deployment.assert_every_story_once()
        deployment.site.add(2 + run)
    assert (deployment.root / "data" / "jobs" / "town" / "run.json").exists()


def test_scrapyd_schedule_line_stores_new_stories_every_run(deployment: Deployment,
                                                            tmp_path: Path) -> None:
    (tmp_path / "egg").mkdir()
    egg = build_egg(tmp_path / "egg")
    with running_scrapyd(deployment.environment()) as url:
        added = post_multipart(f"{url}/addversion.json", {"project": "newsagg", "version": "1"},
                               egg)
        assert added["status"] == "ok", added
        command = scrapyd_command().replace("http://127.0.0.1:6800", url).replace(
            "source=gazette", "source=town")
        for run in range(RUNS):
            scheduled = subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                                       timeout=60, check=True)
            job = json.loads(scheduled.stdout)["jobid"]
            deadline = time.monotonic() + 240
            while not any(j["id"] == job for j in call(f"{url}/listjobs.json?project=newsagg")
                          ["finished"]):  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the scheduled job did not finish"
                time.sleep(0.5)
            with urllib.request.urlopen(f"{url}/logs/newsagg/news/{job}.log", timeout=30) as r:
                log = r.read().decode()
            assert "'finish_reason': 'finished'" in log, log[-3000:]
            assert "Traceback" not in log, log[-3000:]
            deployment.assert_every_story_once()
            deployment.site.add(2 + run)
