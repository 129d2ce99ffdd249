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

# --- Discovery limits (crawler/feeds.py, crawler/robots.py) --------------------------------
# Download size limit of sitemaps and feeds (the sitemap protocol's 50 MB; unpacked gzip too).
NEWS_DISCOVERY_MAXSIZE = 50 * 1024 * 1024
# Page URLs a source may discover in one run (sitemaps, feeds and links together); a warning
# is logged when a source reaches it.
NEWS_MAX_URLS_PER_SOURCE = 100_000
# robots.txt: how much of it is read (RFC 9309 asks for at least 500 KiB).
NEWS_ROBOTS_MAX_BYTES = 500 * 1024
# robots.txt that answers 5xx or not at all: the host's requests are held (RFC 9309: disallow
# until it answers) and it is fetched again every NEWS_ROBOTS_RETRY_SECONDS, up to
# NEWS_ROBOTS_RETRY_TIMES more times; requests still held when the run ends are counted in
# news/robots/held_unfetched. A host that stays down keeps the run open about a minute.
NEWS_ROBOTS_RETRY_SECONDS = 30.0
NEWS_ROBOTS_RETRY_TIMES = 2
# Skip sitemap and feed entries (and indexed sitemaps) whose lastmod / publication date is
# before the start of the source's last run that finished normally (crawl_runs).
NEWS_SKIP_OLD_ENTRIES = True

# --- Politeness (docs/politeness.md) ---------------------------------------------------------
# The contract, per host (a download slot): consecutive requests start at least its delay
# apart as the host sees them, never more open than its cap, robots.txt obeyed. A source's
# options.download_delay / options.concurrency become its hosts' DOWNLOAD_SLOTS entries.
USER_AGENT = "newsagg/0.1 (+https://github.com/newsagg/newsagg; news archiving crawler)"
ROBOTSTXT_OBEY = True
# Requests open at the network at once, all hosts together (enforced by the gate below).
NEWS_MAX_OPEN_REQUESTS = 16
# Requests inside Scrapy's downloader at once, those waiting for their host's delay included:
# room for every busy host's next request, so a host that waits holds no place of the 16.
CONCURRENT_REQUESTS = 64
# The per-host cap on open requests.
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# A host gets no more requests into the downloader than its cap plus this many (middlewares
# included), so the first hosts found do not take the places of the next ones
# (crawler.lookahead.HostBoundedPriorityQueue; the Redis frontier has its own queue).
SCHEDULER_PRIORITY_QUEUE = "crawler.lookahead.HostBoundedPriorityQueue"
NEWS_HOST_LOOKAHEAD = 2
# The per-host delay floor, in seconds between the starts of two requests.
DOWNLOAD_DELAY = 0.25
# No random variation: Scrapy's jitter (0.5: 0.5-1.5 x the delay) draws gaps below the delay.
DOWNLOAD_DELAY_JITTER = 0.0
# AutoThrottle lengthens a slow host's delay (latency / target concurrency), never below
# the host's own floor (crawler.politeness.SlotPacing). A new host starts at its floor.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.25
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
# HTTP(S) downloads pass crawler.politeness.PoliteDownloadHandler's per-host gate, which
# holds the delay and cap where a request leaves (not where it leaves Scrapy's queue) ...
DOWNLOAD_HANDLERS = {
    "http": "crawler.politeness.PoliteDownloadHandler",
    "https": "crawler.politeness.PoliteDownloadHandler",
}
# ... around this handler.
NEWS_POLITE_DOWNLOAD_HANDLER = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"
# Seconds the gate adds to every delay, for transit times that vary between two requests
# (on loopback they do not: 0 short gaps with 2 ms, docs/politeness.md).
NEWS_POLITENESS_MARGIN = 0.002
# Requests wait before their host's queue while the responses waiting in the scraper for
# their callbacks and items (extraction) reach this many bytes (Scrapy counts each as at
# least 1 KB): fetching slows with extraction, one page out lets one request in
# (crawler.pacing.ExtractionBackpressure). 0: off.
NEWS_EXTRACTION_BACKLOG_BYTES = 4_000_000
# Scrapy's own bound (its default), kept above ours: reaching it stops fetching outright.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 5_000_000
# Seconds between "pacing:" log lines (pages/s, time held for extraction, CPU, "cpu-bound"
# when extraction set the pace). 0: off.
NEWS_PACING_INTERVAL = 10.0
# --- end of politeness ------------------------------------------------------------------------
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
# (processes share sources on purpose). The environment variable NEWS_LOCK_DIR, else
# data/locks in the project folder (whatever the working directory).
NEWS_LOCK_DIR = os.environ.get("NEWS_LOCK_DIR",
                               str(Path(__file__).resolve().parents[1] / "data" / "locks"))
# Write one crawl_runs row per run and source when it starts, completed at spider close.
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
# A run whose failed requests exceed this share of all its requests is degraded (exit 3), once
# at least NEWS_HEALTH_MIN_ERRORS requests failed: 3 failures in 4 requests (a small site, or
# one process's share of a shared Redis frontier) say little about a source. A run that
# fetched nothing is failed (exit 1) whatever the count.
NEWS_HEALTH_MAX_ERROR_RATE = 0.5
NEWS_HEALTH_MIN_ERRORS = 5
# Spidermon judges each run at close (crawler/monitors.py): `scrapy crawl` exits 1 when the
# run failed (did not finish, fetched nothing, every write failed, run records not written),
# 4 when SIGTERM or SIGINT stopped it cleanly (interrupted: the next run with the same JOBDIR
# resumes it) and 3 when it is degraded (error rate, dropped pages, a source degraded next to
# its history).
SPIDERMON_ENABLED = True
SPIDERMON_SPIDER_CLOSE_MONITORS = ["crawler.monitors.FailedSuite",
                                   "crawler.monitors.InterruptedSuite",
                                   "crawler.monitors.DegradedSuite"]
# Distributed crawling: set REDIS_URL (e.g. redis://host:6379/0) and every crawler process
# shares one request queue and one set of request fingerprints in Redis (crawler/distributed.py).
# The frontier's keys are named by NEWS_REDIS_FRONTIER (empty: the spider's name and today's UTC
# date); give each scheduled run its own name, e.g. news-2026112406. Empty: local scheduler.
REDIS_URL = ""
NEWS_REDIS_FRONTIER = ""
# A request handed to a process is leased to it for this long, renewed while the process
# holds it (until its pages are stored or dropped); a lease that expires (the process died)
# puts the request back in the queue for the other processes.
NEWS_REDIS_LEASE_SECONDS = 300.0
# A process closes once the shared frontier has been empty (nothing queued or leased) this long.
NEWS_REDIS_IDLE_SECONDS = 5.0

# --- Components ----------------------------------------------------------------------------
# Resolves names in Twisted's thread pool (never on the reactor), caches them, and never hands
# a private address to the connection of an origin no source configures, unless
# ALLOW_PRIVATE_NETWORKS is True (crawler/resolver.py).
TWISTED_DNS_RESOLVER = "crawler.resolver.GuardedResolver"
# Last on the spider output's way: the article requests of one callback looked up together.
SPIDER_MIDDLEWARES = {"crawler.incremental.IncrementalLookahead": 10}
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.robots.SharedRobotsTxtMiddleware": 100,
    "crawler.incremental.IncrementalCrawlMiddleware": 540,
    "crawler.middlewares.PrivateNetworkGuardMiddleware": 560,
    "crawler.pacing.ExtractionBackpressure": 950,
}
# Scrapy's dupefilter plus a journal of stored articles, so `-s JOBDIR=DIR` resumes even
# after a SIGKILL (crawler/jobdir.py). With REDIS_URL the Redis frontier dedups instead.
DUPEFILTER_CLASS = "crawler.jobdir.ResumableDupeFilter"
EXTENSIONS = {
    "crawler.gc_tuning.GarbageCollectorTuning": 50,
    "crawler.resolver.TrustConfiguredOrigins": 60,
    "crawler.politeness.SlotPacing": 65,
    "crawler.pacing.PacingLog": 70,
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
# Added to the workers' niceness: when the CPU is short, the crawl process, which times every
# request to every host, runs before extraction (docs/politeness.md). 0: the crawl's own.
NEWS_WORKERS_NICE = 10

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
