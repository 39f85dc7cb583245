"""The audit log refuses edits in the database; the forced password change after a reset."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.admin.audit import AuditFilter, read_log
from core.admin.errors import AdminForbidden, AdminInvalidInput, PasswordChangeRequired
from core.admin.passwords import change_password
from core.admin.permissions import Action, Operator, may_act
from core.admin.users import Binding, reset_password
from core.courier.devices import sign_in
from core.errors import Unauthorized
from core.identity.service import authenticate
from core.settings import Settings
from tests.core.admin.helpers import BAC_NINH, HA_NOI, cli_admin, post_office_in, staff

NOW = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE admin_audit_log SET actor_label = 'someone else'",
        "DELETE FROM admin_audit_log",
        "TRUNCATE admin_audit_log",
    ],
)
def test_the_audit_log_is_append_only_in_the_database(db: Session, statement: str) -> None:
    staff(db, "admin", Binding())  # at least one entry to touch
    savepoint = db.begin_nested()
    # The app's role lacks the privilege; the owner would meet the trigger.
    with pytest.raises(DBAPIError, match="append-only|permission denied"):
        db.execute(text(statement))
    savepoint.rollback()
    assert db.scalar(text("SELECT count(*) FROM admin_audit_log")) >= 1


def test_only_admins_read_the_log_with_filters(db: Session) -> None:
    post = post_office_in(db, HA_NOI)
    courier = staff(db, "courier", Binding(post_office_id=post.id))
    entries = read_log(db, cli_admin(), AuditFilter(target=courier.username, province_code=HA_NOI))
    assert [e.action for e in entries] == ["user.create"]
    assert read_log(db, cli_admin(), AuditFilter(target=courier.username, action="user.edit")) == []
    supervisor = staff(db, "province_supervisor", Binding(province_code=BAC_NINH))
    with pytest.raises(AdminForbidden):
        read_log(db, Operator.of(supervisor), AuditFilter())


def test_may_act_for_each_kind_of_operator(db: Session) -> None:
    post = post_office_in(db, BAC_NINH)
    supervisor = Operator.of(staff(db, "province_supervisor", Binding(province_code=BAC_NINH)))
    dispatcher = Operator.of(staff(db, "dispatcher", Binding(post_office_id=post.id)))
    assert may_act(cli_admin(), Action.create_user, target_role="admin").allowed
    assert may_act(supervisor, Action.create_user, target_role="courier",
                   target_province=BAC_NINH).allowed  # fmt: skip
    assert not may_act(supervisor, Action.create_user, target_role="courier",
                       target_province=HA_NOI).allowed  # fmt: skip
    assert not may_act(supervisor, Action.edit_user, target_role="province_supervisor",
                       target_province=BAC_NINH).allowed  # fmt: skip
    assert not may_act(supervisor, Action.view_audit).allowed
    assert not may_act(dispatcher, Action.view_user).allowed


def test_after_a_reset_sign_in_waits_for_a_new_password(db: Session, settings: Settings) -> None:
    courier = staff(db, "courier", Binding(post_office_id=post_office_in(db, BAC_NINH).id))
    reset_password(db, cli_admin(), courier.id, "Tam-thoi-8841", now=NOW)
    with pytest.raises(PasswordChangeRequired) as refused:
        sign_in(db, settings, username=courier.username, password="Tam-thoi-8841",
                install_id="i-1", device_name="A15", platform="android", now=NOW)  # fmt: skip
    assert refused.value.code == "password_change_required"
    with pytest.raises(Unauthorized):
        change_password(db, username=courier.username, current_password="wrong-one-123",
                        new_password="Moi-hoan-toan-77", now=NOW)  # fmt: skip
    with pytest.raises(AdminInvalidInput) as weak:
        change_password(db, username=courier.username, current_password="Tam-thoi-8841",
                        new_password="short", now=NOW)  # fmt: skip
    assert weak.value.field == "new_password" and courier.must_change_password
    change_password(db, username=courier.username, current_password="Tam-thoi-8841",
                    new_password="Moi-hoan-toan-77", now=NOW)  # fmt: skip
    assert not courier.must_change_password
    assert authenticate(db, courier.username, "Moi-hoan-toan-77", now=NOW).id == courier.id
    signed = sign_in(db, settings, username=courier.username, password="Moi-hoan-toan-77",
                     install_id="i-1", device_name="A15", platform="android", now=NOW)  # fmt: skip
    assert signed.user.id == courier.id
