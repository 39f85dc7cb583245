"""What every HTML page shares: templates, the language switch, and the signed-in user.

Pages are Vietnamese first with English available: templates call ``tr(vi, en)`` so both
texts sit side by side where they are used, and ``?lang=en`` (remembered in a cookie) picks
English. Staff and citizens sign in to a session held in an HttpOnly cookie whose value is
an API token (stored hashed, expiring, revocable like any other).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from core.access import Area, roles_for
from core.errors import DomainError, Unauthorized
from core.identity.models import User
from core.identity.service import issue_token, revoke_token, user_for_token
from core.settings import Settings
from edge.deps import NowDep, SessionDep, SettingsDep
from edge.security import SESSION_COOKIE
from edge.texts import LANG_COOKIE, Lang, message
from vntime import in_vietnam, vn_date, vn_datetime, vn_stamp, vn_time

WEB_SESSION_TTL = timedelta(hours=12)
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"


def request_lang(request: Request) -> Lang:
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return "en" if asked == "en" else "vi"


def _page_context(request: Request) -> dict[str, Any]:
    lang = request_lang(request)

    def tr(vi: str, en: str) -> str:
        return en if lang == "en" else vi

    other = "vi" if lang == "en" else "en"
    switch_url = request.url.include_query_params(lang=other)
    return {
        "lang": lang,
        "tr": tr,
        "switch_lang_url": str(switch_url.path) + "?" + switch_url.query,
        "current_user": getattr(request.state, "signed_in", None),
    }


templates = Jinja2Templates(directory=TEMPLATES_DIR, context_processors=[_page_context])
# Every time a page shows goes through these (``{{ moment|vn_datetime }}``): Vietnam's clock,
# dd/mm/yyyy. A template never calls ``strftime`` on a stored time itself.
templates.env.filters.update(
    vn_time=vn_time,
    vn_date=vn_date,
    vn_datetime=vn_datetime,
    vn_stamp=vn_stamp,
    in_vietnam=in_vietnam,
)


def refusal_text(request: Request, error: DomainError) -> str:
    """What the page's reader sees for a refusal: the catalogue's text in the page's language
    (``edge.texts``), never the English ``detail`` on a Vietnamese page."""
    return message(error, request_lang(request))


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, context or {}, status_code=status_code)
    asked = request.query_params.get("lang")
    if asked in ("vi", "en"):
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 24 * 3600, samesite="lax")
    return response


# -- form actions --------------------------------------------------------------------------

T = TypeVar("T")


def attempt(session: Session, action: Callable[[], T]) -> T | DomainError:
    """Run a page's service call in a savepoint: all of it, or, when a service refuses, none.

    A page answers a refusal with a normal response (the form again, or a redirect with the
    error), so the request's transaction commits. Without the savepoint, whatever the service
    wrote before it refused would commit with it (a refused hand-over completion left a
    ``handover_declined`` event in the append-only ledger). The refusal is returned, not
    raised, for the handler to show.
    """
    try:
        with session.begin_nested():
            return action()
    except DomainError as refusal:
        return refusal


# -- sessions ------------------------------------------------------------------------------


def start_web_session(
    response: Response, session: Session, settings: Settings, user: User, *, now: datetime
) -> None:
    issued = issue_token(session, settings, user, now=now, ttl=WEB_SESSION_TTL)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int(WEB_SESSION_TTL.total_seconds()),
        httponly=True,
        # Strict: a form on another site can never post with our session (no CSRF token needed).
        samesite="strict",
        secure=settings.environment == "production",
    )


def end_web_session(
    request: Request, response: Response, session: Session, settings: Settings, *, now: datetime
) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            revoke_token(session, settings, token, now=now)
        except Exception:  # noqa: BLE001  an unknown or stale cookie is simply dropped
            pass
    response.delete_cookie(SESSION_COOKIE)


@dataclass(frozen=True)
class SignedIn:
    """What a page shows of the signed-in user, copied out of the ORM row.

    Pages render it, never the ``User``: an error page renders after the request's
    transaction has been rolled back and closed, when the row can no longer load its
    attributes (every wrong-role page answered 500 that way).
    """

    id: int
    full_name: str
    role: str


def remember_signed_in(request: Request, user: User) -> None:
    request.state.signed_in = SignedIn(id=user.id, full_name=user.full_name, role=user.role)


def optional_web_user(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep
) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        user = user_for_token(session, settings, token, now=now)
    except Unauthorized:
        return None
    remember_signed_in(request, user)
    return user


class LoginRequired(Exception):
    """A page needs a signed-in user; the handler sends the browser to the sign-in page."""

    def __init__(self, next_path: str, login_path: str = "/login") -> None:
        self.next_path = next_path
        self.login_path = login_path


class WrongRole(Exception):
    def __init__(self, roles: tuple[str, ...]) -> None:
        self.roles = roles


def page_user(area: Area, login_path: str = "/login") -> Callable[..., User]:
    """A page dependency: the signed-in user, whose role ``core.access`` lets into ``area``;
    anyone else is sent to sign in (nobody signed in) or shown the 403 page (wrong role)."""
    return require_roles(*roles_for(area), login_path=login_path)


def require_roles(*roles: str, login_path: str = "/login") -> Callable[..., User]:
    """A dependency: the signed-in user, who must hold one of ``roles`` (pages take them from
    ``core.access`` through ``page_user``)."""

    def dependency(
        request: Request, user: Annotated[User | None, Depends(optional_web_user)]
    ) -> User:
        if user is None:
            raise LoginRequired(request.url.path, login_path)
        if user.role not in roles:
            raise WrongRole(roles)
        return user

    return dependency


def login_redirect(exc: LoginRequired) -> RedirectResponse:
    from urllib.parse import quote

    return RedirectResponse(f"{exc.login_path}?next={quote(exc.next_path)}", status_code=303)


def safe_next(next_path: str | None, default: str) -> str:
    """Only a local path may follow sign-in, so the form cannot send anyone off-site."""
    if next_path and next_path.startswith("/") and not next_path.startswith("//"):
        return next_path
    return default


ROLE_HOME = {
    "desk_officer": "/desk",
    "dispatcher": "/dispatch",
    "courier": "/courier",
    "citizen": "/my",
    "admin": "/admin",
    "province_supervisor": "/admin",
    "counter_clerk": "/counter",
}
