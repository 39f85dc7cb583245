"""Shared set-up for the users administration tests: places in two provinces, operators."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.admin.permissions import Operator
from core.admin.users import Binding, create_staff_user
from core.identity.models import User
from core.places.models import Commune, Office, PostOffice
from tests.factories import make_office, make_post_office, unique

BAC_NINH, HA_NOI = "24", "01"
STRONG = "Kinh-Bac-2026"


def commune_of(session: Session, province_code: str) -> str:
    code = session.scalar(
        select(Commune.code).where(Commune.province_code == province_code).limit(1)
    )
    assert code is not None
    return code


def office_in(session: Session, province_code: str) -> Office:
    return make_office(session, province_code=province_code,
                       commune_code=commune_of(session, province_code))  # fmt: skip


def post_office_in(session: Session, province_code: str) -> PostOffice:
    return make_post_office(session, province_code=province_code,
                            commune_code=commune_of(session, province_code))  # fmt: skip


def cli_admin() -> Operator:
    return Operator.command_line("tester")


def staff(session: Session, role: str, binding: Binding, **overrides: Any) -> User:
    from datetime import UTC, datetime

    values: dict[str, Any] = {
        "username": unique(role.replace("_", "")).lower(),
        "full_name": "Nguyễn Văn Thử",
        "role": role,
        "password": STRONG,
        "binding": binding,
        "now": datetime.now(UTC),
    }
    values.update(overrides)
    return create_staff_user(session, cli_admin(), **values)
