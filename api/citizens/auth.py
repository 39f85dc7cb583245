"""Who the citizen is: the web session cookie, or a bearer token for API clients."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from api.web import remember_signed_in
from core.access import require_area
from core.errors import Unauthorized
from core.identity.models import User
from core.identity.service import user_for_token
from edge.deps import NowDep, SessionDep, SettingsDep
from edge.security import SESSION_COOKIE, bearer_token, session_cookie


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def current_citizen(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    # Declared for the OpenAPI document (either one); read from the request below.
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_token)],
    _cookie: Annotated[str | None, Security(session_cookie)],
) -> User:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    token = token or request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthorized("sign in with a code sent to your phone", field="authorization")
    user = user_for_token(session, settings, token, now=now)
    require_area(user, "citizen")
    remember_signed_in(request, user)
    return user


CurrentCitizen = Annotated[User, Depends(current_citizen)]
