"""What the routes share: a database session per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session


def session(request: Request) -> Iterator[Session]:
    """A read-only session from the application's sessionmaker, closed after the request."""
    with request.app.state.sessions() as opened:
        yield opened


Db = Annotated[Session, Depends(session)]
