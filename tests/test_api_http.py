"""`scrapy serve`: every endpoint and every kind of bad input, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.models import CrawlRun, Story, StoryUrl, UrlRelation
from storage.web.app import create_app, read_only_engine
from tests.api_server import fetch, serving, store, story
from tests.servers import free_port, new_postgres_database

RUN_AT = dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.UTC)


def run(number: int, source: str, stored: int, *, degraded: bool = False) -> CrawlRun:
    """A crawl run `number` hours after RUN_AT."""
    started = RUN_AT + dt.timedelta(hours=number)
    return CrawlRun(id=number, source=source, hostname="test", started_at=started,
                    finished_at=started + dt.timedelta(minutes=5), finish_reason="finished",
                    pages_fetched=stored * 2, stories_new=stored, stories_updated=0,
                    stories_duplicate=0, not_articles=1, errors={"HttpError": 1},
                    fill_rates={"title": 1.0}, degraded=degraded,
                    health_note="0 articles stored against a median of 3" if degraded else None)


def archive() -> list[object]:
    """Five stories (one credited copy with three URLs) and three runs of two sources."""
    credited: Story = story(
        2, "Lào Cai: Phát huy vai trò của công đoàn", "Liên đoàn Lao động tỉnh Lào Cai.",
        language="vi", source="vietnam", site="127.0.0.3", publisher="Báo Đại đoàn kết",
        url="http://127.0.0.3/lao-cai.html", original_url="http://127.0.0.3/lao-cai.html",
        published_at=dt.datetime(2024, 5, 1, 3, 0, tzinfo=dt.UTC))
    credited.urls += [
        StoryUrl(url="http://127.0.0.2/tin/lao-cai.html", relation=UrlRelation.AGGREGATOR,
                 site="127.0.0.2", first_seen=credited.created_at,
                 last_seen=credited.created_at),
        StoryUrl(url="http://127.0.0.2/tin/lao-cai.html?utm_source=rss",
                 relation=UrlRelation.ALIAS, kind="tracking", site="127.0.0.2",
                 first_seen=credited.created_at, last_seen=credited.created_at),
    ]
    return [
        story(1, "Council approves flood barrier", "The river council voted.",
              published_at=dt.datetime(2024, 9, 1, tzinfo=dt.UTC)),
        credited,
        story(3, "Un marché de nuit sur les quais", "Tout l'été.", language="fr",
              published_at=dt.datetime(2024, 7, 1, tzinfo=dt.UTC)),
        story(4, "Library reopens", "Queues on Castle Street.",
              published_at=dt.datetime(2024, 9, 3, tzinfo=dt.UTC)),
        story(5, "Khám phá chợ phiên", "Công đoàn tổ chức chợ.", language="vi",
              source="vietnam", site="127.0.0.2", published_at=None),
        run(1, "gazette", 3), run(2, "vietnam", 2), run(3, "vietnam", 0, degraded=True),
    ]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        postgres_url: str) -> Iterator[str]:
    """`scrapy serve` over the archive, on each backend."""
    root = tmp_path_factory.mktemp(f"api-{request.param}")
    db_url = (f"sqlite:///{root / 'news.db'}" if request.param == "sqlite"
              else new_postgres_database(postgres_url))
    store(db_url, archive())
    with serving(db_url, root / "serve.log") as base:
        yield base


def ids(body: dict[str, list[dict[str, object]]]) -> list[object]:
    """The story ids of a page."""
    return [s["id"] for s in body["stories"]]


def test_stories_newest_stored_first_with_keyset_pages(api: str) -> None:
    status, first = fetch(api, "/api/stories?limit=2")
    assert status == 200
    assert ids(first) == [5, 4]
    _, second = fetch(api, f"/api/stories?limit=2&cursor={first['next_cursor']}")
    _, last = fetch(api, f"/api/stories?limit=2&cursor={second['next_cursor']}")
    assert ids(second) == [3, 2]
    assert ids(last) == [1]
    assert last["next_cursor"] is None
    assert first["stories"][0]["excerpt"] == "Công đoàn tổ chức chợ."


@pytest.mark.parametrize(("query", "expected"), [
    ("source=vietnam", [5, 2]),
    ("site=127.0.0.2", [5]),
    ("language=fr", [3]),
    ("published_since=2024-09-01", [4, 1]),
    ("published_since=2024-06-01T00:00:00Z&published_until=2024-09-02", [3, 1]),
    ("stored_since=2026-11-01T08:04:00%2B00:00", [5, 4]),
    ("q=cong+doan", [2, 5]),
    ("q=" + quote("CÔNG ĐOÀN") + "&language=vi&source=vietnam", [2, 5]),
    ("q=marche+ete", [3]),
    ("q=nothing+like+this", []),
])
def test_story_filters_and_search(api: str, query: str, expected: list[int]) -> None:
    status, body = fetch(api, f"/api/stories?{query}")
    assert status == 200, body
    assert ids(body) == expected


def test_search_pages_with_its_cursor(api: str) -> None:
    _, first = fetch(api, "/api/stories?q=cong+doan&limit=1")
    _, second = fetch(api, f"/api/stories?q=cong+doan&limit=1&cursor={first['next_cursor']}")
    assert (ids(first), ids(second), second["next_cursor"]) == ([2], [5], None)


def test_one_story_with_every_url_and_its_credit(api: str) -> None:
    status, body = fetch(api, "/api/stories/2")
    assert status == 200
    assert [(u["url"], u["relation"], u["kind"]) for u in body["urls"]] == [
        ("http://127.0.0.2/tin/lao-cai.html", "aggregator", None),
        ("http://127.0.0.2/tin/lao-cai.html?utm_source=rss", "alias", "tracking"),
        ("http://127.0.0.3/lao-cai.html", "original", None),
    ]
    assert body["credit"] == {"original_url": "http://127.0.0.3/lao-cai.html",
                              "publisher": "Báo Đại đoàn kết", "original_stored": True}
    assert body["text"] == "Liên đoàn Lao động tỉnh Lào Cai."
    assert body["published_at"] == "2024-05-01T03:00:00Z"


def test_runs_newest_first_and_per_source_health(api: str) -> None:
    _, runs = fetch(api, "/api/runs")
    assert [r["id"] for r in runs] == [3, 2, 1]
    _, vietnam = fetch(api, "/api/runs?source=vietnam&limit=1")
    assert [(r["id"], r["degraded"]) for r in vietnam] == [(3, True)]
    status, sources = fetch(api, "/api/sources")
    assert status == 200
    assert [(s["source"], s["stories"], s["runs"], s["degraded_runs"], s["healthy"],
             s["last_run"]["id"]) for s in sources] == [
        ("gazette", 3, 1, 0, True, 1), ("vietnam", 2, 2, 1, False, 3)]


def test_openapi_docs_and_pages(api: str) -> None:
    _, spec = fetch(api, "/openapi.json")
    assert {"/api/stories", "/api/stories/{story_id}", "/api/runs", "/api/sources"} <= set(
        spec["paths"])
    status, docs = fetch(api, "/docs", accept="text/html")
    assert status == 200
    assert "swagger" in docs.lower()
    status, page = fetch(api, "/?q=cong+doan", accept="text/html")
    assert status == 200
    assert "Lào Cai: Phát huy vai trò của công đoàn" in page
    status, page = fetch(api, "/stories/2", accept="text/html")
    assert status == 200
    assert "http://127.0.0.2/tin/lao-cai.html?utm_source=rss" in page
    status, page = fetch(api, "/stories/999", accept="text/html")
    assert (status, '<p class="error">404: no story 999</p>' in page) == (404, True)


@pytest.mark.parametrize(("path", "status", "error"), [
    ("/api/stories?colour=red", 400, "unknown parameter 'colour'"),
    ("/api/stories/2?full=1", 400, "unknown parameter 'full'"),
    ("/api/sources?x=1", 400, "unknown parameter 'x'"),
    ("/api/stories?published_since=yesterday", 400, "published_since: "),
    ("/api/stories?stored_since=2024-13-45", 400, "stored_since: "),
    ("/api/stories?limit=100000", 400, "limit: "),
    ("/api/stories?limit=0", 400, "limit: "),
    ("/api/runs?limit=1000", 400, "limit: "),
    ("/api/stories?cursor=not-a-cursor", 400, "malformed cursor"),
    ("/api/stories?cursor=" + "A" * 65, 400, "cursor: "),
    ("/api/stories?cursor=MS4w", 400, "malformed cursor"),
    ("/api/stories?cursor=MS41", 400, "cursor of a search used without its q"),
    ("/api/stories?q=" + "x" * 201, 400, "q: "),
    ("/api/stories/abc", 400, "story_id: "),
    ("/api/stories/999", 404, "no story 999"),
    ("/api/nothing", 404, "Not Found"),
])
def test_bad_input_gets_a_4xx_with_one_line_of_json(api: str, path: str, status: int,
                                                     error: str) -> None:
    got, body = fetch(api, path)
    assert got == status, body
    assert set(body) == {"error"}
    assert body["error"].startswith(error)
    assert "\n" not in body["error"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_nothing_writes_through_the_api(api: str, method: str) -> None:
    status, body = fetch(api, "/api/stories/2", method=method)
    assert (status, body) == (405, {"error": "Method Not Allowed"})
    assert fetch(api, "/api/stories/2")[0] == 200


def test_database_connections_refuse_writes(database_url: str) -> None:
    store(database_url, archive())
    engine = read_only_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM stories")).scalar() == 5
        with pytest.raises(DBAPIError, match="read.?only"), engine.begin() as conn:
            conn.execute(text("UPDATE stories SET title = 'changed'"))
    finally:
        engine.dispose()


def test_an_unreachable_database_gets_a_503_with_one_line() -> None:
    app = create_app(f"postgresql+psycopg://newsagg:secret@127.0.0.1:{free_port()}/none")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(),
                                           log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{server.config.port}"
        assert fetch(base, "/api/stories") == (
            503, {"error": "database unavailable (OperationalError)"})
    finally:
        server.should_exit = True
        thread.join(timeout=30)
