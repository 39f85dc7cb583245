"""The supervisors' queue: bank lines waiting for a decision, and cases owed money back.

What one person sees is their reach (``core.access.may_see_bank_line`` / ``may_see_case``):
a dispatcher their post office's, a province supervisor their province's, an admin all.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.access import may_see_bank_line, may_see_case
from core.cases.models import Booking, Case
from core.identity.models import User
from core.money.bank.models import OPEN_OUTCOMES, BankLineDecision
from core.money.bank.queue import QueuedLine, RefundDue, item_codes, latest_decisions
from core.money.models import MoneyAccount, MoneyPosting
from core.money.state import payment_states


def open_lines(session: Session, user: User) -> list[QueuedLine]:
    rows = session.execute(
        latest_decisions().where(BankLineDecision.outcome.in_(OPEN_OUTCOMES))
    ).all()
    visible = [(line, decision) for line, decision in rows if may_see_bank_line(user, line)]
    codes = item_codes(session, [decision.case_id for _, decision in visible])
    return [
        QueuedLine(line, decision, codes.get(decision.case_id) if decision.case_id else None)
        for line, decision in visible
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
    cases = [
        (case, booking)
        for case, booking in session.execute(
            select(Case, Booking)
            .join(Booking, Booking.id == Case.booking_id)
            .where(Case.id.in_(owed))
            .order_by(Case.id)
        ).all()
        if may_see_case(user, booking, case)
    ]
    states = payment_states(session, [case.id for case, _ in cases])
    codes = item_codes(session, [case.id for case, _ in cases])
    found: list[RefundDue] = []
    for case, booking in cases:
        state = states[case.id]
        if state.owed_back_vnd > 0:
            found.append(
                RefundDue(
                    case.id, codes.get(case.id), booking.contact_name,
                    booking.post_office_id, state.owed_back_vnd, state.state,
                )
            )  # fmt: skip
    return found
