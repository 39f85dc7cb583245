"""The supervisors' queue: bank lines waiting for a decision, and cases owed money back.

What one person sees is their reach (``core.access.may_see_bank_line`` / ``may_see_case``):
a dispatcher their post office's, a province supervisor their province's, an admin all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.access import may_see_bank_line, may_see_case
from core.cases.models import Booking, Case
from core.custody.models import Item
from core.identity.models import User
from core.money.bank.models import OPEN_OUTCOMES, BankLine, BankLineDecision
from core.money.models import MoneyAccount, MoneyPosting
from core.money.state import payment_state

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


def _dossier_code(session: Session, case_id: int | None) -> str | None:
    if case_id is None:
        return None
    case = session.get(Case, case_id)
    item_id = case.dossier_item_id or case.result_item_id if case is not None else None
    item = session.get(Item, item_id) if item_id else None
    return item.code if item is not None else None


def open_lines(session: Session, user: User) -> list[QueuedLine]:
    rows = session.execute(
        latest_decisions().where(BankLineDecision.outcome.in_(OPEN_OUTCOMES))
    ).all()
    return [
        QueuedLine(line, decision, _dossier_code(session, decision.case_id))
        for line, decision in rows
        if may_see_bank_line(user, line)
    ]


def refunds_due(session: Session, user: User) -> list[RefundDue]:
    """Cases whose citizen is owed money back: their receivable account is below zero."""
    owed = (
        select(MoneyAccount.ref_id)
        .join(MoneyPosting, MoneyPosting.account_id == MoneyAccount.id)
        .where(MoneyAccount.kind == "citizen")
        .group_by(MoneyAccount.ref_id)
        .having(func.sum(MoneyPosting.amount_vnd) < 0)
    )
    found: list[RefundDue] = []
    for case, booking in session.execute(
        select(Case, Booking)
        .join(Booking, Booking.id == Case.booking_id)
        .where(Case.id.in_(owed))
        .order_by(Case.id)
    ).all():
        if not may_see_case(user, booking, case):
            continue
        state = payment_state(session, case.id)
        if state.owed_back_vnd > 0:
            found.append(
                RefundDue(
                    case.id, _dossier_code(session, case.id), booking.contact_name,
                    booking.post_office_id, state.owed_back_vnd, state.state,
                )
            )  # fmt: skip
    return found
