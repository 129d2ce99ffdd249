"""scrapyd: the project deploys as an egg and a crawl is scheduled through scrapyd's HTTP API."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from tests.crawling import REPO_ROOT, export
from tests.servers import new_postgres_database
from tests.sites.server import SampleSites

SCRAPYD_DEPLOY = Path(sys.executable).with_name("scrapyd-deploy")


def build_egg(tmp_path: Path) -> Path:
    """`scrapyd-deploy --build-egg` in a copy of the tracked files (it writes setup.py)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    copy = tmp_path / "project"
    for name in filter(None, files):
        if (REPO_ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, copy / name)
    egg = tmp_path / "newsagg.egg"
    result = subprocess.run([str(SCRAPYD_DEPLOY), f"--build-egg={egg}"], cwd=copy,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return egg


def post_multipart(url: str, fields: dict[str, str], egg: Path) -> dict[str, object]:
    """POST form fields and the egg file as multipart/form-data; the JSON answer."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="egg"; '
                 f'filename="{egg.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode() + egg.read_bytes() + f"\r\n--{boundary}--\r\n".encode())
    request = urllib.request.Request(url, data=b"".join(parts), headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def call(url: str, fields: list[tuple[str, str]] | None = None) -> dict[str, object]:
    """GET (no fields) or POST form fields to scrapyd; the JSON answer."""
    data = urllib.parse.urlencode(fields).encode() if fields is not None else None
    with urllib.request.urlopen(url, data=data, timeout=60) as response:
        return json.loads(response.read())


def test_scheduled_through_scrapyd(sample_sites: SampleSites, scrapyd_url: str,
                                   postgres_url: str, tmp_path: Path) -> None:
    egg = build_egg(tmp_path)
    added = post_multipart(f"{scrapyd_url}/addversion.json",
                           {"project": "newsagg", "version": "1"}, egg)
    assert added["status"] == "ok", added
    assert added["spiders"] == 1
    db_url = new_postgres_database(postgres_url)
    scheduled = call(f"{scrapyd_url}/schedule.json", [
        ("project", "newsagg"), ("spider", "news"),
        ("start_urls", f"{sample_sites.urls['gazette']}/"),
        ("setting", f"DATABASE_URL={db_url}"), ("setting", "ALLOW_PRIVATE_NETWORKS=True"),
        ("setting", "AUTOTHROTTLE_ENABLED=False"), ("setting", "DOWNLOAD_DELAY=0"),
        ("setting", f"NEWS_LOCK_DIR={tmp_path / 'locks'}"),
    ])
    assert scheduled["status"] == "ok", scheduled
    job = scheduled["jobid"]
    deadline = time.monotonic() + 180
    while True:
        jobs = call(f"{scrapyd_url}/listjobs.json?project=newsagg")
        if any(j["id"] == job for j in jobs["finished"]):  # type: ignore[union-attr]
            break
        assert time.monotonic() < deadline, jobs
        time.sleep(0.5)
    log_url = f"{scrapyd_url}/logs/newsagg/news/{job}.log"
    with urllib.request.urlopen(log_url, timeout=30) as response:
        log = response.read().decode()
    assert "'finish_reason': 'finished'" in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    stories = export(db_url)
    assert len(stories) == 5
    assert {s["site"] for s in stories} == {"127.0.0.4"}
