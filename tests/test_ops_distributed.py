"""Distributed crawling: crawler processes share one Redis frontier and one database.

Real redis-server, real PostgreSQL, real `scrapy crawl` processes, a real SIGKILL. The page
server holds a chosen page's response until the test releases it, so each test acts when a
process is known to be waiting on that page (events, not timing).
"""

from __future__ import annotations

import contextlib
import http.server
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import redis

from tests.crawling import FAST, REPO_ROOT, export, log_size, requests_since
from tests.servers import new_postgres_database
from tests.sites.faults_pages import generated_article
from tests.sites.server import SampleSites
from tests.test_ops_crawl import STORIES, crawl_command

SLUGS = [f"district-news-story-{n}-of-the-day" for n in range(6)]
WAIT = 120


def test_two_processes_share_one_frontier(sample_sites: SampleSites, postgres_url: str,
                                          redis_url: str) -> None:
    db_url = new_postgres_database(postgres_url)
    argv = crawl_command(sample_sites, db_url, "-s", f"REDIS_URL={redis_url}",
                         "-s", "NEWS_REDIS_FRONTIER=test-run-1")
    offset = log_size(sample_sites)
    procs = [subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    verdicts = [[line for line in e.splitlines() if "Run " in line or "looks degraded" in line]
                for e in errors]
    assert [p.returncode for p in procs] == [0, 0], (verdicts, [e[-2000:] for e in errors])
    assert all("Sharing the frontier newsagg:test-run-1:queue" in e for e in errors)
    # Each process's robots.txt middleware fetches robots.txt for itself, outside the frontier,
    # and each process follows a credit to its original itself (docs/operations.md): the
    # credited publisher's pages at most once per process, every other page once.
    fetched = Counter(tuple(line.split()[1:4]) for line in requests_since(sample_sites, offset)
                      if " /robots.txt " not in line)
    assert fetched, "the crawlers fetched nothing"
    repeated = {r: n for r, n in fetched.items() if n > 1}
    assert all(site == "daidoanket" and n <= len(procs)
               for (site, _, _), n in repeated.items()), repeated
    stories = export(db_url)
    titles = Counter(s["title"] for s in stories)
    assert len(stories) == STORIES, titles
    assert set(titles.values()) == {1}
    client = redis.Redis.from_url(redis_url)
    assert client.scard("newsagg:test-run-1:dupefilter") > len(fetched) // 2
    assert client.zcard("newsagg:test-run-1:queue") == 0
    assert client.zcard("newsagg:test-run-1:leases") == 0


class HeldPages(http.server.BaseHTTPRequestHandler):
    """Serves PAGES; a path in HELD answers only once its release event is set; robots.txt
    answers 503 until ROBOTS_ANSWER is set."""

    pages: dict[str, str] = {}
    held: dict[str, tuple[threading.Event, threading.Event]] = {}  # arrived, released
    hits: list[str] = []
    agents: dict[str, threading.Event] = {}  # set when that User-Agent asks for an article
    robots_answer = threading.Event()

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits.append(self.path)
        agent = self.headers.get("User-Agent", "")
        if self.path.startswith("/news/") and agent in self.agents:
            self.agents[agent].set()
        if self.path == "/robots.txt" and not self.robots_answer.is_set():
            self.send_error(503)
            return
        if self.path in self.held:
            arrived, released = self.held[self.path]
            arrived.set()
            released.wait(WAIT)
        body = self.pages.get(self.path)
        data = (body or "").encode("utf-8")
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):  # a killed crawler's connection is gone
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@contextlib.contextmanager
def held_site(*held_paths: str, robots_down: bool = False, pages: dict[str, str] | None = None,
              host: str = "127.0.0.1") -> Iterator[tuple[str, type[HeldPages]]]:
    """A news site on HOST (loopback): "/" links SLUGS' articles, or PAGES; each of HELD_PATHS
    waits for its release event; an article asked for by User-Agent "b" sets agents["b"].
    ROBOTS_DOWN: robots.txt answers 503 until robots_answer is set, then allows everything
    (else 404)."""
    if pages is None:
        pages = {"/": "<html><body>" + "".join(f"<a href='/news/{s}.html'>{s}</a>"
                                               for s in SLUGS) + "</body></html>"}
        pages.update({f"/news/{slug}.html": generated_article(slug) for slug in SLUGS})
    robots_answer = threading.Event()
    if robots_down:
        pages["/robots.txt"] = "User-agent: *\nDisallow:\n"
    else:
        robots_answer.set()
    handler = type("Handler", (HeldPages,), {
        "pages": pages, "hits": [], "agents": {"b": threading.Event()},
        "robots_answer": robots_answer,
        "held": {path: (threading.Event(), threading.Event()) for path in held_paths}})
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", handler
    finally:
        for _, released in handler.held.values():
            released.set()
        server.shutdown()
        server.server_close()


def crawler(site: str, db_url: str, redis_url: str, frontier: str, log: Path | None,
            *args: str, paths: tuple[str, ...] = ("/",)) -> subprocess.Popen[str]:
    """A `scrapy crawl` process on the shared frontier, starting from the site's PATHS;
    stderr to LOG, else to a pipe."""
    start_urls = ",".join(site + path for path in paths)
    argv = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"start_urls={start_urls}",
            "-s", f"DATABASE_URL={db_url}", "-s", "ALLOW_PRIVATE_NETWORKS=True",
            "-s", f"REDIS_URL={redis_url}", "-s", f"NEWS_REDIS_FRONTIER={frontier}",
            "-s", "NEWS_STORE_BATCH_SIZE=1", *FAST, *args]
    stderr = log.open("w") if log is not None else subprocess.PIPE
    return subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=stderr,
                            text=True)


def read_until(proc: subprocess.Popen[str], text: str, lines: list[str]) -> bool:
    """Read a process's stderr into LINES until a line holds TEXT; False at its end."""
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)
        if text in line:
            return True
    return False


def test_an_idle_process_waits_for_work_leased_elsewhere(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    """B starts while A downloads the only page (the frontier's queue is empty): B waits.
    Once "/" is released, A (one request at a time) blocks on a held article and B takes the
    others from the queue; the articles are released once B asks for one."""
    db_url = new_postgres_database(postgres_url)
    articles = [f"/news/{slug}.html" for slug in SLUGS]
    with held_site("/", *articles) as (site, handler):
        arrived, index_released = handler.held["/"]
        first = crawler(site, db_url, redis_url, "idle-run", tmp_path / "a.log",
                        "-s", "USER_AGENT=a", "-s", "CONCURRENT_REQUESTS=1")
        assert arrived.wait(WAIT)
        second = crawler(site, db_url, redis_url, "idle-run", None, "-s", "USER_AGENT=b")
        lines: list[str] = []
        assert read_until(second, "Waiting for work", lines), "".join(lines)[-3000:]
        index_released.set()
        assert handler.agents["b"].wait(WAIT)
        for article in articles:
            handler.held[article][1].set()
        second_log = "".join(lines) + second.communicate(timeout=300)[1]
        assert first.wait(timeout=300) == 0
        assert second.returncode == 0, second_log[-3000:]
    dequeued = [line for line in second_log.splitlines() if "'scheduler/dequeued/redis'" in line]
    assert dequeued, second_log[-3000:]
    assert int(dequeued[0].split(":")[-1].strip(" ,")) >= 1
    assert len(export(db_url)) == len(SLUGS)


def test_requests_leased_to_a_killed_process_go_back_to_the_queue(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    """A is SIGKILLed while it downloads an article; its lease expires and B fetches it."""
    db_url = new_postgres_database(postgres_url)
    held = f"/news/{SLUGS[3]}.html"
    lease = ("-s", "NEWS_REDIS_LEASE_SECONDS=2")
    with held_site(held) as (site, handler):
        arrived, released = handler.held[held]
        first = crawler(site, db_url, redis_url, "kill-run", tmp_path / "a.log", *lease)
        assert arrived.wait(WAIT)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
        released.set()
        hits_before = Counter(handler.hits)[held]
        second = crawler(site, db_url, redis_url, "kill-run", tmp_path / "b.log", *lease)
        assert second.wait(timeout=300) == 0, (tmp_path / "b.log").read_text()[-3000:]
    assert hits_before == 1
    assert Counter(handler.hits)[held] == 2  # fetched again, by B
    assert {f"/news/{slug}.html" for slug in SLUGS} <= set(handler.hits)
    log = (tmp_path / "b.log").read_text()
    assert "Waiting for work" in log or "'scheduler/dequeued/redis'" in log
    assert any(s["title"] == generated_title(SLUGS[3]) for s in export(db_url))
    client = redis.Redis.from_url(redis_url)
    assert client.zcard("newsagg:kill-run:leases") == 0


def generated_title(slug: str) -> str:
    """The title generated_article gives a slug's story."""
    from tests.sites.faults_pages import story_title

    return story_title(slug)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll Redis or database state until CONDITION holds; fail after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def test_pages_fetched_but_not_stored_by_a_killed_process_go_back_to_the_queue(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    """A fetches every article and keeps them in its store's buffer (a batch of 1,000, its
    timer an hour away); their leases stay held (renewed) until they are stored. A is
    SIGKILLed then: no story is stored. The leases expire, B fetches the articles again and
    stores every one."""
    db_url = new_postgres_database(postgres_url)
    client = redis.Redis.from_url(redis_url)
    queue, leases = "newsagg:unstored-run:queue", "newsagg:unstored-run:leases"
    articles = {f"/news/{slug}.html" for slug in SLUGS}
    with held_site() as (site, handler):
        first = crawler(site, db_url, redis_url, "unstored-run", tmp_path / "a.log",
                        "-s", "NEWS_STORE_BATCH_SIZE=1000", "-s", "NEWS_STORE_BATCH_SECONDS=3600",
                        "-s", "NEWS_REDIS_LEASE_SECONDS=3", "-s", "NEWS_REDIS_IDLE_SECONDS=600")
        def holding() -> bool:
            assert first.poll() is None, (tmp_path / "a.log").read_text()[-3000:]
            return (articles <= set(handler.hits) and client.zcard(queue) == 0
                    and client.zcard(leases) == len(SLUGS))

        wait_for(holding, "A fetched every article and holds their leases")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
        assert export(db_url) == []
        assert client.zcard(leases) == len(SLUGS)
        second = crawler(site, db_url, redis_url, "unstored-run", tmp_path / "b.log",
                         "-s", "NEWS_REDIS_LEASE_SECONDS=3")
        assert second.wait(timeout=300) == 0, (tmp_path / "b.log").read_text()[-3000:]
    hits = Counter(handler.hits)
    assert {article: hits[article] for article in articles} == dict.fromkeys(articles, 2)
    titles = Counter(s["title"] for s in export(db_url))
    assert titles == Counter(generated_title(slug) for slug in SLUGS)
    assert client.zcard(leases) == 0
    assert client.zcard(queue) == 0


def test_requests_held_for_robots_txt_by_a_killed_process_go_back_to_the_queue(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    """A starts from 6 articles on a host whose robots.txt answers 503: A holds the articles
    and its own robots.txt request (fetching robots.txt again every 0.2 s) and keeps their 7
    leases (renewed) past their first deadline. A is SIGKILLed; robots.txt then answers. The
    leases expire, B takes the requests, and fetches and stores every article once."""
    db_url = new_postgres_database(postgres_url)
    client = redis.Redis.from_url(redis_url)
    queue, leases = "newsagg:robots-run:queue", "newsagg:robots-run:leases"
    articles = tuple(f"/news/{slug}.html" for slug in SLUGS)
    held = len(articles) + 1
    lease = ("-s", "NEWS_REDIS_LEASE_SECONDS=2")
    with held_site(robots_down=True) as (site, handler):
        first = crawler(site, db_url, redis_url, "robots-run", tmp_path / "a.log", *lease,
                        "-s", "NEWS_ROBOTS_RETRY_SECONDS=0.2",
                        "-s", "NEWS_ROBOTS_RETRY_TIMES=100000", paths=articles)
        first_due: list[float] = []

        def holding() -> bool:
            assert first.poll() is None, (tmp_path / "a.log").read_text()[-3000:]
            deadlines = [due for _, due in client.zrange(leases, 0, -1, withscores=True)]
            if len(deadlines) != held or client.zcard(queue):
                return False
            first_due.append(max(deadlines))
            return time.time() > first_due[0] and min(deadlines) > time.time()

        wait_for(holding, "A holds 7 leases past their first deadline")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
        robots_fetches = Counter(handler.hits)["/robots.txt"]
        assert not set(articles) & set(handler.hits)
        assert client.zcard(leases) == held
        handler.robots_answer.set()
        second = crawler(site, db_url, redis_url, "robots-run", tmp_path / "b.log", *lease,
                         paths=articles)
        assert second.wait(timeout=300) == 0, (tmp_path / "b.log").read_text()[-3000:]
    assert robots_fetches > 3  # the first fetch, retried twice (RETRY_TIMES), then again
    hits = Counter(handler.hits)
    assert {article: hits[article] for article in articles} == dict.fromkeys(articles, 1)
    titles = Counter(s["title"] for s in export(db_url))
    assert titles == Counter(generated_title(slug) for slug in SLUGS)
    assert client.zcard(leases) == 0
    assert client.zcard(queue) == 0


def stored_urls(db_url: str) -> set[str]:
    """Every URL stored in the database (none before the crawl created the tables)."""
    conninfo = db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        try:
            return {url for (url,) in conn.execute("SELECT url FROM story_urls")}
        except psycopg.errors.UndefinedTable:
            return set()


def test_copies_waiting_for_their_original_in_a_killed_process_are_stored_by_another(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Two aggregator copies on one site credit one original on another host, which answers
    only once released. A fetches both copies: one asks for the original, the other waits for
    it in A's memory; each copy links a page of its own, stored by A once the copy's callback
    is done. A is SIGKILLed then. The copies' pages stay leased until the copies are stored,
    so their leases expire and B fetches them again, follows the credit itself and stores
    the story once, at the original's URL and both copies' (before, the waiting copy's lease
    ended with its callback: the story lacked one copy's URL)."""
    db_url = new_postgres_database(postgres_url)
    client = redis.Redis.from_url(redis_url)
    queue, leases = "newsagg:credit-run:queue", "newsagg:credit-run:leases"
    story = "district-news-story-of-the-week"
    original = f"/news/{story}.html"
    copies = ("/news/copy-one.html", "/news/copy-two.html")
    markers = {copy: copy.replace("copy-", "after-copy-") for copy in copies}
    lease = ("-s", "NEWS_REDIS_LEASE_SECONDS=2")
    with held_site(original, pages={original: generated_article(story)},
                   host="127.0.0.2") as (origin, origin_handler):
        credit = origin + original
        pages = {"/": "<html><body>" + "".join(f"<a href='{c}'>{c}</a>" for c in copies)
                      + "</body></html>"}
        for copy, marker in markers.items():
            pages[copy] = generated_article(story, credit=credit).replace(
                "</main>", f"</main><footer><a href='{marker}'>{marker}</a></footer>")
            pages[marker] = generated_article(Path(marker).stem)
        arrived, released = origin_handler.held[original]
        with held_site(pages=pages) as (site, handler):
            first = crawler(site, db_url, redis_url, "credit-run", tmp_path / "a.log", *lease)

            def waiting() -> bool:
                assert first.poll() is None, (tmp_path / "a.log").read_text()[-3000:]
                return {site + m for m in markers.values()} <= stored_urls(db_url)

            # Each marker is linked after its copy's credit: stored, its copy's callback is done.
            wait_for(waiting, "A stored both copies' linked pages")
            assert arrived.is_set()
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=60)
            released.set()
            assert not {site + c for c in copies} & stored_urls(db_url)
            second = crawler(site, db_url, redis_url, "credit-run", tmp_path / "b.log", *lease)
            assert second.wait(timeout=300) == 0, (tmp_path / "b.log").read_text()[-3000:]
    stories = {s["title"]: s for s in export(db_url)}
    urls = {u["url"] for u in stories[generated_title(story)]["urls"]}
    assert urls == {credit, *(site + c for c in copies)}, urls
    assert stories[generated_title(story)]["original_url"] == credit
    assert len(stories) == 1 + len(markers)
    hits = Counter(handler.hits)
    # The copies were fetched but not stored by A: B fetches them again, and the original
    # once more (once per process that follows the credit); every other page once.
    assert {c: hits[c] for c in copies} == dict.fromkeys(copies, 2)
    assert Counter(origin_handler.hits)[original] == 2
    assert hits["/"] == 1
    assert all(hits[m] == 1 for m in markers.values())
    assert client.zcard(leases) == 0
    assert client.zcard(queue) == 0
