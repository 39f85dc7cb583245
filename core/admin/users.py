"""Staff accounts: create, edit, deactivate, reactivate, reset password, list; their devices.

Every change is checked by ``core.admin.permissions`` against both the user as it was and
as it would be (a supervisor can neither reach into another province nor move a user there),
and written to the audit log in the same transaction. Bad input is refused before anything
changes, with the field at fault named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, aliased

from core.admin.audit import record
from core.admin.errors import AdminConflict, AdminInvalidInput
from core.admin.passwords import check_strength, revoke_all_tokens, set_password
from core.admin.permissions import SUPERVISED_ROLES, Action, Operator, require
from core.errors import NotFound
from core.identity.models import ROLES, ApiToken, Device, User
from core.identity.service import hash_password
from core.places.models import Office, PostOffice, Province

# Roles an admin can give; citizens sign themselves up with their phone number.
STAFF_ROLES = ("admin", "province_supervisor", "dispatcher", "desk_officer", "courier",
               "counter_clerk")  # fmt: skip
SUPERVISED = SUPERVISED_ROLES
OFFICE_ROLES = ("desk_officer",)
POST_OFFICE_ROLES = ("dispatcher", "courier", "counter_clerk")
PROVINCE_ROLES = ("province_supervisor",)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,49}$")
PHONE = re.compile(r"^\+?[0-9]{9,15}$")
EDITABLE = ("full_name", "phone", "role", "office_id", "post_office_id", "province_code")


@dataclass(frozen=True)
class Binding:
    office_id: int | None = None
    post_office_id: int | None = None
    province_code: str | None = None


def snapshot(user: User) -> dict[str, Any]:
    """What the audit log keeps of a user: everything but credentials."""
    return {
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "phone": user.phone,
        "office_id": user.office_id,
        "post_office_id": user.post_office_id,
        "province_code": user.province_code,
        "active": user.active,
        "must_change_password": user.must_change_password,
    }


def _binding_field(role: str) -> str:
    if role in OFFICE_ROLES:
        return "office_id"
    if role in POST_OFFICE_ROLES:
        return "post_office_id"
    return "province_code"


def _province_of_binding(session: Session, role: str, binding: Binding) -> str | None:
    """Check the binding fits the role and exists; the province it puts the user in."""
    if role not in ROLES:
        raise AdminInvalidInput(
            "role",
            f"Vai trò không hợp lệ: {role!r}. Chọn một trong: {', '.join(STAFF_ROLES)}.",
            f"unknown role {role!r}; choose one of {', '.join(STAFF_ROLES)}",
        )
    if role not in STAFF_ROLES:
        raise AdminInvalidInput(
            "role",
            "Công dân tự đăng ký bằng số điện thoại; không tạo công dân ở đây.",
            "citizens sign themselves up with their phone; they are not created here",
        )
    wanted = _binding_field(role) if role != "admin" else None
    given = {
        "office_id": binding.office_id,
        "post_office_id": binding.post_office_id,
        "province_code": binding.province_code,
    }
    for field, value in given.items():
        if value is not None and field != wanted:
            raise AdminInvalidInput(
                field,
                f"Vai trò {role} không gắn với {_FIELD_VI[field]}; để trống ô này.",
                f"a {role} is not bound to {_FIELD_EN[field]}; leave {field} empty",
            )
    if wanted is None:
        return None
    value = given[wanted]
    if value is None:
        raise AdminInvalidInput(
            wanted,
            f"Vai trò {role} phải gắn với {_FIELD_VI[wanted]}.",
            f"a {role} must be bound to {_FIELD_EN[wanted]}; give {wanted}",
        )
    if wanted == "office_id":
        office = session.get(Office, value)
        if office is None:
            raise AdminInvalidInput(
                wanted, f"Không có bộ phận một cửa số {value}.", f"no office {value}"
            )
        return office.province_code
    if wanted == "post_office_id":
        post = session.get(PostOffice, value)
        if post is None:
            raise AdminInvalidInput(
                wanted, f"Không có bưu cục số {value}.", f"no post office {value}"
            )
        return post.province_code
    if session.get(Province, value) is None:
        raise AdminInvalidInput(wanted, f"Không có tỉnh mã {value}.", f"no province {value!r}")
    return str(value)


_FIELD_VI = {"office_id": "bộ phận một cửa", "post_office_id": "bưu cục", "province_code": "tỉnh"}
_FIELD_EN = {"office_id": "an office", "post_office_id": "a post office",
             "province_code": "a province"}  # fmt: skip


def province_of(session: Session, user: User) -> str | None:
    """The province a user belongs to (none for admins and citizens)."""
    if user.province_code is not None:
        return user.province_code
    if user.office_id is not None:
        office = session.get(Office, user.office_id)
        return office.province_code if office else None
    if user.post_office_id is not None:
        post = session.get(PostOffice, user.post_office_id)
        return post.province_code if post else None
    return None


def _clean_full_name(full_name: str) -> str:
    cleaned = " ".join(full_name.split())
    if not cleaned:
        raise AdminInvalidInput("full_name", "Hãy nhập họ và tên.", "full_name is required")
    if len(cleaned) > 200:
        raise AdminInvalidInput(
            "full_name", "Họ và tên dài tối đa 200 ký tự.", "full_name: at most 200 characters"
        )
    return cleaned


def _clean_phone(phone: str | None) -> str | None:
    if phone is None or not phone.strip():
        return None
    cleaned = re.sub(r"[\s.-]", "", phone)
    if not PHONE.match(cleaned):
        raise AdminInvalidInput(
            "phone",
            "Số điện thoại không hợp lệ (9–15 chữ số).",
            "phone must be 9 to 15 digits, optionally after +",
        )
    return cleaned


def _binding_field_for_refusal(role: str) -> str:
    return _binding_field(role) if role != "admin" else "role"


def create_staff_user(
    session: Session,
    operator: Operator,
    *,
    username: str,
    full_name: str,
    role: str,
    password: str,
    binding: Binding = Binding(),
    phone: str | None = None,
    must_change_password: bool = False,
    now: datetime,
) -> User:
    """A new staff account. The password is checked against the rules, hashed, never logged."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise AdminInvalidInput(
            "username",
            "Tên đăng nhập gồm 3–50 ký tự: chữ thường không dấu, chữ số, dấu chấm, gạch.",
            "username: 3 to 50 characters, lower-case letters a-z, digits, '.', '_' or '-'",
        )
    full_name = _clean_full_name(full_name)
    phone = _clean_phone(phone)
    province = _province_of_binding(session, role, binding)
    require(operator, Action.create_user, target_role=role, target_province=province,
            province_field=_binding_field_for_refusal(role))  # fmt: skip
    check_strength(password, username=username)
    # Serialise creations of one name so two admins cannot both take it.
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext("username:" + username))))
    if session.scalar(select(User.id).where(func.lower(User.username) == username)) is not None:
        raise AdminConflict(
            "username",
            f"Tên đăng nhập {username!r} đã có người dùng.",
            f"username {username!r} is taken",
        )
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        phone=phone,
        password_hash=hash_password(password),
        office_id=binding.office_id,
        post_office_id=binding.post_office_id,
        province_code=binding.province_code,
        active=True,
        must_change_password=must_change_password,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    record(session, operator, Action.create_user, target_kind="user", target_id=user.id,
           target_label=username, province_code=province, before=None, after=snapshot(user),
           now=now)  # fmt: skip
    return user


def _locked_user(session: Session, user_id: int) -> User:
    user = session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFound(f"no user {user_id}", field="user_id")
    return user


def _require_on(session: Session, operator: Operator, action: Action, user: User) -> str | None:
    province = province_of(session, user)
    require(operator, action, target_role=user.role, target_province=province,
            province_field=_binding_field_for_refusal(user.role))  # fmt: skip
    return province


def get_user(session: Session, operator: Operator, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", field="user_id")
    _require_on(session, operator, Action.view_user, user)
    return user


def edit_user(
    session: Session, operator: Operator, user_id: int, changes: dict[str, Any], *, now: datetime
) -> User:
    """Change name, phone, role or binding. The binding is checked as it ends up."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise AdminInvalidInput(
            unknown[0],
            f"Không sửa được trường {unknown[0]!r} ở đây.",
            f"{unknown[0]!r} cannot be edited here; editable: {', '.join(EDITABLE)}",
        )
    user = _locked_user(session, user_id)
    _require_on(session, operator, Action.edit_user, user)
    before = snapshot(user)
    full_name = _clean_full_name(changes.get("full_name", user.full_name))
    phone = _clean_phone(changes.get("phone", user.phone))
    role = changes.get("role", user.role)
    role_changed = role != user.role
    # A new role takes a new binding: the old one is dropped unless given again.
    binding = Binding(
        office_id=changes.get("office_id", None if role_changed else user.office_id),
        post_office_id=changes.get("post_office_id", None if role_changed else user.post_office_id),
        province_code=changes.get("province_code", None if role_changed else user.province_code),
    )
    if user.role == "citizen":
        raise AdminInvalidInput(
            "role", "Không sửa tài khoản công dân ở đây.", "citizens are not edited here"
        )
    province = _province_of_binding(session, role, binding)
    require(operator, Action.edit_user, target_role=role, target_province=province,
            province_field=_binding_field_for_refusal(role))  # fmt: skip
    user.full_name, user.phone, user.role = full_name, phone, role
    user.office_id, user.post_office_id = binding.office_id, binding.post_office_id
    user.province_code = binding.province_code
    after = snapshot(user)
    if after == before:
        return user
    user.updated_at = now
    session.flush()
    record(session, operator, Action.edit_user, target_kind="user", target_id=user.id,
           target_label=user.username, province_code=province, before=before, after=after,
           now=now)  # fmt: skip
    return user


def set_active(
    session: Session, operator: Operator, user_id: int, active: bool, *, now: datetime
) -> User:
    """Deactivate (every session and phone token ends at once) or reactivate an account."""
    action = Action.reactivate_user if active else Action.deactivate_user
    user = _locked_user(session, user_id)
    province = _require_on(session, operator, action, user)
    if not active and operator.user_id == user.id:
        raise AdminInvalidInput(
            "user_id",
            "Bạn không thể tự khoá tài khoản của mình.",
            "you cannot deactivate your own account",
        )
    if user.active == active:
        return user
    before = snapshot(user)
    user.active = active
    user.updated_at = now
    if not active:
        revoke_all_tokens(session, user, now=now)
    session.flush()
    record(session, operator, action, target_kind="user", target_id=user.id,
           target_label=user.username, province_code=province, before=before,
           after=snapshot(user), now=now)  # fmt: skip
    return user


def reset_password(
    session: Session, operator: Operator, user_id: int, new_password: str, *, now: datetime
) -> User:
    """Set a temporary password the user must replace at next sign-in; sessions end now."""
    user = _locked_user(session, user_id)
    province = _require_on(session, operator, Action.reset_password, user)
    before = snapshot(user)
    set_password(session, user, new_password, must_change=True)
    user.updated_at = now
    revoke_all_tokens(session, user, now=now)
    session.flush()
    record(session, operator, Action.reset_password, target_kind="user", target_id=user.id,
           target_label=user.username, province_code=province, before=before,
           after=snapshot(user), now=now)  # fmt: skip
    return user


@dataclass(frozen=True)
class UserFilter:
    role: str | None = None
    office_id: int | None = None
    post_office_id: int | None = None
    province_code: str | None = None
    active: bool | None = None
    text: str | None = None  # part of the username, full name or phone


@dataclass(frozen=True)
class UserRow:
    user: User
    province_code: str | None
    office_name: str | None
    post_office_name: str | None


def list_users(
    session: Session,
    operator: Operator,
    filters: UserFilter,
    *,
    limit: int = 200,
    offset: int = 0,
) -> list[UserRow]:
    """Users the operator may see, filtered; a supervisor sees only their province's staff."""
    require(operator, Action.view_user)
    if filters.role is not None and filters.role not in ROLES:
        raise AdminInvalidInput(
            "role", f"Vai trò không hợp lệ: {filters.role!r}.", f"unknown role {filters.role!r}"
        )
    office, post = aliased(Office), aliased(PostOffice)
    province = func.coalesce(User.province_code, office.province_code, post.province_code)
    query = (
        select(User, province, office.name_vi, post.name)
        .outerjoin(office, office.id == User.office_id)
        .outerjoin(post, post.id == User.post_office_id)
        .order_by(User.username)
    )
    if operator.role != "admin":
        query = query.where(province == operator.province_code, User.role.in_(SUPERVISED_ROLES))
    if filters.role:
        query = query.where(User.role == filters.role)
    if filters.office_id is not None:
        query = query.where(User.office_id == filters.office_id)
    if filters.post_office_id is not None:
        query = query.where(User.post_office_id == filters.post_office_id)
    if filters.province_code:
        query = query.where(province == filters.province_code)
    if filters.active is not None:
        query = query.where(User.active.is_(filters.active))
    if filters.text and filters.text.strip():
        needle = filters.text.strip()
        query = query.where(
            or_(
                User.username.icontains(needle, autoescape=True),
                User.full_name.icontains(needle, autoescape=True),
                User.phone.icontains(needle, autoescape=True),
            )
        )
    rows = session.execute(query.limit(limit).offset(offset))
    return [UserRow(user, prov, office_name, post_name)
            for user, prov, office_name, post_name in rows]  # fmt: skip


def devices_of(session: Session, operator: Operator, user_id: int) -> list[Device]:
    user = get_user(session, operator, user_id)
    return list(session.scalars(select(Device).where(Device.user_id == user.id)
                                .order_by(Device.id.desc())))  # fmt: skip


def revoke_device(
    session: Session, operator: Operator, user_id: int, device_id: int, *, now: datetime
) -> Device:
    """A lost phone: the device and every token bound to it stop working at once."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", field="user_id")
    province = _require_on(session, operator, Action.revoke_device, user)
    device = session.scalar(
        select(Device).where(Device.id == device_id, Device.user_id == user.id).with_for_update()
    )
    if device is None:
        raise NotFound(f"user {user.username} has no device {device_id}", field="device_id")
    if device.revoked_at is not None:
        return device
    before = {"device": device.name, "platform": device.platform, "revoked_at": None}
    device.revoked_at = now
    session.execute(
        update(ApiToken)
        .where(ApiToken.device_id == device.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()
    record(session, operator, Action.revoke_device, target_kind="device", target_id=device.id,
           target_label=f"{user.username} / {device.name}", province_code=province,
           before=before, after={**before, "revoked_at": now.isoformat()}, now=now)  # fmt: skip
    return device


__all__ = [
    "Binding",
    "UserFilter",
    "UserRow",
    "check_strength",
    "create_staff_user",
    "devices_of",
    "edit_user",
    "get_user",
    "list_users",
    "province_of",
    "reset_password",
    "revoke_device",
    "set_active",
]
