"""Worker faults: worker processes killed again and again mid-crawl; every page still stored.

A page server on loopback serves ARTICLES distinct stories; a `scrapy crawl` with two workers
runs while a killer thread SIGKILLs each new pool worker as soon as it appears, KILLS times.
Pages in flight at a kill are resubmitted to the rebuilt pool, and a page whose pool broke
twice runs alone in a worker of its own: none is lost, and the stats say so.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import psutil

from crawler.monitors import EXIT_DEGRADED, EXIT_OK
from tests.crawling import FAST, REPO_ROOT, export
from tests.sites.faults_pages import generated_article
from tests.test_hostile_network_crawl import serve

ARTICLES = 80
KILLS = 6
SLUGS = [f"council-story-number-{n}-of-the-week" for n in range(ARTICLES)]


def pool_workers(crawl: psutil.Process, alone: bool) -> list[psutil.Process]:
    """The pool's workers (the children of the crawl's forkserver), and with ALONE the
    worker that runs a page alone (spawned by the crawl itself)."""
    workers = []
    for child in crawl.children():
        try:
            command = " ".join(child.cmdline())
            if "forkserver" in command:
                workers.extend(child.children())
            elif alone and "spawn_main" in command:
                workers.append(child)
        except psutil.NoSuchProcess:
            continue
    return workers


def kill_new_workers(crawl: psutil.Process, started: threading.Event, killed: list[int],
                     done: threading.Event, kills: int = KILLS, alone: bool = False) -> None:
    """SIGKILL each worker that appears, once the pool started, KILLS times."""
    started.wait()
    while len(killed) < kills and not done.is_set():
        for worker in pool_workers(crawl, alone):
            if worker.pid not in killed:
                try:
                    worker.kill()
                except psutil.NoSuchProcess:
                    continue
                killed.append(worker.pid)
                break
        done.wait(0.02)  # polls the process table: the kills follow the workers' births


def crawl_with_killer(tmp_path: Path, articles: int, kills: int, alone: bool
                      ) -> tuple[str, list[int], set[str], int]:
    """Crawl ARTICLES stories while a killer kills new workers; (log, kills, stored titles,
    exit status)."""
    slugs = SLUGS[:articles]
    pages = {"/": "<html><body>" + "".join(f"<a href='/news/{slug}.html'>{slug}</a>"
                                           for slug in slugs) + "</body></html>"}
    pages.update({f"/news/{slug}.html": generated_article(slug) for slug in slugs})
    db_url = f"sqlite:///{tmp_path / 'news.db'}"
    with serve(pages) as (port, _):
        proc = subprocess.Popen(
            [sys.executable, "-m", "scrapy", "crawl", "news",
             "-a", f"start_urls=http://127.0.0.1:{port}/", "-s", f"DATABASE_URL={db_url}",
             "-s", "ALLOW_PRIVATE_NETWORKS=True", "-s", "NEWS_WORKERS=2",
             "-s", "NEWS_WORKERS_MAX_RESTARTS=1000", "-s", "NEWS_STORE_BATCH_SIZE=5", *FAST],
            cwd=REPO_ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        started, done, killed = threading.Event(), threading.Event(), []
        killer = threading.Thread(target=kill_new_workers, args=(
            psutil.Process(proc.pid), started, killed, done, kills, alone))
        killer.start()
        lines = []
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if "Worker pool started" in line:
                started.set()
        started.set()
        done.set()
        killer.join()
        status = proc.wait(timeout=60)
    log = "".join(lines)
    assert unexpected_tracebacks(log) == [], log[-3000:]
    return log, killed, {str(story["title"]) for story in export(db_url)}, status


# What a surviving worker of a broken pool may print (multiprocessing's "Process-N:" report) when
# the pool's queues are closed under it before it is terminated, and what multiprocessing's
# forkserver prints when a pool's handshake with it is cut (its main loop's EOFError: a worker
# killed while its pool starts the next one; the rebuild is tried again, with a new
# forkserver): the crawl process goes on.
TORN_QUEUE_ERRORS = ("EOFError", "BrokenPipeError", "ConnectionResetError", "OSError")
FORKSERVER_MAIN = re.compile(r'multiprocessing/forkserver\.py", line \d+, in main\n')
# A log record of the crawl process, written between the lines of another process's traceback.
LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")


def unexpected_tracebacks(log: str) -> list[str]:
    """The tracebacks of the log, but those of pool workers whose queue was torn down."""
    found = []
    for block in re.split(r"(?m)^(?=Traceback \(most recent call last\):$)", log)[1:]:
        lines = block.splitlines()
        error = next((line for line in lines[1:] if not line.startswith((" ", "Traceback"))
                      and not LOG_RECORD.match(line)), "")
        start = log.index(block)
        from_worker = re.search(r"Process-\d+:\n$", log[max(0, start - 40):start]) is not None
        from_forkserver = FORKSERVER_MAIN.search(block) is not None and error == "EOFError"
        if not ((from_worker and error.startswith(TORN_QUEUE_ERRORS)) or from_forkserver):
            found.append(block[:600])
    return found


def pages_lost(log: str) -> int:
    """The crawl's news/pool/pages_lost stat."""
    found = re.search(r"'news/pool/pages_lost': (\d+)", log)
    assert found, log[-3000:]
    return int(found.group(1))


def test_workers_killed_again_and_again_lose_no_page(tmp_path: Path) -> None:
    log, killed, titles, status = crawl_with_killer(tmp_path, ARTICLES, KILLS, alone=False)
    assert status == EXIT_OK, log[-3000:]
    assert len(killed) == KILLS, log[-3000:]
    assert log.count("Worker pool broke (BrokenProcessPool") >= 2
    assert pages_lost(log) == 0
    assert len(titles) == ARTICLES


def test_pages_whose_lone_worker_dies_are_counted_lost(tmp_path: Path) -> None:
    """Every worker killed at birth, the lone ones too: what is not stored is counted lost,
    and the run is degraded (exit 3)."""
    articles = 12
    log, _, titles, status = crawl_with_killer(tmp_path, articles, kills=10_000, alone=True)
    lost = pages_lost(log)
    assert lost >= 1
    assert status == EXIT_DEGRADED, log[-3000:]
    assert f"{lost} pages dropped (worker crashes, failed writes)" in log
    assert lost + len(titles) == articles
    assert log.count("the worker processing it alone died") == lost
