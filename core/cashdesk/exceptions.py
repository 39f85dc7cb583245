"""Money exceptions for a supervisor: listed within their reach, resolved with a note."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import may_see_post_office, reach_of
from core.errors import Conflict, InvalidInput, NotFound
from core.identity.models import User
from core.money.doorstep import CASH_DIFFERENCE_REASONS
from core.money.ledger import checked_text
from core.money.models import MoneyException
from core.places.models import PostOffice

KIND_LABELS: dict[str, tuple[str, str]] = {
    "doorstep_cash_difference": (
        "Bưu tá thu tiền mặt khác số cần thu",
        "Courier took a cash amount other than what was due",
    ),
}
STATUSES = ("open", "resolved")


@dataclass(frozen=True)
class ExceptionView:
    id: int
    kind: str
    kind_label_vi: str
    kind_label_en: str
    case_id: int | None
    courier_user_id: int | None
    courier_name: str | None
    post_office_id: int | None
    expected_vnd: int | None
    actual_vnd: int | None
    reason_code: str | None
    reason_label_vi: str | None
    reason_label_en: str | None
    note: str | None
    status: str
    opened_at: datetime
    resolved_at: datetime | None
    resolution: str | None


def _view(row: MoneyException, names: dict[int, str]) -> ExceptionView:
    kind = KIND_LABELS.get(row.kind, (row.kind, row.kind))
    reason = CASH_DIFFERENCE_REASONS.get(row.reason_code or "")
    return ExceptionView(
        id=row.id, kind=row.kind, kind_label_vi=kind[0], kind_label_en=kind[1],
        case_id=row.case_id, courier_user_id=row.courier_user_id,
        courier_name=names.get(row.courier_user_id or 0), post_office_id=row.post_office_id,
        expected_vnd=row.expected_vnd, actual_vnd=row.actual_vnd, reason_code=row.reason_code,
        reason_label_vi=reason[0] if reason else None,
        reason_label_en=reason[1] if reason else None, note=row.note, status=row.status,
        opened_at=row.opened_at, resolved_at=row.resolved_at, resolution=row.resolution,
    )  # fmt: skip


def list_exceptions(
    session: Session, user: User, *, status: str | None = "open", limit: int = 200
) -> list[ExceptionView]:
    """The money exceptions of the post offices ``user`` reaches, newest first."""
    if status is not None and status not in STATUSES:
        raise InvalidInput("must be open or resolved", field="status")
    query = select(MoneyException).order_by(MoneyException.id.desc()).limit(min(limit, 500))
    if status is not None:
        query = query.where(MoneyException.status == status)
    reach = reach_of(user)
    if not reach.everything:
        if reach.post_office_id is not None:
            query = query.where(MoneyException.post_office_id == reach.post_office_id)
        elif reach.province_code is not None:
            query = query.join(PostOffice, PostOffice.id == MoneyException.post_office_id).where(
                PostOffice.province_code == reach.province_code
            )
        else:
            return []
    rows = session.scalars(query).all()
    ids = {r.courier_user_id for r in rows if r.courier_user_id}
    found = session.execute(select(User.id, User.full_name).where(User.id.in_(ids))).all()
    names = {int(ident): str(name) for ident, name in found}
    return [_view(r, names) for r in rows]


def resolve_exception(
    session: Session, user: User, exception_id: int, *, resolution: str, at: datetime
) -> ExceptionView:
    row = session.get(MoneyException, exception_id, with_for_update=True)
    if row is None or not may_see_post_office(user, row.post_office_id):
        raise NotFound(f"no money exception {exception_id}", field="exception_id")
    note = checked_text(resolution, "resolution", max_length=1000)
    if row.status != "open":
        raise Conflict("this exception is already resolved", field="exception_id")
    row.status, row.resolution = "resolved", note
    row.resolved_at, row.resolved_by_user_id = at, user.id
    session.flush()
    return _view(row, {})
