"""The FastAPI application: the JSON read API under /api, the pages, OpenAPI docs at /docs.

Read-only: GET routes only, and every database connection refuses writes (SQLite
`PRAGMA query_only`, PostgreSQL `default_transaction_read_only`). Errors are one line of JSON
(`{"error": "..."}`) under /api and a short page elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from storage.runs import last_runs
from storage.session import hide_password, make_engine, make_sessionmaker
from storage.web import pages
from storage.web.deps import Db
from storage.web.queries import (
    BadCursor,
    StoryQuery,
    run_record,
    source_health,
    story_detail,
    story_page,
)
from storage.web.schemas import (
    ApiError,
    NoParameters,
    RunFilters,
    RunOut,
    SourceHealth,
    StoriesPage,
    StoryDetail,
    StoryFilters,
)

logger = logging.getLogger(__name__)

READ_ONLY_OPTION = "-c default_transaction_read_only=on"
ERRORS: dict[int | str, dict[str, Any]] = {400: {"model": ApiError}, 404: {"model": ApiError}}


def _query_only(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: refuse writes on this connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def read_only_engine(database_url: str) -> Engine:
    """An engine whose connections cannot write (SQLite or PostgreSQL)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        given = url.query.get("options")
        given = given if isinstance(given, str) else " ".join(given or ())
        url = url.update_query_dict({"options": f"{given} {READ_ONLY_OPTION}".strip()})
    engine = make_engine(url.render_as_string(hide_password=False))
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _query_only)
    return engine


def error_line(exc: RequestValidationError) -> str:
    """The first validation error as one line: which parameter and what is wrong with it."""
    error = exc.errors()[0]
    name = ".".join(str(part) for part in error.get("loc", ())[1:]) or "request"
    if error.get("type") == "extra_forbidden":
        return f"unknown parameter {name!r}"
    return f"{name}: {error.get('msg', 'invalid')}".splitlines()[0]


def _respond_error(request: Request, status: int, message: str,
                   headers: Mapping[str, str] | None = None) -> Response:
    """JSON under /api and for the docs, a page for the browsing pages."""
    if request.url.path.startswith("/api") or not pages.wants_html(request):
        return JSONResponse({"error": message}, status_code=status,
                            headers=dict(headers) if headers else None)
    return pages.error_page(request, status, message)


def create_app(database_url: str) -> FastAPI:
    """The application over a database (already at the newest schema)."""
    engine = read_only_engine(database_url)
    sessions = make_sessionmaker(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title="newsagg read API", version="1", lifespan=lifespan,
                  description="Stored news stories: list, search, one story with its URLs "
                              "and credit, crawl runs and per-source health. Read-only.")
    app.state.sessions = sessions
    app.include_router(api_router())
    app.include_router(pages.router())

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return _respond_error(request, 400, error_line(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _respond_error(request, exc.status_code, str(exc.detail).splitlines()[0],
                              exc.headers)

    @app.exception_handler(SQLAlchemyError)
    async def database_error(request: Request, exc: SQLAlchemyError) -> Response:
        logger.error("Database error on %s: %s", request.url.path,
                     hide_password(str(exc), database_url))
        return _respond_error(request, 503, f"database unavailable ({type(exc).__name__})")

    @app.exception_handler(BadCursor)
    async def bad_cursor(request: Request, exc: BadCursor) -> Response:
        return _respond_error(request, 400, str(exc))

    return app


def api_router() -> APIRouter:
    """The JSON endpoints."""
    router = APIRouter(prefix="/api", responses=ERRORS)

    @router.get("/stories", response_model=StoriesPage)
    def stories(filters: Annotated[StoryFilters, Query()], db: Db) -> dict[str, object]:
        """Stories newest stored first, or a search's matches best first; keyset pages."""
        page, cursor = story_page(db, StoryQuery(**filters.model_dump()))
        return {"stories": page, "next_cursor": cursor}

    @router.get("/stories/{story_id}", response_model=StoryDetail)
    def story(story_id: int, _params: Annotated[NoParameters, Query()],
              db: Db) -> dict[str, object]:
        """One story with every URL it was seen at and its credit."""
        found = story_detail(db, story_id)
        if found is None:
            raise HTTPException(404, f"no story {story_id}")
        return found

    @router.get("/runs", response_model=list[RunOut])
    def runs(filters: Annotated[RunFilters, Query()], db: Db) -> list[Any]:
        """The last crawl runs, newest first, optionally of one source."""
        return [run_record(run) for run in last_runs(db, source=filters.source,
                                                      limit=filters.limit)]

    @router.get("/sources", response_model=list[SourceHealth])
    def sources(_params: Annotated[NoParameters, Query()], db: Db) -> list[dict[str, object]]:
        """Each source's health: stories stored, runs, degraded runs, the last run."""
        return source_health(db)

    return router

