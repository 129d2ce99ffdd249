"""Scrapy settings for newsagg. Every NEWS_* setting's default is documented here.

Override any of them with `-s NAME=VALUE` or in a scrapyd job.
"""

from __future__ import annotations

import os
from pathlib import Path

from config import CONFIG_DIR

BOT_NAME = "newsagg"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# --- Storage -------------------------------------------------------------------------------
# SQLite or PostgreSQL (`postgresql+psycopg://`, `postgresql://` and `postgres://` all mean
# psycopg): the environment variable DATABASE_URL, else data/newsagg.db in the project folder
# (the folder holding crawler/, whatever the working directory). A SQLite file in a folder
# that does not exist is refused (only the default's folder is created).
DEFAULT_DATABASE_URL = f"sqlite:///{Path(__file__).resolve().parents[1] / 'data' / 'newsagg.db'}"
DATABASE_URL = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL

# --- Discovery -----------------------------------------------------------------------------
# The sources crawled when no -a start_urls is given: the environment variable
# NEWS_SOURCES_FILE (a deployment's own file, see deploy/), else config/sources.yaml.
NEWS_SOURCES_FILE = os.environ.get("NEWS_SOURCES_FILE") or str(CONFIG_DIR / "sources.yaml")
# In-site link depth from a start page (a source's `options.depth_limit` overrides it).
NEWS_DEPTH_LIMIT = 3
# Follow an aggregator's credited original ("Source link", "Nguồn:", canonical...) one hop.
NEWS_FOLLOW_CREDITS = True
# When True, links found on pages may lead to loopback and private addresses.
ALLOW_PRIVATE_NETWORKS = False

# --- Politeness ----------------------------------------------------------------------------
USER_AGENT = "newsagg/0.1 (+https://github.com/newsagg/newsagg; news archiving crawler)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.25
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOAD_TIMEOUT = 30.0
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 10
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy's RemoteControl extension (an HTTP endpoint that runs code inside the crawl) is off;
# an operator who wants it sets REMOTE_CONTROL_ENABLED=True.
REMOTE_CONTROL_ENABLED = False

# --- Operations (docs/operations.md) ------------------------------------------------------
# Per-source lock files, taken before the crawl loads anything: a second run of a source that
# is still running exits at once (one line, exit 1). On PostgreSQL a database advisory lock
# per source does the same across machines. Empty: neither lock. Both off with REDIS_URL
# (processes share sources on purpose).
NEWS_LOCK_DIR = "data/locks"
# Write one crawl_runs row per run and source at spider close.
NEWS_RUNS_ENABLED = True
# Health: a run is marked degraded when its story count or a field's fill rate falls below
# NEWS_HEALTH_DROP_RATIO times the median of the source's last NEWS_HEALTH_WINDOW healthy
# runs, once at least NEWS_HEALTH_MIN_RUNS such runs exist.
NEWS_HEALTH_WINDOW = 10
NEWS_HEALTH_DROP_RATIO = 0.5
NEWS_HEALTH_MIN_RUNS = 3
# Seconds between the progress lines (one per source: pages, stories, errors, pages/s); a
# summary table per source is logged when the crawl ends. 0: neither.
NEWS_PROGRESS_INTERVAL = 60.0
# A run whose failed requests exceed this share of all its requests is degraded (exit 3).
NEWS_HEALTH_MAX_ERROR_RATE = 0.5
# Spidermon judges each run at close (crawler/monitors.py): `scrapy crawl` exits 1 when the
# run failed (did not finish, fetched nothing, every write failed, run records not written)
# and 3 when it is degraded (error rate, dropped pages, a source degraded next to its history).
SPIDERMON_ENABLED = True
SPIDERMON_SPIDER_CLOSE_MONITORS = ["crawler.monitors.FailedSuite",
                                   "crawler.monitors.DegradedSuite"]
# Distributed crawling: set REDIS_URL (e.g. redis://host:6379/0) and every crawler process
# shares one request queue and one set of request fingerprints in Redis (scrapy-redis). The
# frontier's keys are named by NEWS_REDIS_FRONTIER (empty: the spider's name and today's UTC
# date); give each scheduled run its own name, e.g. news-2026112406. Empty: local scheduler.
REDIS_URL = ""
NEWS_REDIS_FRONTIER = ""

# --- Components ----------------------------------------------------------------------------
# Scrapy's downloader, with CONCURRENT_REQUESTS_PER_DOMAIN kept when DOWNLOAD_DELAY is 0.
DOWNLOADER = "crawler.downloader.SlotLimitDownloader"
DOWNLOADER_MIDDLEWARES = {
    "crawler.incremental.IncrementalCrawlMiddleware": 540,
    "crawler.middlewares.PrivateNetworkGuardMiddleware": 560,
    "crawler.politeness.SourceDelayMiddleware": 570,
}
# Scrapy's dupefilter plus a journal of stored articles, so `-s JOBDIR=DIR` resumes even
# after a SIGKILL (crawler/jobdir.py). Replaced by scrapy-redis's with REDIS_URL.
DUPEFILTER_CLASS = "crawler.jobdir.ResumableDupeFilter"
EXTENSIONS = {
    "crawler.collector.CollectorTuning": 50,
    "crawler.extensions.RunRecordExtension": 900,
    "crawler.progress.ProgressExtension": 920,
    "spidermon.contrib.scrapy.extensions.Spidermon": 950,
}
ITEM_PIPELINES = {
    "pipelines.pool.PoolPipeline": 100,
    "pipelines.dedup.DedupPipeline": 300,
    "pipelines.store.StorePipeline": 400,
}

# --- Language ------------------------------------------------------------------------------
# Fewer letters than this and the page's declared language is used instead of langdetect.
NEWS_LANGUAGE_MIN_CHARS = 200
# langdetect reads at most this many characters of the body: its beginning, middle and end
# (the same language as the whole text on all 109 dev pages and the sample universe).
NEWS_LANGUAGE_SAMPLE_CHARS = 600
# The seed of langdetect's random sampling: the same text always gives the same language.
NEWS_LANGUAGE_SEED = 0

# --- Dedup (see docs/dedup.md for how the defaults were measured) ------------------------
# A stored story whose estimated Jaccard similarity (MinHash over word shingles of the
# normalized body) is at least this is the same story.
NEWS_DEDUP_THRESHOLD = 0.5
# Words per shingle.
NEWS_DEDUP_SHINGLE_SIZE = 3
# MinHash permutations (signature length: 4 bytes each in stories.minhash).
NEWS_DEDUP_NUM_PERM = 64

# --- Incremental crawls --------------------------------------------------------------------
# Skip article pages already stored (feeds, sitemaps, start and listing pages are always fetched).
NEWS_INCREMENTAL = True
# Known article URLs are not fetched again; after this many seconds since a URL was last
# seen it is revisited with a conditional GET (ETag / Last-Modified). 0: never revisit.
NEWS_RECRAWL_INTERVAL = 0

# --- Worker pool ---------------------------------------------------------------------------
# Processes that run extraction and language detection off the reactor; None: one per core,
# 0: in the crawl's own process. When processes cannot start, pages are processed in-process.
NEWS_WORKERS: int | None = None
# A pool whose worker died is rebuilt (its pages resubmitted) this many times, then the
# crawl goes on in-process.
NEWS_WORKERS_MAX_RESTARTS = 3

# --- Store ---------------------------------------------------------------------------------
# Stories are written in one transaction per batch of this many, or at least this often.
NEWS_STORE_BATCH_SIZE = 50
NEWS_STORE_BATCH_SECONDS = 2.0

# --- Garbage collector (crawl process) -----------------------------------------------------
# Freeze the objects startup made (modules, settings, components) at spider open, so full
# collections no longer walk them.
NEWS_GC_FREEZE = True
# gc.set_threshold() values at spider open (gen0, gen1, gen2); empty: Python's own.
NEWS_GC_THRESHOLDS: list[int] = [10_000, 10, 10]

# Outputs of one response processed at once. A page yields at most one item, so Scrapy's
# default (100) only costs 100 asyncio tasks per response (about 1.5 ms of the crawl's CPU);
# 4 lets a page's requests pass while its item waits for the worker pool.
CONCURRENT_ITEMS = 4

# Scrapy's check for generator callbacks that return a value parses the callback's source
# (ast) again for many responses (its cache holds bound methods weakly, as they come and go);
# this spider's callbacks return none.
WARN_ON_GENERATOR_RETURN_VALUE = False

REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
