"""robots.txt fetched once per host, read as RFC 9309 says, shared with sitemap discovery.

Scrapy's RobotsTxtMiddleware fetches a host's robots.txt when the host's first request comes
and parses it with the ROBOTSTXT_PARSER backend; the spider would fetch it a second time for
its `Sitemap:` lines. This subclass keeps the one response per host and answers the spider's
own robots.txt request (meta ROBOTS_REQUEST) with it, and reads the status as RFC 9309 asks:
a 2xx body is parsed (its first NEWS_ROBOTS_MAX_BYTES), any other answer (4xx, or redirects
that end elsewhere) allows everything, and a 5xx or a failed fetch (timeout, refused
connection) means "disallow until it answers": the host's requests are held (none is
fetched), and its robots.txt is fetched again every NEWS_ROBOTS_RETRY_SECONDS, up to
NEWS_ROBOTS_RETRY_TIMES more times. Once it answers, the held requests go ahead; while a
fetch is due the run stays open for it. Requests still held when the run ends (the host
never answered) are counted in `news/robots/held_unfetched`, with one warning line.

Holding a request and letting it go ahead send the signals request_held and
request_released (with request=): the Redis frontier keeps a held request's lease
(renewed) until then, so a process killed while holding requests loses none.
"""

from __future__ import annotations

import asyncio
import logging

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler, load_object

logger = logging.getLogger(__name__)

# Request.meta key the spider sets on its own robots.txt requests (answered from the cache).
ROBOTS_REQUEST = "news_robots"
# Status of the response made for a robots.txt fetch that failed (no answer at all).
NO_ANSWER = 599
# Signals (sent with request=): a request is held until its host's robots.txt answers; a held
# request went ahead (it was queued again).
request_held = object()
request_released = object()


def unreachable(status: int) -> bool:
    """True when a robots.txt answer means "disallow until it answers" (RFC 9309, 2.3.1.4)."""
    return status >= 500


def robots_body(status: int, body: bytes, max_bytes: int) -> bytes:
    """The rules to parse for a robots.txt that answered (RFC 9309, section 2.3.1).

    2xx: the body, cut at MAX_BYTES; any other status: no rules (allow all).
    """
    if 200 <= status < 300:
        return body[:max_bytes]
    return b""


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """One robots.txt fetch per host for the robots middleware and the spider alike; a host
    whose robots.txt is unreachable has its requests held until it answers."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.max_bytes = settings.getint("NEWS_ROBOTS_MAX_BYTES")
        self.retry_seconds = settings.getfloat("NEWS_ROBOTS_RETRY_SECONDS")
        self.retry_times = settings.getint("NEWS_ROBOTS_RETRY_TIMES")
        self.parser_class = load_object(settings.get("ROBOTSTXT_PARSER"))
        self.fetches: dict[str, asyncio.Future[Response | None]] = {}
        self.parsers: dict[str, asyncio.Future[RobotParser | None]] = {}
        # Hosts whose robots.txt has not answered: their held requests, and the task that
        # fetches it again (done once it answered or the fetches ran out).
        self.held: dict[str, list[Request]] = {}
        self.rechecks: dict[str, asyncio.Task[None]] = {}
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    async def process_request(self, request: Request) -> Response | None:  # type: ignore[override]
        """Hold a request whose host's robots.txt is unreachable; answer the spider's
        robots.txt request from the shared fetch; else obey robots.txt."""
        if request.meta.get("dont_obey_robotstxt") or request.url.startswith(("data:", "file:")):
            return None
        parser = await self.robot_parser(request)
        netloc = urlparse_cached(request).netloc
        if netloc in self.held:
            self.held[netloc].append(request)
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("news/robots/held")
            self.crawler.signals.send_catch_log(request_held, request=request)
            raise IgnoreRequest(f"held until robots.txt of {netloc} answers")
        if request.meta.get(ROBOTS_REQUEST):
            response = await self.robots_response(request)
            if response is None:
                raise IgnoreRequest(f"robots.txt of {netloc} could not be fetched")
            return response.replace(request=request)
        self.process_request_2(parser, request)
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
        """Download a robots.txt (downloader middlewares only); None when it was ignored,
        a NO_ANSWER response when it failed."""
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
            logger.warning("robots.txt %s unreachable (%s: %s)", url, type(exc).__name__, exc)
            self.crawler.stats.inc_value(f"robotstxt/exception_count/{type(exc).__name__}")
            self.crawler.stats.inc_value("news/robots/unreachable")
            return Response(url, status=NO_ANSWER, request=robots_request)
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
            if response is not None and unreachable(response.status):
                self.hold_host(netloc, response)
            future.set_result(await self._parser(response, request))
        return await asyncio.shield(future)

    async def _parser(self, response: Response | None, request: Request) -> RobotParser | None:
        """The ROBOTSTXT_PARSER backend over the rules RFC 9309 gives an answer (None: no
        robots.txt to obey, or it has not answered)."""
        if response is None or unreachable(response.status):
            return None
        parser = build_from_crawler(self.parser_class, self.crawler,
                                    robots_body(response.status, response.body, self.max_bytes))
        await self.crawler.signals.send_catch_log_async(
            signal=signals.robots_parsed, robotparser=parser, request=request)
        return parser

    def hold_host(self, netloc: str, response: Response) -> None:
        """Hold the host's requests from now on and fetch its robots.txt again later."""
        logger.warning("robots.txt %s answered %d: holding the host's requests, fetching it "
                       "again in %g s", response.url, response.status, self.retry_seconds)
        self.held[netloc] = []
        self.rechecks[netloc] = asyncio.ensure_future(self.recheck(netloc, response.url))

    async def recheck(self, netloc: str, url: str) -> None:
        """Fetch an unreachable robots.txt again until it answers or the fetches run out;
        once it answers, its rules apply and the host's held requests go ahead."""
        for attempt in range(1, self.retry_times + 1):
            await asyncio.sleep(self.retry_seconds)
            response = await self._fetch(url)
            if response is None or not unreachable(response.status):
                break
            logger.info("robots.txt %s answered %d again (fetch %d of %d)", url,
                        response.status, attempt + 1, self.retry_times + 1)
        else:
            logger.warning("robots.txt %s unreachable after %d fetches: the host's requests "
                           "stay held", url, self.retry_times + 1)
            return
        parser = await self._parser(response, (self.held[netloc] or [Request(url)])[0])
        self.fetches[netloc] = asyncio.get_running_loop().create_future()
        self.fetches[netloc].set_result(response)
        self.parsers[netloc] = asyncio.get_running_loop().create_future()
        self.parsers[netloc].set_result(parser)
        held = self.held.pop(netloc)
        logger.info("robots.txt %s answered %s: %d held requests go ahead", url,
                    response.status if response is not None else "nothing fetchable", len(held))
        assert self.crawler.engine is not None
        for request in held:
            self.crawler.engine.crawl(request.replace(dont_filter=True))
            self.crawler.signals.send_catch_log(request_released, request=request)

    def spider_idle(self) -> None:
        """Keep the run open while an unreachable robots.txt is due to be fetched again."""
        if any(not task.done() for task in self.rechecks.values()):
            raise DontCloseSpider

    def spider_closed(self) -> None:
        """Count the requests still held (their host's robots.txt never answered)."""
        for task in self.rechecks.values():
            task.cancel()
        held = {netloc: len(requests) for netloc, requests in self.held.items() if requests}
        if held:
            assert self.crawler.stats is not None
            self.crawler.stats.set_value("news/robots/held_unfetched", sum(held.values()))
            logger.warning("%d requests not fetched: robots.txt unreachable until the run ended "
                           "(%s)", sum(held.values()),
                           ", ".join(f"{netloc}: {n}" for netloc, n in sorted(held.items())))
