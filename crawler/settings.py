"""Scrapy settings for newsagg. Every NEWS_* setting's default is documented here.

Override any of them with `-s NAME=VALUE` or in a scrapyd job.
"""

from __future__ import annotations

from config import CONFIG_DIR
from storage.settings import database_url_from_env

BOT_NAME = "newsagg"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# --- Storage -------------------------------------------------------------------------------
# Any SQLAlchemy URL; the environment variable DATABASE_URL, else a SQLite file under data/.
DATABASE_URL = database_url_from_env()

# --- Discovery -----------------------------------------------------------------------------
# The sources crawled when no -a start_urls is given.
NEWS_SOURCES_FILE = str(CONFIG_DIR / "sources.yaml")
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
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 10
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

# --- Components ----------------------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.PrivateNetworkGuardMiddleware": 560,
}
ITEM_PIPELINES = {
    "pipelines.pool.PoolPipeline": 100,
    "pipelines.dedup.DedupPipeline": 300,
    "pipelines.store.StorePipeline": 400,
}

# --- Language ------------------------------------------------------------------------------
# Fewer letters than this and the page's declared language is used instead of langdetect.
NEWS_LANGUAGE_MIN_CHARS = 200
# langdetect reads at most this many characters of the body (a bounded sample is as accurate).
NEWS_LANGUAGE_SAMPLE_CHARS = 1200
# The seed of langdetect's random sampling: the same text always gives the same language.
NEWS_LANGUAGE_SEED = 0

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

REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
