"""Worker pool stage: a page's CPU work runs in worker processes while the reactor fetches."""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from pipelines.items import PageItem
from pipelines.work import LanguageOptions, process_page, warm_up

logger = logging.getLogger(__name__)

T = TypeVar("T")
IN_FLIGHT_PER_WORKER = 8
START_TIMEOUT_S = 120.0
TEARDOWN_TIMEOUT_S = 10.0
REBUILD_ATTEMPTS = 4
# Pause before the next rebuild attempt, doubled each time (0.25, 0.5, 1 s): a forkserver that
# died as a rebuild failed is restarted only once its process has ended, and until then a new
# pool's connection to it is refused.
REBUILD_BACKOFF_S = 0.25
MAX_BREAKS_PER_JOB = 2
# Stats key: pages dropped because their worker died under them even when run alone (the
# run is degraded when it is above 0).
PAGES_LOST = "news/pool/pages_lost"
PRELOAD = ["pipelines.work"]


def available_cores() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _exit_with_crawl() -> None:
    """End the worker once the crawl process is gone (killed outright): no orphans."""
    crawl = multiprocessing.parent_process()
    if crawl is not None:
        crawl.join()
        os._exit(0)


def init_worker(nice: int, warm: Callable[..., None], *args: Any) -> None:
    """Leave Ctrl-C to the crawl (it drains the pool), die with it, yield the CPU to it
    (NICE added to the worker's niceness), and warm up.

    What is loaded by then (langdetect's profiles: 130,000 objects) lives as long as the
    worker: frozen out of the garbage collector's sight, it is not traversed again by full
    collections (0.1 ms per page on the bench site).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice:
        os.nice(nice)
    threading.Thread(target=_exit_with_crawl, daemon=True).start()
    warm(*args)
    gc.freeze()


def _context() -> multiprocessing.context.BaseContext:
    """forkserver where available (no fork of the reactor's threads), else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


class CrashedWorker(Exception):
    """A job killed the worker it ran in alone: the job itself is the cause."""


class WorkerPool:
    """Run picklable functions in worker processes, a bounded number at a time.

    A broken pool (a worker died) is rebuilt and its jobs resubmitted; when processes cannot
    start, or the pool broke too often, the work runs in this process instead.
    """

    def __init__(self, workers: int, max_restarts: int,
                 warm: Callable[..., None], warm_args: tuple[Any, ...], nice: int = 0) -> None:
        self.workers = workers
        self.max_restarts = max_restarts
        self.initargs = (nice, warm, *warm_args)
        self.restarts = 0
        self.executor: Executor | None = None
        self.ready: Future[None] | None = None
        self.slots = asyncio.Semaphore(max(1, workers) * IN_FLIGHT_PER_WORKER)
        self.alone = asyncio.Lock()
        self.rebuilding = asyncio.Lock()
        self.alone_executor: ProcessPoolExecutor | None = None

    def _new_executor(self) -> ProcessPoolExecutor:
        """A process pool whose workers run init_worker first."""
        return ProcessPoolExecutor(self.workers, mp_context=_context(),
                                   initializer=init_worker, initargs=self.initargs)

    def _start_workers(self, executor: ProcessPoolExecutor) -> list[Future[int]]:
        """Start all the pool's workers now: one for each of its first jobs (a pid query each,
        returned), until it has them all, so that no later submit starts one.

        A submit that starts a worker races the pool's own handling of a dead worker (it may
        find the pool's pipes closed, and a worker started then is never ended by the pool).
        """
        return [executor.submit(os.getpid) for _ in range(self.workers)]

    def start(self) -> None:
        """Start every worker now (blocking), or fall back to in-process work."""
        if self.workers <= 0:
            logger.info("Worker pool off (NEWS_WORKERS=0): pages are processed in-process")
            return
        executor: ProcessPoolExecutor | None = None
        try:
            executor = self._new_executor()
            for future in self._start_workers(executor):
                future.result(timeout=START_TIMEOUT_S)
        except Exception as exc:  # any failure to start means: work here
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
            logger.warning("Worker processes could not start (%s: %s): processing pages "
                           "in-process", type(exc).__name__, exc)
            return
        self.executor = executor
        logger.info("Worker pool started: %d processes", self.workers)

    def start_soon(self) -> None:
        """Start the workers in a thread while the crawl goes on; run() waits for them."""
        starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsagg-pool-start")
        self.ready = starter.submit(self.start)
        starter.shutdown(wait=False)

    async def wait_started(self) -> None:
        """Return once start_soon's start is over (at once when it was never called).

        Awaited for every page: once the start is over, no asyncio future is made for it.
        """
        if self.ready is None:
            return
        if not self.ready.done():
            await asyncio.wrap_future(self.ready)
        self.ready.result()  # what the start raised, to every caller

    async def _replace(self, broken: Executor, exc: BaseException) -> None:
        """Rebuild a broken pool (REBUILD_ATTEMPTS tries), or fall back to in-process work.

        The broken pool's teardown is waited for first: its threads close its pipes as they
        end, and a close after the new pool reused those descriptor numbers broke the new one
        (`Bad file descriptor`). A failed attempt is tried again after a pause
        (REBUILD_BACKOFF_S, doubled each time). Jobs that saw the same break wait here, then
        find the new pool.
        """
        async with self.rebuilding:
            if broken is not self.executor:
                return
            await self._shut(broken)
            self.restarts += 1
            if self.restarts > self.max_restarts:
                self.executor = None
                logger.warning("Worker pool broke %d times (%s): processing pages in-process",
                               self.restarts, type(exc).__name__)
                return
            logger.warning("Worker pool broke (%s: %s): restarting it and resubmitting its "
                           "pages", type(exc).__name__, exc)
            for attempt in range(1, REBUILD_ATTEMPTS + 1):
                executor: ProcessPoolExecutor | None = None
                try:
                    executor = self._new_executor()
                    self._start_workers(executor)
                except Exception as error:  # a worker killed at birth, a dead forkserver: again
                    if executor is not None:
                        await self._shut(executor)
                    logger.warning("Worker pool could not restart (%s: %s), attempt %d of %d",
                                   type(error).__name__, error, attempt, REBUILD_ATTEMPTS)
                    if attempt < REBUILD_ATTEMPTS:
                        await asyncio.sleep(REBUILD_BACKOFF_S * 2 ** (attempt - 1))
                    continue
                self.executor = executor
                return
            self.executor = None
            logger.warning("Worker pool could not be rebuilt: processing pages in-process")

    @staticmethod
    async def _shut(executor: Executor) -> None:
        """Shut a pool down, its pending jobs cancelled, and wait (in a thread, at most
        TEARDOWN_TIMEOUT_S) until its processes and threads are gone."""
        try:
            await asyncio.wait_for(
                asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True),
                TEARDOWN_TIMEOUT_S)
        except TimeoutError:
            logger.warning("A worker pool did not end within %.0f s: going on",
                           TEARDOWN_TIMEOUT_S)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) in a worker, or here when the pool is down; waits while the pool is full.

        A job is resubmitted to the new pool when its pool breaks (a worker died: killed, or
        crashed by any of the pages in flight); once it saw MAX_BREAKS_PER_JOB breaks, it runs
        alone in a worker of its own (run_alone), where only it can be the cause.
        """
        await self.wait_started()
        async with self.slots:
            breaks = 0
            while (executor := self.executor) is not None:
                try:
                    future = executor.submit(fn, *args)
                except Exception as exc:  # the pool broke under the submit (pipes, forkserver)
                    await self._replace(executor, exc)
                    continue
                try:
                    return await asyncio.wrap_future(future)
                except BrokenProcessPool as exc:
                    await self._replace(executor, exc)
                    breaks += 1
                    if breaks >= MAX_BREAKS_PER_JOB:
                        return await self.run_alone(fn, *args)
            return fn(*args)

    async def run_alone(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) alone in a one-worker pool of its own, one such job at a time;
        CrashedWorker when that worker dies under it. The worker is spawned by this process,
        apart from the pool's forkserver, and kept for the next such job while it lives."""
        async with self.alone:
            try:
                if self.alone_executor is None:
                    self.alone_executor = ProcessPoolExecutor(
                        1, mp_context=multiprocessing.get_context("spawn"),
                        initializer=init_worker, initargs=self.initargs)
                future = self.alone_executor.submit(fn, *args)
            except Exception as exc:  # no worker could be started for it
                logger.warning("No worker for a page that broke its pool (%s): processing it "
                               "in-process", type(exc).__name__)
                await self._close_alone()
                return fn(*args)
            try:
                return await asyncio.wrap_future(future)
            except BrokenProcessPool as exc:
                await self._close_alone()
                raise CrashedWorker(str(exc)) from exc

    async def _close_alone(self) -> None:
        """Let the one-worker pool of run_alone go, once ended (it is made again when next
        needed)."""
        executor, self.alone_executor = self.alone_executor, None
        if executor is not None:
            await self._shut(executor)

    def close(self) -> None:
        """Let the workers finish their jobs and exit, then end any stray worker.

        A worker that a broken pool started while it was being torn down (a submit racing
        the pool's own break detection) is never terminated by it and waits on a dead queue
        for ever; the broken pool's thread, joining it, would then hold up this process's
        exit. Once every pool is shut down, a worker still alive is such a stray.
        """
        executor, self.executor = self.executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        alone, self.alone_executor = self.alone_executor, None
        if alone is not None:
            alone.shutdown(wait=True)
        for stray in multiprocessing.active_children():
            logger.warning("Ending worker process %s left behind by a broken pool", stray.pid)
            stray.kill()
            stray.join()


class PoolPipeline:
    """The extract and language stages, run for each page in the worker pool."""

    def __init__(self, crawler: Crawler, workers: int, max_restarts: int,
                 options: LanguageOptions, nice: int = 0) -> None:
        self.crawler = crawler
        self.options = options
        self.pool = WorkerPool(workers, max_restarts, warm_up, (options,), nice)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PoolPipeline:
        """Build the stage from NEWS_WORKERS* and NEWS_LANGUAGE_* settings; start its workers."""
        settings = crawler.settings
        workers = settings.get("NEWS_WORKERS")
        options = LanguageOptions(
            min_letters=settings.getint("NEWS_LANGUAGE_MIN_CHARS"),
            sample_chars=settings.getint("NEWS_LANGUAGE_SAMPLE_CHARS"),
            seed=settings.getint("NEWS_LANGUAGE_SEED"),
        )
        pipeline = cls(crawler, available_cores() if workers in (None, "") else int(workers),
                       settings.getint("NEWS_WORKERS_MAX_RESTARTS"), options,
                       settings.getint("NEWS_WORKERS_NICE"))
        # The workers boot (about a second) while the crawl opens and fetches its first pages.
        pipeline.pool.start_soon()
        return pipeline

    async def close_spider(self) -> None:
        """Stop the workers once their last pages are done."""
        await self.pool.wait_started()
        restarts = self.pool.restarts
        await asyncio.to_thread(self.pool.close)
        stats = self.crawler.stats
        stats.set_value("news/pool/restarts", restarts)
        stats.set_value(PAGES_LOST, stats.get_value(PAGES_LOST, 0))

    async def process_item(self, item: PageItem) -> PageItem:
        """Extract the article and its language; drop pages that hold none."""
        stats = self.crawler.stats
        try:
            result = await self.pool.run(process_page, item.html, item.url, self.options)
        except CrashedWorker:
            stats.inc_value(PAGES_LOST)
            logger.error("Dropping %s: the worker processing it alone died", item.url)
            raise DropItem(f"worker died on {item.url}") from None
        item.html = b""
        if result.article is None:
            stats.inc_value("news/extract/not_article")
            raise DropItem(f"no article at {item.url}")
        stats.inc_value("news/extract/articles")
        stats.inc_value(f"news/language/{result.language.method or 'unknown'}")
        item.article = result.article
        item.language = result.language.code
        item.language_probability = result.language.probability
        item.language_method = result.language.method
        return item
