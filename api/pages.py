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
from core.admin.passwords import change_password
from core.errors import InvalidInput, RateLimited, Unauthorized
from core.identity.service import authenticate
from edge.deps import NowDep, SessionDep, SettingsDep
from edge.texts import both

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
    if user.must_change_password:
        # No session until the temporary password an admin set is replaced.
        return _password_form(request, username=user.username, next=next, error=None)
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


# -- the forced password change after an admin's reset -------------------------------------


def _password_form(
    request: Request,
    *,
    username: str,
    next: str,
    error: tuple[str | None, str, str] | None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {"username": username, "next": next, "error": error}
    return render(request, "password_change.html", context, status_code=status_code)


@router.get("/password", response_class=HTMLResponse)
def password_form(request: Request, username: str = "", next: str = "") -> HTMLResponse:
    return _password_form(request, username=username, next=next, error=None)


@router.post("/password", response_model=None)
def password_change(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    username: Annotated[str, Form()] = "",
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    new_password_again: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """Prove the current (temporary) password, choose a new one, and be signed in."""
    if new_password != new_password_again:
        error = ("new_password_again", "Hai lần nhập mật khẩu mới không khớp.",
                 "the two new passwords differ")  # fmt: skip
        return _password_form(request, username=username, next=next, error=error,
                              status_code=422)  # fmt: skip
    try:
        client_ip = request.client.host if request.client else None
        user = change_password(session, username=username.strip(),
                               current_password=current_password, new_password=new_password,
                               now=now, client_ip=client_ip)  # fmt: skip
    except Unauthorized:
        # Answered, not raised: the failed attempt commits and counts like a failed sign-in.
        error = ("current_password", "Sai tên đăng nhập hoặc mật khẩu hiện tại.",
                 "wrong username or current password")  # fmt: skip
        return _password_form(request, username=username, next=next, error=error,
                              status_code=401)  # fmt: skip
    except RateLimited:
        error = ("username", "Đăng nhập sai quá nhiều lần. Vui lòng chờ 15 phút rồi thử lại.",
                 "too many failed sign-ins; wait 15 minutes")  # fmt: skip
        return _password_form(request, username=username, next=next, error=error,
                              status_code=429)  # fmt: skip
    except InvalidInput as refused:
        vi, en = both(refused)
        return _password_form(request, username=username, next=next,
                              error=(refused.field, vi, en),
                              status_code=422)  # fmt: skip
    response = RedirectResponse(safe_next(next, ROLE_HOME.get(user.role, "/")), status_code=303)
    start_web_session(response, session, settings, user, now=now)
    return response
