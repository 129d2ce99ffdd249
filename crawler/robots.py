"""robots.txt fetched once per host, read as RFC 9309 says, shared with sitemap discovery.

Scrapy's RobotsTxtMiddleware fetches a host's robots.txt when the host's first request comes
and parses it with the ROBOTSTXT_PARSER backend; the spider would fetch it a second time for
its `Sitemap:` lines. This subclass keeps the one response per host and answers the spider's
own robots.txt request (meta ROBOTS_REQUEST) with it, and reads the status as RFC 9309 asks:
a 2xx body is parsed (its first NEWS_ROBOTS_MAX_BYTES), any other answer (4xx, or redirects
that end elsewhere) allows everything, a 5xx or a failed fetch (timeout, refused connection)
disallows everything for the run.
"""

from __future__ import annotations

import asyncio
import logging

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler, load_object

logger = logging.getLogger(__name__)

# Request.meta key the spider sets on its own robots.txt requests (answered from the cache).
ROBOTS_REQUEST = "news_robots"
DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


def robots_body(status: int | None, body: bytes, max_bytes: int) -> bytes:
    """The rules to parse for a robots.txt answer (RFC 9309, section 2.3.1).

    STATUS None: the fetch failed (unreachable). 2xx: the body, cut at MAX_BYTES;
    5xx or unreachable: disallow all; any other status: no rules (allow all).
    """
    if status is None or status >= 500:
        return DISALLOW_ALL
    if 200 <= status < 300:
        return body[:max_bytes]
    return b""


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """One robots.txt fetch per host for the robots middleware and the spider alike."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_bytes = crawler.settings.getint("NEWS_ROBOTS_MAX_BYTES")
        self.parser_class = load_object(crawler.settings.get("ROBOTSTXT_PARSER"))
        self.fetches: dict[str, asyncio.Future[Response | None]] = {}
        self.parsers: dict[str, asyncio.Future[RobotParser | None]] = {}

    async def process_request(self, request: Request) -> Response | None:  # type: ignore[override]
        """Answer the spider's robots.txt request from the shared fetch; else obey robots.txt."""
        if request.meta.get(ROBOTS_REQUEST):
            response = await self.robots_response(request)
            if response is None:
                raise IgnoreRequest(f"robots.txt of {urlparse_cached(request).netloc} "
                                    "could not be fetched")
            return response.replace(request=request)
        await super().process_request(request)
        return None

    async def robots_response(self, request: Request) -> Response | None:
        """The response to the robots.txt of the request's host, fetched once; None if failed."""
        parts = urlparse_cached(request)
        future = self.fetches.get(parts.netloc)
        if future is None:
            future = self.fetches[parts.netloc] = asyncio.get_running_loop().create_future()
            try:
                future.set_result(await self._fetch(f"{parts.scheme}://{parts.netloc}/robots.txt"))
            finally:
                if not future.done():
                    future.set_result(None)
        return await asyncio.shield(future)

    async def _fetch(self, url: str) -> Response | None:
        """Download a robots.txt (downloader middlewares only); None when it failed."""
        robots_request = Request(url, priority=self.DOWNLOAD_PRIORITY, callback=NO_CALLBACK,
                                 meta={"dont_obey_robotstxt": True})
        assert self.crawler.engine is not None
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("robotstxt/request_count")
        try:
            response = await self.crawler.engine.download_async(robots_request)
        except IgnoreRequest:
            return None
        except Exception as exc:  # noqa: BLE001 - any download failure means "unreachable"
            logger.warning("robots.txt %s unreachable (%s: %s): disallowing the host for "
                           "this run", url, type(exc).__name__, exc)
            self.crawler.stats.inc_value(f"robotstxt/exception_count/{type(exc).__name__}")
            self.crawler.stats.inc_value("news/robots/unreachable")
            return Response(url, status=599, request=robots_request)
        self.crawler.stats.inc_value("robotstxt/response_count")
        self.crawler.stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        if len(response.body) > self.max_bytes:
            response = response.replace(body=response.body[:self.max_bytes])
        return response

    async def robot_parser(self, request: Request) -> RobotParser | None:
        """The parser of the request's host, built once from the shared robots.txt response."""
        netloc = urlparse_cached(request).netloc
        future = self.parsers.get(netloc)
        if future is None:
            future = self.parsers[netloc] = asyncio.get_running_loop().create_future()
            response = await self.robots_response(request)
            future.set_result(await self._parser(response, request))
        return await asyncio.shield(future)

    async def _parser(self, response: Response | None, request: Request) -> RobotParser | None:
        """The ROBOTSTXT_PARSER backend over the rules RFC 9309 gives the response."""
        if response is None:
            return None
        if response.status >= 500:
            logger.warning("robots.txt %s answered %d: disallowing the host for this run",
                           response.url, response.status)
        parser = build_from_crawler(self.parser_class, self.crawler,
                                    robots_body(response.status, response.body, self.max_bytes))
        await self.crawler.signals.send_catch_log_async(
            signal=signals.robots_parsed, robotparser=parser, request=request)
        return parser
