"""The home page and staff sign-in (username and password); citizens sign in by SMS code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.web import (
    ROLE_HOME,
    end_web_session,
    optional_web_user,
    render,
    safe_next,
    start_web_session,
)
from core.errors import RateLimited, Unauthorized
from core.identity.service import authenticate
from edge.deps import NowDep, SessionDep, SettingsDep

# Every page here shows who is signed in, so each loads the session user if there is one.
router = APIRouter(include_in_schema=False, dependencies=[Depends(optional_web_user)])


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", {"next": next or "", "error": None, "username": ""})


@router.post("/login", response_model=None)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        client_ip = request.client.host if request.client else None
        user = authenticate(session, username.strip(), password, now=now, client_ip=client_ip)
    except Unauthorized:
        # Answered, not raised: the request's transaction commits, so the failure counts.
        context = {"next": next, "username": username, "error": "credentials"}
        return render(request, "login.html", context, status_code=401)
    except RateLimited:
        context = {"next": next, "username": username, "error": "throttled"}
        return render(request, "login.html", context, status_code=429)
    response = RedirectResponse(safe_next(next, ROLE_HOME.get(user.role, "/")), status_code=303)
    start_web_session(response, session, settings, user, now=now)
    return response


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep
) -> RedirectResponse:
    response = RedirectResponse("/", status_code=303)
    end_web_session(request, response, session, settings, now=now)
    return response
