"""Who is calling: a bearer token bound to a device, resolved once per request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.deps import NowDep, SessionDep, SettingsDep
from core.courier.devices import MOBILE_ROLES, token_device_id
from core.custody.parties import Actor
from core.errors import Forbidden, Unauthorized
from core.identity.models import User
from core.identity.service import actor_for, user_for_token


@dataclass(frozen=True)
class Caller:
    """The signed-in phone user: the person, the device, the party they act for."""

    user: User
    device_id: int | None
    actor: Actor
    token: str


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "send the token as 'Authorization: Bearer <token>'", field="authorization"
        )
    return token.strip()


def get_caller(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep) -> Caller:
    """Any valid, unrevoked token on an unrevoked device; refused before anything is written."""
    token = _bearer(request)
    user = user_for_token(session, settings, token, now=now)
    device_id = token_device_id(session, settings, token)
    return Caller(user=user, device_id=device_id, actor=actor_for(user, device_id), token=token)


def get_field_caller(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    """A courier or dispatcher: the people who scan items in the field and at the hub."""
    if caller.user.role not in MOBILE_ROLES:
        raise Forbidden("this API is for couriers and dispatchers", field="authorization")
    return caller


def get_courier(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    if caller.user.role != "courier":
        raise Forbidden("only a courier can do this", field="authorization")
    return caller


def get_supervisor(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    if caller.user.role not in ("dispatcher", "admin"):
        raise Forbidden("only a dispatcher or an admin can do this", field="authorization")
    return caller


AnyCaller = Annotated[Caller, Depends(get_caller)]
FieldCaller = Annotated[Caller, Depends(get_field_caller)]
CurrentCourier = Annotated[Caller, Depends(get_courier)]
Supervisor = Annotated[Caller, Depends(get_supervisor)]
