"""The state fees handed to the office with the dossiers: the agency payable falls by them.

One function posts it, so the per-dossier figures of the hand-over record (fees declared by
the courier and confirmed by the desk, per dossier) plug in here: until they exist, a
hand-over's confirmed total is split per dossier when it equals the fees the ledger charged
for the dossiers received, and is posted as one line otherwise (the record shows the gap).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.money import accounts
from core.money.charges import case_facts
from core.money.ledger import Leg, checked_amount, post
from core.money.models import MoneyAccount, MoneyPosting, MoneyTransaction


@dataclass(frozen=True)
class HandedFee:
    """State fees handed over for one dossier (``case_id``), or for the sitting as a whole
    (``case_id`` None) when they cannot be told apart."""

    case_id: int | None
    amount_vnd: int


def state_fees_charged(session: Session, case_ids: Iterable[int]) -> dict[int, int]:
    """The state fees each case owes the office, as charged (or quoted, before the charge)."""
    wanted = sorted(set(case_ids))
    rows = session.execute(
        select(MoneyPosting.case_id, func.sum(MoneyPosting.amount_vnd))
        .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
        .where(
            MoneyAccount.kind == "citizen",
            MoneyPosting.case_id.in_(wanted),
            MoneyPosting.line == "state_fee",
            MoneyPosting.amount_vnd > 0,
        )
        .group_by(MoneyPosting.case_id)
    ).all()
    found = {int(case_id): int(total) for case_id, total in rows if case_id is not None}
    for case_id in wanted:
        if case_id not in found:
            found[case_id] = case_facts(session, case_id).due_by_line.get("state_fee", 0)
    return found


def split_confirmed(
    session: Session, case_ids: Sequence[int], confirmed_vnd: int
) -> list[HandedFee]:
    """The confirmed total per dossier when it adds up to what the dossiers were charged."""
    if confirmed_vnd <= 0:
        return []
    charged = state_fees_charged(session, case_ids)
    if case_ids and sum(charged.values()) == confirmed_vnd:
        return [HandedFee(case_id, amount) for case_id, amount in charged.items() if amount]
    return [HandedFee(None, confirmed_vnd)]


def post_agency_handover(
    session: Session,
    *,
    handover_id: int,
    office_id: int,
    courier_user_id: int,
    fees: Sequence[HandedFee],
    at: datetime,
    actor_user_id: int | None,
) -> MoneyTransaction | None:
    """Post the fees the desk confirmed: out of the courier's cash, off the office's payable.
    Once per hand-over (its id is the idempotency key); None when no fee changed hands."""
    legs: list[Leg] = []
    for fee in fees:
        amount = checked_amount(fee.amount_vnd, "fees_confirmed_vnd")
        legs.append(Leg(accounts.agency_payable(office_id), amount, "state_fee", fee.case_id))
        legs.append(Leg(accounts.courier_cash(courier_user_id), -amount, "state_fee", fee.case_id))
    if not legs:
        return None
    transaction, _ = post(
        session,
        kind="agency_handover",
        idempotency_key=f"handover:{handover_id}",
        legs=legs,
        occurred_at=at,
        actor_user_id=actor_user_id,
        reference=f"handover:{handover_id}",
        details={"handover_id": handover_id, "office_id": office_id},
    )
    return transaction


def post_fees_to_courier(
    session: Session,
    *,
    handover_id: int,
    post_office_id: int,
    courier_user_id: int,
    fees: Sequence[HandedFee],
    at: datetime,
    actor_user_id: int | None,
) -> MoneyTransaction | None:
    """The state fees a courier takes from the post office with the dossiers they carry to the
    office (the hub-to-courier sitting's fees, per dossier): out of the till, into the
    courier's cash, so the office's payable is paid from money the courier holds. The till
    pays them whether the citizen paid in cash (counted in at a cash-up) or by VietQR (the
    bank's, settled with the till by the post office's accounts)."""
    legs: list[Leg] = []
    for fee in fees:
        amount = checked_amount(fee.amount_vnd, "fees_confirmed_vnd")
        legs.append(Leg(accounts.courier_cash(courier_user_id), amount, "state_fee", fee.case_id))
        legs.append(Leg(accounts.till(post_office_id), -amount, "state_fee", fee.case_id))
    if not legs:
        return None
    transaction, _ = post(
        session,
        kind="fees_to_courier",
        idempotency_key=f"handover:{handover_id}",
        legs=legs,
        occurred_at=at,
        actor_user_id=actor_user_id,
        post_office_id=post_office_id,
        reference=f"handover:{handover_id}",
        details={"handover_id": handover_id, "post_office_id": post_office_id},
    )
    return transaction
