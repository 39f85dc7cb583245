"""Users administration services: every refusal names its field and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.admin.errors import AdminForbidden, AdminInvalidInput
from core.admin.models import AdminAuditEntry
from core.admin.permissions import Operator
from core.admin.users import (
    Binding,
    UserFilter,
    create_staff_user,
    edit_user,
    list_users,
    reset_password,
    revoke_device,
    set_active,
)
from core.errors import Conflict, DomainError
from core.identity.models import ApiToken, Device, User
from core.identity.service import authenticate, issue_token
from core.settings import Settings
from tests.core.admin.helpers import (
    BAC_NINH,
    HA_NOI,
    STRONG,
    cli_admin,
    office_in,
    post_office_in,
    staff,
)
from tests.factories import unique

NOW = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


def _counts(session: Session) -> tuple[int, int]:
    users = session.scalar(select(func.count()).select_from(User)) or 0
    audit = session.scalar(select(func.count()).select_from(AdminAuditEntry)) or 0
    return users, audit


def _refused(session: Session, call: object, kind: type[DomainError], field: str) -> DomainError:
    before = _counts(session)
    with pytest.raises(kind) as refused:
        call()  # type: ignore[operator]
    assert refused.value.field == field, refused.value.detail
    assert _counts(session) == before
    return refused.value


def test_create_desk_officer_is_bound_hashed_and_audited_without_the_password(
    db: Session,
) -> None:
    office = office_in(db, BAC_NINH)
    user = staff(db, "desk_officer", Binding(office_id=office.id), username="motcua.kinhbac")
    assert user.office_id == office.id and user.password_hash and STRONG not in user.password_hash
    assert authenticate(db, "motcua.kinhbac", STRONG, now=NOW).id == user.id
    entry = db.scalar(select(AdminAuditEntry).where(AdminAuditEntry.target_id == str(user.id)))
    assert entry is not None
    assert (entry.action, entry.actor_label, entry.province_code) == (
        "user.create", "cli:tester", BAC_NINH)  # fmt: skip
    assert entry.before is None and entry.after is not None
    assert entry.after["office_id"] == office.id and entry.after["role"] == "desk_officer"
    assert STRONG not in str(entry.after) and "password_hash" not in entry.after


def test_bad_input_is_refused_naming_the_field_and_nothing_changes(db: Session) -> None:
    office, post = office_in(db, BAC_NINH), post_office_in(db, BAC_NINH)
    staff(db, "courier", Binding(post_office_id=post.id), username="buuta.trung")

    def create(**overrides: object) -> object:
        values: dict[str, object] = {
            "username": unique("u").lower(),
            "full_name": "Lê Thị B",
            "role": "courier",
            "password": STRONG,
            "binding": Binding(post_office_id=post.id),
            "now": NOW,
        }
        values.update(overrides)
        return lambda: create_staff_user(db, cli_admin(), **values)  # type: ignore[arg-type]

    unknown = _refused(db, create(role="postmaster"), AdminInvalidInput, "role")
    assert "postmaster" in unknown.detail
    _refused(db, create(role="citizen"), AdminInvalidInput, "role")
    # A courier bound to an office, a desk officer to a post office, a supervisor to nothing.
    _refused(db, create(binding=Binding(office_id=office.id)), AdminInvalidInput, "office_id")
    _refused(db, create(role="desk_officer", binding=Binding(post_office_id=post.id)),
             AdminInvalidInput, "post_office_id")  # fmt: skip
    _refused(db, create(role="province_supervisor", binding=Binding()), AdminInvalidInput,
             "province_code")  # fmt: skip
    _refused(db, create(role="admin"), AdminInvalidInput, "post_office_id")
    _refused(db, create(binding=Binding(post_office_id=999_999)), AdminInvalidInput,
             "post_office_id")  # fmt: skip
    _refused(db, create(role="province_supervisor", binding=Binding(province_code="99")),
             AdminInvalidInput, "province_code")  # fmt: skip
    taken = _refused(db, create(username="buuta.trung"), Conflict, "username")
    assert "taken" in taken.detail
    _refused(db, create(username="BUUTA.TRUNG"), Conflict, "username")
    _refused(db, create(username="a b"), AdminInvalidInput, "username")
    _refused(db, create(full_name="   "), AdminInvalidInput, "full_name")
    _refused(db, create(phone="not a phone"), AdminInvalidInput, "phone")
    for weak in ("short1", "onlyletterslong", "12345678901", "password123", "aaaaaaaaa1"):
        _refused(db, create(password=weak), AdminInvalidInput, "password")
    _refused(db, create(username="nguyenvana", password="nguyenvana-2026"), AdminInvalidInput,
             "password")  # fmt: skip


def test_a_supervisor_manages_only_their_province_and_never_admins(db: Session) -> None:
    own_post, other_post = post_office_in(db, BAC_NINH), post_office_in(db, HA_NOI)
    supervisor = staff(db, "province_supervisor", Binding(province_code=BAC_NINH))
    operator = Operator.of(supervisor)
    courier = create_staff_user(db, operator, username=unique("bt").lower(), full_name="Bưu Tá",
                                role="courier", password=STRONG, now=NOW,
                                binding=Binding(post_office_id=own_post.id))  # fmt: skip
    assert courier.post_office_id == own_post.id
    outsider = staff(db, "courier", Binding(post_office_id=other_post.id))
    admin = staff(db, "admin", Binding())

    outside = _refused(db, lambda: create_staff_user(
        db, operator, username=unique("x").lower(), full_name="X", role="courier",
        password=STRONG, binding=Binding(post_office_id=other_post.id), now=NOW),
        AdminForbidden, "post_office_id")  # fmt: skip
    assert HA_NOI in outside.detail
    _refused(db, lambda: create_staff_user(
        db, operator, username=unique("x").lower(), full_name="X", role="admin",
        password=STRONG, now=NOW), AdminForbidden, "role")  # fmt: skip
    _refused(db, lambda: reset_password(db, operator, outsider.id, STRONG + "x", now=NOW),
             AdminForbidden, "post_office_id")  # fmt: skip
    _refused(db, lambda: set_active(db, operator, admin.id, False, now=NOW), AdminForbidden,
             "role")  # fmt: skip
    # Moving an own courier to another province's post office is reaching outside too.
    _refused(db, lambda: edit_user(db, operator, courier.id,
                                   {"post_office_id": other_post.id}, now=NOW),
             AdminForbidden, "post_office_id")  # fmt: skip
    db.refresh(courier)
    assert courier.post_office_id == own_post.id and outsider.active and admin.active

    seen = {row.user.id for row in list_users(db, operator, UserFilter())}
    assert courier.id in seen and outsider.id not in seen and admin.id not in seen
    assert supervisor.id not in seen


def test_edit_changes_role_and_binding_and_logs_before_and_after(db: Session) -> None:
    post, office = post_office_in(db, BAC_NINH), office_in(db, BAC_NINH)
    user = staff(db, "courier", Binding(post_office_id=post.id))
    edit_user(db, cli_admin(), user.id,
              {"role": "desk_officer", "office_id": office.id, "full_name": "Trần  Thị   C"},
              now=NOW)  # fmt: skip
    assert (user.role, user.office_id, user.post_office_id) == ("desk_officer", office.id, None)
    assert user.full_name == "Trần Thị C"
    entry = db.scalars(select(AdminAuditEntry).where(AdminAuditEntry.action == "user.edit",
                                                     AdminAuditEntry.target_id == str(user.id))
                       ).one()  # fmt: skip
    assert entry.before is not None and entry.after is not None
    assert entry.before["role"] == "courier" and entry.after["role"] == "desk_officer"
    assert entry.before["post_office_id"] == post.id and entry.after["office_id"] == office.id
    _refused(db, lambda: edit_user(db, cli_admin(), user.id, {"password_hash": "x"}, now=NOW),
             AdminInvalidInput, "password_hash")  # fmt: skip


def test_deactivate_ends_every_session_and_refuses_sign_in_until_reactivated(
    db: Session, settings: Settings
) -> None:
    user = staff(db, "courier", Binding(post_office_id=post_office_in(db, BAC_NINH).id))
    issue_token(db, settings, user, now=NOW)
    set_active(db, cli_admin(), user.id, False, now=NOW)
    live = db.scalar(select(func.count()).where(ApiToken.user_id == user.id,
                                                ApiToken.revoked_at.is_(None)))  # fmt: skip
    assert live == 0
    with pytest.raises(DomainError):
        authenticate(db, user.username, STRONG, now=NOW)
    set_active(db, cli_admin(), user.id, True, now=NOW)
    assert authenticate(db, user.username, STRONG, now=NOW).id == user.id
    actions = list(db.scalars(select(AdminAuditEntry.action)
                              .where(AdminAuditEntry.target_id == str(user.id))
                              .order_by(AdminAuditEntry.id)))  # fmt: skip
    assert actions == ["user.create", "user.deactivate", "user.reactivate"]


def test_an_admin_cannot_deactivate_themself(db: Session) -> None:
    admin = staff(db, "admin", Binding())
    _refused(db, lambda: set_active(db, Operator.of(admin), admin.id, False, now=NOW),
             AdminInvalidInput, "user_id")  # fmt: skip


def test_reset_password_forces_a_change_and_logs_no_password(
    db: Session, settings: Settings
) -> None:
    user = staff(db, "dispatcher", Binding(post_office_id=post_office_in(db, BAC_NINH).id))
    issue_token(db, settings, user, now=NOW)
    reset_password(db, cli_admin(), user.id, "Tam-thoi-8841", now=NOW)
    assert user.must_change_password
    assert db.scalar(select(func.count()).where(ApiToken.user_id == user.id,
                                                ApiToken.revoked_at.is_(None))) == 0  # fmt: skip
    entry = db.scalars(select(AdminAuditEntry).where(
        AdminAuditEntry.action == "user.reset_password",
        AdminAuditEntry.target_id == str(user.id))).one()  # fmt: skip
    assert entry.after is not None and entry.after["must_change_password"] is True
    assert "Tam-thoi-8841" not in str(entry.before) + str(entry.after)
    _refused(db, lambda: reset_password(db, cli_admin(), user.id, "weak", now=NOW),
             AdminInvalidInput, "password")  # fmt: skip


def test_list_filters_by_role_place_state_and_text(db: Session) -> None:
    post, office = post_office_in(db, BAC_NINH), office_in(db, BAC_NINH)
    tag = unique("loc").lower()
    courier = staff(db, "courier", Binding(post_office_id=post.id), full_name=f"Phạm {tag}")
    desk = staff(db, "desk_officer", Binding(office_id=office.id), full_name=f"Vũ {tag}")
    set_active(db, cli_admin(), desk.id, False, now=NOW)

    def ids(**filters: object) -> set[int]:
        rows = list_users(db, cli_admin(), UserFilter(text=tag, **filters))  # type: ignore[arg-type]
        return {row.user.id for row in rows}

    assert ids() == {courier.id, desk.id}
    assert ids(role="courier") == {courier.id}
    assert ids(post_office_id=post.id) == {courier.id}
    assert ids(office_id=office.id) == {desk.id}
    assert ids(active=False) == {desk.id}
    assert ids(province_code=HA_NOI) == set()
    assert ids(province_code=BAC_NINH) == {courier.id, desk.id}
    _refused(db, lambda: list_users(db, cli_admin(), UserFilter(role="king")),
             AdminInvalidInput, "role")  # fmt: skip


def test_a_revoked_device_and_its_tokens_stop_at_once(db: Session, settings: Settings) -> None:
    user = staff(db, "courier", Binding(post_office_id=post_office_in(db, BAC_NINH).id))
    device = Device(user_id=user.id, device_uid="install-1", name="Galaxy A15", platform="android",
                    registered_at=NOW)  # fmt: skip
    db.add(device)
    db.flush()
    issue_token(db, settings, user, now=NOW, device=device)
    revoke_device(db, cli_admin(), user.id, device.id, now=NOW)
    assert device.revoked_at == NOW
    assert db.scalar(select(func.count()).where(ApiToken.device_id == device.id,
                                                ApiToken.revoked_at.is_(None))) == 0  # fmt: skip
    other = staff(db, "courier", Binding(post_office_id=user.post_office_id))
    _refused(db, lambda: revoke_device(db, cli_admin(), other.id, device.id, now=NOW),
             DomainError, "device_id")  # fmt: skip
