"""Dependencies shared by every router: settings, the request's transaction, the clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.settings import Settings


# Dependencies that do no I/O are async: FastAPI runs a plain ``def`` dependency in its thread
# pool, a hop per dependency per request that the scan sync's profile showed.
async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, owned here: commit on success, roll back on any error."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    with transaction(factory) as session:
        yield session


async def get_now() -> datetime:
    return datetime.now(UTC)


# A transaction as a context manager, for a handler that does all its database work in one
# worker-thread call instead of through ``SessionDep`` (see mobile_api.endpoints.post_scans).
UnitOfWork = Callable[[], AbstractContextManager[Session]]


async def get_unit_of_work(request: Request) -> UnitOfWork:
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    return lambda: transaction(factory)


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
# scope="function": commit (or roll back) before the response is sent. FastAPI's default for a
# yield dependency ends it after the response, so a client could be told "recorded" for a
# transaction that then fails to commit, and its next request could read the state before.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
NowDep = Annotated[datetime, Depends(get_now)]
UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
