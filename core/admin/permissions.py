"""Who may do what in the admin area: the one place these decisions are made.

Every edge (pages, JSON API, CLI) asks ``may_act`` / ``require`` before acting; the
edges themselves only check that someone is signed in. Kept apart from the other domains'
checks so it can be folded into a shared authorisation module as one piece.

The rules:
- an admin manages every user, everywhere, and reads the audit log;
- a province supervisor manages the operating staff (dispatchers, desk officers, couriers,
  counter clerks) of their own province only: never admins, other supervisors or citizens,
  and never anyone of another province;
- nobody else enters the admin area.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.access import may_enter, roles_for
from core.admin.errors import AdminForbidden
from core.identity.models import User

# Who enters the admin area at all is core.access's "administer" row.
ADMIN_AREA_ROLES = roles_for("administer")
# The staff a province supervisor may create and manage.
SUPERVISED_ROLES = ("dispatcher", "desk_officer", "courier", "counter_clerk")


class Action(StrEnum):
    view_user = "user.view"
    create_user = "user.create"
    edit_user = "user.edit"
    deactivate_user = "user.deactivate"
    reactivate_user = "user.reactivate"
    reset_password = "user.reset_password"
    revoke_device = "device.revoke"
    view_audit = "audit.view"


@dataclass(frozen=True)
class Operator:
    """Who performs an admin action: a signed-in user, or the command line.

    The command line runs with the database's own credentials, so it acts as an admin; its
    label (``cli:<os user>``) is what the audit log records.
    """

    user: User | None
    label: str

    @property
    def role(self) -> str:
        return self.user.role if self.user is not None else "admin"

    @property
    def province_code(self) -> str | None:
        return self.user.province_code if self.user is not None else None

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None

    @classmethod
    def of(cls, user: User) -> Operator:
        return cls(user=user, label=f"{user.username} ({user.role})")

    @classmethod
    def command_line(cls, os_user: str) -> Operator:
        return cls(user=None, label=f"cli:{os_user}")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    field: str | None = None
    reason_vi: str = ""
    reason_en: str = ""


ALLOWED = Decision(allowed=True)


def may_enter_admin_area(user: User) -> bool:
    return user.active and may_enter(user, "administer")


def may_act(
    operator: Operator,
    action: Action,
    *,
    target_role: str | None = None,
    target_province: str | None = None,
    province_field: str = "province_code",
) -> Decision:
    """May ``operator`` do ``action`` on a user holding ``target_role`` in ``target_province``?

    ``province_field`` names the input a refusal points at (the office or post office that
    put the target in another province).
    """
    if operator.user is not None and not operator.user.active:
        return Decision(
            False, "authorization", "Tài khoản của bạn đã bị khoá.", "your account is disabled"
        )
    if operator.role == "admin":
        return ALLOWED
    if operator.user is not None and not may_enter(operator.user, "administer"):
        return Decision(
            False,
            "role",
            "Chỉ quản trị viên hoặc giám sát tỉnh được làm việc này.",
            "only an admin or a province supervisor can do this",
        )
    if action is Action.view_audit:
        # The refusal names the role (every refusal names a field): it is the caller's role,
        # not any input, that keeps a supervisor out of the log.
        return Decision(
            False,
            "role",
            "Chỉ quản trị viên được xem nhật ký quản trị.",
            "only an admin can read the audit log",
        )
    if target_role is not None and target_role not in SUPERVISED_ROLES:
        return Decision(
            False,
            "role",
            "Giám sát tỉnh chỉ quản lý điều phối viên, cán bộ một cửa, bưu tá và giao dịch viên.",
            "a province supervisor manages only dispatchers, desk officers, couriers and "
            "counter clerks",
        )
    if target_province is not None and target_province != operator.province_code:
        return Decision(
            False,
            province_field,
            "Người dùng này thuộc tỉnh khác; bạn chỉ quản lý tỉnh của mình.",
            f"this user belongs to province {target_province}; you manage only province "
            f"{operator.province_code}",
        )
    return ALLOWED


def require(
    operator: Operator,
    action: Action,
    *,
    target_role: str | None = None,
    target_province: str | None = None,
    province_field: str = "province_code",
) -> None:
    """``may_act`` or a Forbidden refusal naming the field and the reason."""
    decision = may_act(
        operator,
        action,
        target_role=target_role,
        target_province=target_province,
        province_field=province_field,
    )
    if not decision.allowed:
        raise AdminForbidden(decision.field, decision.reason_vi, decision.reason_en)
