"""Staff authentication for machine-ish endpoints (print files, admin actions).

A browser at the desk sends its session cookie; a script or the courier app sends
``Authorization: Bearer <token>``. Either way the answer to no credentials is 401 and to the
wrong role 403, as JSON: these URLs return files and data, not pages to be redirected from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from api.web import remember_signed_in
from core.access import Area, require_area
from core.errors import Unauthorized
from core.identity.models import User
from core.identity.service import user_for_token
from edge.deps import NowDep, SessionDep, SettingsDep
from edge.security import SESSION_COOKIE, bearer_token, session_cookie


def staff_user(area: Area) -> Callable[..., User]:
    """The caller (bearer token or session cookie), whose role ``core.access`` lets into
    ``area``: 401 without credentials, 403 for another role, both as JSON."""

    def dependency(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        now: NowDep,
        # Declared for the OpenAPI document (either one); read from the request below.
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_token)],
        _cookie: Annotated[str | None, Security(session_cookie)],
    ) -> User:
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            user = user_for_token(session, settings, token.strip(), now=now)
        elif request.cookies.get(SESSION_COOKIE):
            user = user_for_token(session, settings, request.cookies[SESSION_COOKIE], now=now)
        else:
            raise Unauthorized("sign in, or send a bearer token", field="authorization")
        require_area(user, area, field="role")
        remember_signed_in(request, user)
        return user

    return dependency


AdminUser = Annotated[User, Depends(staff_user("admin"))]
PrintingUser = Annotated[User, Depends(staff_user("printing"))]
