"""Admin area pages: users, their devices, the audit log. Vietnamese first, English on switch.

The pages call the same core.admin services as the JSON API and the CLI; a refusal is shown
on the form, beside the field it names, and changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.web import page_user, render
from core.admin.audit import AuditFilter, read_log
from core.admin.errors import AdminInvalidInput
from core.admin.passwords import temporary_password
from core.admin.permissions import Action, Operator, may_act
from core.admin.users import (
    STAFF_ROLES,
    SUPERVISED,
    Binding,
    UserFilter,
    create_staff_user,
    devices_of,
    edit_user,
    get_user,
    list_users,
    province_of,
    reset_password,
    revoke_device,
    set_active,
)
from core.errors import DomainError
from core.identity.models import ROLES, User
from core.places.models import Office, PostOffice, Province
from edge.deps import NowDep, SessionDep
from edge.texts import both

AdminAreaUser = Annotated[User, Depends(page_user("administer"))]
router = APIRouter(prefix="/admin", include_in_schema=False)

FORM_FIELDS = ("username", "full_name", "role", "phone", "office_id", "post_office_id",
               "province_code")  # fmt: skip


def _error(exc: DomainError) -> dict[str, Any]:
    # Bilingual admin refusals keep their own Vietnamese (``detail_vi``); any other refusal
    # reads from the catalogue (edge/texts), so no English sentence reaches a Vietnamese page.
    vi, en = both(exc)
    return {"field": exc.field, "vi": vi, "en": en}


def _places(session: Session, operator: Operator) -> dict[str, Any]:
    """The offices, post offices and provinces the operator may bind users to."""
    offices = select(Office).order_by(Office.province_code, Office.name_vi)
    posts = select(PostOffice).order_by(PostOffice.province_code, PostOffice.name)
    provinces = select(Province).order_by(Province.name)
    if operator.role != "admin":
        offices = offices.where(Office.province_code == operator.province_code)
        posts = posts.where(PostOffice.province_code == operator.province_code)
        provinces = provinces.where(Province.code == operator.province_code)
    province_list = list(session.scalars(provinces))
    return {
        "offices": list(session.scalars(offices)),
        "post_offices": list(session.scalars(posts)),
        "provinces": province_list,
        "province_names": {p.code: p.name for p in province_list},
        "roles": STAFF_ROLES if operator.role == "admin" else SUPERVISED,
        "may_read_audit": may_act(operator, Action.view_audit).allowed,
    }


def _optional_int(form: dict[str, str], field: str) -> int | None:
    raw = (form.get(field) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise AdminInvalidInput(
            field, f"Giá trị {raw!r} không hợp lệ.", f"{raw!r} is not an id"
        ) from None


def _binding(form: dict[str, str]) -> Binding:
    province = (form.get("province_code") or "").strip() or None
    return Binding(office_id=_optional_int(form, "office_id"),
                   post_office_id=_optional_int(form, "post_office_id"),
                   province_code=province)  # fmt: skip


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {key: str(value) for key, value in data.items()}


@router.get("", response_class=HTMLResponse)
def admin_home(_: AdminAreaUser) -> RedirectResponse:
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    user: AdminAreaUser,
    session: SessionDep,
    role: str = "",
    office_id: str = "",
    post_office_id: str = "",
    province_code: str = "",
    active: str = "",
    q: str = "",
) -> HTMLResponse:
    operator = Operator.of(user)
    query = {"role": role, "office_id": office_id, "post_office_id": post_office_id,
             "province_code": province_code, "active": active, "q": q}  # fmt: skip
    error = None
    rows = []
    try:
        filters = UserFilter(
            role=role or None,
            office_id=_optional_int(query, "office_id"),
            post_office_id=_optional_int(query, "post_office_id"),
            province_code=province_code or None,
            active={"1": True, "0": False}.get(active),
            text=q or None,
        )
        rows = list_users(session, operator, filters)
    except DomainError as exc:
        error = _error(exc)
    context = {"rows": rows, "query": query, "error": error, "all_roles": ROLES,
               **_places(session, operator)}  # fmt: skip
    return render(request, "admin/users.html", context, status_code=422 if error else 200)


@router.get("/users/new", response_class=HTMLResponse)
def new_user_page(request: Request, user: AdminAreaUser, session: SessionDep) -> HTMLResponse:
    operator = Operator.of(user)
    context = {"form": {"must_change_password": "1"}, "error": None, **_places(session, operator)}
    return render(request, "admin/user_new.html", context)


@router.post("/users/new", response_model=None)
async def create_user_page(
    request: Request, user: AdminAreaUser, session: SessionDep, now: NowDep
) -> HTMLResponse | RedirectResponse:
    operator = Operator.of(user)
    form = await _form(request)
    try:
        if form.get("password", "") != form.get("password_again", ""):
            raise AdminInvalidInput("password_again", "Hai lần nhập mật khẩu không khớp.",
                                    "the two passwords differ")  # fmt: skip
        created = create_staff_user(
            session,
            operator,
            username=form.get("username", ""),
            full_name=form.get("full_name", ""),
            role=form.get("role", ""),
            password=form.get("password", ""),
            phone=form.get("phone") or None,
            binding=_binding(form),
            must_change_password=form.get("must_change_password") == "1",
            now=now,
        )
    except DomainError as exc:
        kept = {k: form.get(k, "") for k in (*FORM_FIELDS, "must_change_password")}
        context = {"form": kept, "error": _error(exc), **_places(session, operator)}
        return render(request, "admin/user_new.html", context, status_code=422)
    return RedirectResponse(f"/admin/users/{created.id}?done=created", status_code=303)


def _detail(
    request: Request,
    session: SessionDep,
    operator: Operator,
    user_id: int,
    *,
    error: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    temporary: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        target = get_user(session, operator, user_id)
        devices = devices_of(session, operator, user_id)
    except DomainError as exc:
        status = 404 if exc.code == "not_found" else 403
        return render(request, "admin/refused.html", {"error": _error(exc)}, status_code=status)
    current = {
        "full_name": target.full_name,
        "role": target.role,
        "phone": target.phone or "",
        "office_id": str(target.office_id or ""),
        "post_office_id": str(target.post_office_id or ""),
        "province_code": target.province_code or "",
    }
    context = {
        "target": target,
        "target_province": province_of(session, target),
        "devices": devices,
        "form": form or current,
        "error": error,
        "temporary": temporary,
        "done": done,
        **_places(session, operator),
    }
    return render(request, "admin/user.html", context, status_code=status_code)


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_page(
    request: Request, user_id: int, user: AdminAreaUser, session: SessionDep, done: str = ""
) -> HTMLResponse:
    return _detail(request, session, Operator.of(user), user_id, done=done or None)


@router.post("/users/{user_id}", response_model=None)
async def edit_user_page(
    request: Request, user_id: int, user: AdminAreaUser, session: SessionDep, now: NowDep
) -> HTMLResponse | RedirectResponse:
    operator = Operator.of(user)
    form = await _form(request)
    try:
        binding = _binding(form)
        changes: dict[str, Any] = {
            "full_name": form.get("full_name", ""),
            "phone": form.get("phone") or None,
            "role": form.get("role", ""),
            "office_id": binding.office_id,
            "post_office_id": binding.post_office_id,
            "province_code": binding.province_code,
        }
        edit_user(session, operator, user_id, changes, now=now)
    except DomainError as exc:
        return _detail(request, session, operator, user_id, error=_error(exc), form=form,
                       status_code=422)  # fmt: skip
    return RedirectResponse(f"/admin/users/{user_id}?done=saved", status_code=303)


@router.post("/users/{user_id}/deactivate", response_model=None)
def deactivate_page(
    request: Request, user_id: int, user: AdminAreaUser, session: SessionDep, now: NowDep
) -> HTMLResponse | RedirectResponse:
    return _set_active(request, session, Operator.of(user), user_id, False, now)


@router.post("/users/{user_id}/reactivate", response_model=None)
def reactivate_page(
    request: Request, user_id: int, user: AdminAreaUser, session: SessionDep, now: NowDep
) -> HTMLResponse | RedirectResponse:
    return _set_active(request, session, Operator.of(user), user_id, True, now)


def _set_active(
    request: Request, session: Session, operator: Operator, user_id: int, active: bool,
    now: datetime,
) -> HTMLResponse | RedirectResponse:  # fmt: skip
    try:
        set_active(session, operator, user_id, active, now=now)
    except DomainError as exc:
        return _detail(request, session, operator, user_id, error=_error(exc), status_code=422)
    done = "reactivated" if active else "deactivated"
    return RedirectResponse(f"/admin/users/{user_id}?done={done}", status_code=303)


@router.post("/users/{user_id}/reset-password", response_class=HTMLResponse)
async def reset_password_page(
    request: Request, user_id: int, user: AdminAreaUser, session: SessionDep, now: NowDep
) -> HTMLResponse:
    """Answered with the page itself (not a redirect): the temporary password is shown once
    and never travels in a URL."""
    operator = Operator.of(user)
    form = await _form(request)
    typed = form.get("temporary_password", "").strip()
    password = typed or temporary_password()
    try:
        reset_password(session, operator, user_id, password, now=now)
    except DomainError as exc:
        return _detail(request, session, operator, user_id, error=_error(exc), status_code=422)
    return _detail(request, session, operator, user_id, temporary=password, done="reset")


@router.post("/users/{user_id}/devices/{device_id}/revoke", response_model=None)
def revoke_device_page(
    request: Request,
    user_id: int,
    device_id: int,
    user: AdminAreaUser,
    session: SessionDep,
    now: NowDep,
) -> HTMLResponse | RedirectResponse:
    operator = Operator.of(user)
    try:
        revoke_device(session, operator, user_id, device_id, now=now)
    except DomainError as exc:
        return _detail(request, session, operator, user_id, error=_error(exc), status_code=422)
    return RedirectResponse(f"/admin/users/{user_id}?done=device_revoked", status_code=303)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    user: AdminAreaUser,
    session: SessionDep,
    action: str = "",
    actor: str = "",
    target: str = "",
    province_code: str = "",
    page: int = 1,
) -> HTMLResponse:
    operator = Operator.of(user)
    query = {"action": action, "actor": actor, "target": target, "province_code": province_code}
    filters = AuditFilter(action=action or None, actor=actor or None, target=target or None,
                          province_code=province_code or None)  # fmt: skip
    page = max(page, 1)
    try:
        entries = read_log(session, operator, filters, limit=100, offset=(page - 1) * 100)
    except DomainError as exc:
        return render(request, "admin/refused.html", {"error": _error(exc)}, status_code=403)
    context = {"entries": entries, "query": query, "page": page,
               "actions": [a.value for a in Action if a is not Action.view_user
                           and a is not Action.view_audit],
               **_places(session, operator)}  # fmt: skip
    return render(request, "admin/audit.html", context)
