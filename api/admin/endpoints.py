"""JSON API of users administration: /api/v1/admin/users and /api/v1/admin/audit.

Thin: each handler calls one core.admin service, which decides who may do what
(core.admin.permissions) and writes the audit log. Errors come back as
``{error, detail, field}`` from the app's one handler.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.admin.schemas import (
    AuditRead,
    DeviceRead,
    PasswordReset,
    PasswordResetRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from api.staff import staff_user
from core.admin.audit import AuditFilter, read_log
from core.admin.models import AdminAuditEntry
from core.admin.passwords import temporary_password
from core.admin.permissions import Operator
from core.admin.users import (
    Binding,
    UserFilter,
    create_staff_user,
    devices_of,
    edit_user,
    get_user,
    list_users,
    reset_password,
    revoke_device,
    set_active,
)
from core.identity.models import Device, User
from edge.deps import NowDep, SessionDep

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


def _operator(user: Annotated[User, Depends(staff_user("administer"))]) -> Operator:
    return Operator.of(user)


OperatorDep = Annotated[Operator, Depends(_operator)]


def user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        phone=user.phone,
        office_id=user.office_id,
        post_office_id=user.post_office_id,
        province_code=user.province_code,
        active=user.active,
        must_change_password=user.must_change_password,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def device_read(device: Device) -> DeviceRead:
    return DeviceRead(id=device.id, name=device.name, platform=device.platform,
                      registered_at=device.registered_at, revoked_at=device.revoked_at)  # fmt: skip


def audit_read(entry: AdminAuditEntry) -> AuditRead:
    return AuditRead(
        id=entry.id,
        occurred_at=entry.occurred_at,
        actor_user_id=entry.actor_user_id,
        actor_label=entry.actor_label,
        action=entry.action,
        target_kind=entry.target_kind,
        target_id=entry.target_id,
        target_label=entry.target_label,
        province_code=entry.province_code,
        before=entry.before,
        after=entry.after,
    )


@router.get("/users")
def get_users(
    operator: OperatorDep,
    session: SessionDep,
    role: str | None = None,
    office_id: int | None = None,
    post_office_id: int | None = None,
    province_code: str | None = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(description="Part of the username, name or phone.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[UserRead]:
    """Users the caller may manage (a province supervisor: their province's staff)."""
    filters = UserFilter(role=role, office_id=office_id, post_office_id=post_office_id,
                         province_code=province_code, active=active, text=q)  # fmt: skip
    rows = list_users(session, operator, filters, limit=limit, offset=offset)
    return [user_read(row.user) for row in rows]


@router.post("/users", status_code=201)
def post_user(
    body: UserCreate, operator: OperatorDep, session: SessionDep, now: NowDep
) -> UserRead:
    user = create_staff_user(
        session,
        operator,
        username=body.username,
        full_name=body.full_name,
        role=body.role,
        password=body.password,
        phone=body.phone,
        binding=Binding(
            office_id=body.office_id,
            post_office_id=body.post_office_id,
            province_code=body.province_code,
        ),  # fmt: skip
        must_change_password=body.must_change_password,
        now=now,
    )
    return user_read(user)


@router.get("/users/{user_id}")
def get_one_user(user_id: int, operator: OperatorDep, session: SessionDep) -> UserRead:
    return user_read(get_user(session, operator, user_id))


@router.patch("/users/{user_id}")
def patch_user(
    user_id: int, body: UserUpdate, operator: OperatorDep, session: SessionDep, now: NowDep
) -> UserRead:
    changes = body.model_dump(exclude_unset=True)
    return user_read(edit_user(session, operator, user_id, changes, now=now))


@router.post("/users/{user_id}/deactivate")
def post_deactivate(
    user_id: int, operator: OperatorDep, session: SessionDep, now: NowDep
) -> UserRead:
    return user_read(set_active(session, operator, user_id, False, now=now))


@router.post("/users/{user_id}/reactivate")
def post_reactivate(
    user_id: int, operator: OperatorDep, session: SessionDep, now: NowDep
) -> UserRead:
    return user_read(set_active(session, operator, user_id, True, now=now))


@router.post("/users/{user_id}/reset-password")
def post_reset_password(
    user_id: int, body: PasswordReset, operator: OperatorDep, session: SessionDep, now: NowDep
) -> PasswordResetRead:
    """Set a temporary password the user must replace at the next sign-in."""
    generated = temporary_password() if body.temporary_password is None else None
    password = body.temporary_password or generated or ""
    user = reset_password(session, operator, user_id, password, now=now)
    return PasswordResetRead(user=user_read(user), temporary_password=generated)


@router.get("/users/{user_id}/devices")
def get_devices(user_id: int, operator: OperatorDep, session: SessionDep) -> list[DeviceRead]:
    return [device_read(d) for d in devices_of(session, operator, user_id)]


@router.post("/users/{user_id}/devices/{device_id}/revoke")
def post_revoke_device(
    user_id: int, device_id: int, operator: OperatorDep, session: SessionDep, now: NowDep
) -> DeviceRead:
    return device_read(revoke_device(session, operator, user_id, device_id, now=now))


@router.get("/audit")
def get_audit(
    operator: OperatorDep,
    session: SessionDep,
    action: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    province_code: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AuditRead]:
    """The audit log, newest first (admins only)."""
    filters = AuditFilter(action=action, actor=actor, target=target, province_code=province_code,
                          since=since, until=until)  # fmt: skip
    return [audit_read(e) for e in read_log(session, operator, filters, limit=limit, offset=offset)]
