"""Dependencies shared by every router: settings, the request's transaction, the clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.settings import Settings


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, owned here: commit on success, roll back on any error."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    with transaction(factory) as session:
        yield session


def get_now() -> datetime:
    return datetime.now(UTC)


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
# scope="function": commit (or roll back) before the response is sent. FastAPI's default for a
# yield dependency ends it after the response, so a client could be told "recorded" for a
# transaction that then fails to commit, and its next request could read the state before.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
NowDep = Annotated[datetime, Depends(get_now)]
