"""Who is calling: a bearer token bound to a device, resolved once per request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.orm import Session

from core.access import require_area
from core.custody.parties import Actor
from core.errors import InvalidInput, Unauthorized
from core.identity.models import User
from core.identity.service import actor_for, holder_of_token
from core.settings import Settings
from edge.deps import NowDep, SettingsDep

# Re-exported for the mobile routers. It commits BEFORE the response is sent: otherwise a
# phone could be told "accepted" for a batch whose commit then failed (the crash test caught
# one).
from edge.deps import SessionDep as SessionDep
from edge.security import bearer_token


@dataclass(frozen=True)
class Caller:
    """The signed-in phone user: the person, the device, the party they act for."""

    user: User
    device_id: int | None
    actor: Actor
    token: str


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "send the token as 'Authorization: Bearer <token>'", field="authorization"
        )
    return token.strip()


def get_caller(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    # Declared for the OpenAPI document; the header is read (and refused) below.
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_token)],
) -> Caller:
    """Any valid, unrevoked token on an unrevoked device; refused before anything is written."""
    return resolve_caller(session, settings, request.headers.get("authorization", ""), now=now)


def resolve_caller(
    session: Session, settings: Settings, authorization: str, *, now: datetime
) -> Caller:
    """The caller behind an ``Authorization: Bearer`` header, for a handler that owns its
    session itself (the scan sync); ``get_caller`` is the dependency form."""
    token = _bearer(authorization)
    holder = holder_of_token(session, settings, token, now=now)
    return Caller(
        user=holder.user,
        device_id=holder.device_id,
        actor=actor_for(holder.user, holder.device_id),
        token=token,
    )


def require_field_role(caller: Caller) -> Caller:
    """A courier or dispatcher: the people who scan items in the field and at the hub."""
    require_area(caller.user, "field")
    return caller


# The role checks do no I/O: async, so FastAPI runs them inline rather than in its thread pool.
async def get_field_caller(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    return require_field_role(caller)


async def get_courier(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    require_area(caller.user, "courier_only")
    return caller


async def get_supervisor(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    require_area(caller.user, "supervise")
    return caller


AnyCaller = Annotated[Caller, Depends(get_caller)]
FieldCaller = Annotated[Caller, Depends(get_field_caller)]
CurrentCourier = Annotated[Caller, Depends(get_courier)]
Supervisor = Annotated[Caller, Depends(get_supervisor)]


async def read_body(request: Request, limit: int, *, field: str, what: str) -> bytes:
    """The raw body, refused as soon as it passes ``limit`` rather than after reading it all
    (the scan sync reads its body before the token is checked, in the same worker call)."""
    too_large = InvalidInput(f"{what} is larger than {limit // (1024 * 1024)} MB", field=field)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
