"""The supervisors' queue, as data: what a bank line's outcome is called, its latest decision,
and the rows the queue lists. Who sees which rows is core.bankdesk.queue's business (it asks
core.access)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.custody.models import Item
from core.money.bank.models import BankLine, BankLineDecision

OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "matched": ("Đã khớp", "Matched"),
    "refunded": ("Đã hoàn tiền", "Refunded"),
    "unmatched": ("Không khớp hồ sơ nào", "Matches no case"),
    "duplicate": ("Chuyển trùng (hồ sơ đã trả đủ)", "Duplicate (case already paid)"),
    "wrong_amount": ("Sai số tiền", "Wrong amount"),
    "cancelled_paid": ("Lịch hẹn đã huỷ", "Booking cancelled"),
}


@dataclass(frozen=True)
class QueuedLine:
    line: BankLine
    decision: BankLineDecision
    item_code: str | None


@dataclass(frozen=True)
class RefundDue:
    case_id: int
    item_code: str | None
    contact_name: str
    post_office_id: int
    owed_back_vnd: int
    state: str


def latest_decisions(*, on: date | None = None) -> Select[BankLine, BankLineDecision]:
    """(line, its latest decision) rows, optionally of lines booked on one day."""
    latest = (
        select(BankLineDecision.line_id, func.max(BankLineDecision.id).label("id"))
        .group_by(BankLineDecision.line_id)
        .subquery()
    )
    query = (
        select(BankLine, BankLineDecision)
        .join(latest, latest.c.line_id == BankLine.id)
        .join(BankLineDecision, BankLineDecision.id == latest.c.id)
        .order_by(BankLine.booked_on, BankLine.id)
    )
    if on is not None:
        query = query.where(BankLine.booked_on == on)
    return query


def item_codes(session: Session, case_ids: Iterable[int | None]) -> dict[int, str]:
    """The item each case is known by (its dossier, else its result), in one query."""
    wanted = sorted({c for c in case_ids if c is not None})
    item_id = func.coalesce(Case.dossier_item_id, Case.result_item_id)
    rows = session.execute(
        select(Case.id, Item.code).join(Item, Item.id == item_id).where(Case.id.in_(wanted))
    ).tuples()
    return dict(rows.all())
