"""The browsing pages: latest stories with a search box and filters, and one story's page.

Server-rendered with Jinja2 (storage/web/templates); no script, no build step.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from common.resources import package_dir
from storage.web.deps import Db
from storage.web.queries import StoryQuery, facets, story_detail, story_page
from storage.web.schemas import NoParameters, StoryFilters

TEMPLATES = Jinja2Templates(directory=str(package_dir("storage", "web", "templates")))
FILTER_NAMES = ("q", "source", "site", "language", "published_since", "published_until")


def wants_html(request: Request) -> bool:
    """Whether the client asked for a page (a browser) rather than data."""
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, message: str) -> Response:
    """A short page saying what went wrong."""
    return TEMPLATES.TemplateResponse(request, "error.html",
                                      {"status": status, "message": message},
                                      status_code=status)


def router() -> APIRouter:
    """The HTML pages."""
    pages = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

    @pages.get("/")
    def index(request: Request, filters: Annotated[StoryFilters, Query()], db: Db) -> Response:
        """Latest stories, or a search's matches, with the filters in a form."""
        stories, cursor = story_page(db, StoryQuery(**filters.model_dump()))
        chosen = {name: value for name in FILTER_NAMES
                  if (value := getattr(filters, name)) is not None}
        shown = {name: (value.date().isoformat() if name.startswith("published") else value)
                 for name, value in chosen.items()}
        return TEMPLATES.TemplateResponse(request, "index.html", {
            "stories": stories, "next_cursor": cursor, "chosen": shown,
            "facets": facets(db), "limit": filters.limit,
        })

    @pages.get("/stories/{story_id}")
    def story(request: Request, story_id: int, _params: Annotated[NoParameters, Query()],
              db: Db) -> Response:
        """One story: its text, every URL it was seen at, its credit."""
        found = story_detail(db, story_id)
        if found is None:
            raise HTTPException(404, f"no story {story_id}")
        return TEMPLATES.TemplateResponse(request, "story.html", {"story": found})

    return pages
