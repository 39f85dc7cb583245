"""The state fees that travel with the dossiers, per dossier as the signed hand-over record
confirms them (``core.handovers.service._post_fees_handed``): from the till to the courier
who carries the dossiers on, from the courier to the office, whose payable falls by them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.money import accounts
from core.money.ledger import Leg, TransactionHeader, checked_amount, post
from core.money.models import MoneyTransaction


@dataclass(frozen=True)
class HandedFee:
    """State fees handed over for one dossier (``case_id``), or for the sitting as a whole
    (``case_id`` None) when they cannot be told apart."""

    case_id: int | None
    amount_vnd: int


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
    header = TransactionHeader(
        kind="agency_handover",
        idempotency_key=f"handover:{handover_id}",
        occurred_at=at,
        actor_user_id=actor_user_id,
        reference=f"handover:{handover_id}",
        details={"handover_id": handover_id, "office_id": office_id},
    )
    transaction, _ = post(session, header, legs)
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
    header = TransactionHeader(
        kind="fees_to_courier",
        idempotency_key=f"handover:{handover_id}",
        occurred_at=at,
        actor_user_id=actor_user_id,
        post_office_id=post_office_id,
        reference=f"handover:{handover_id}",
        details={"handover_id": handover_id, "post_office_id": post_office_id},
    )
    transaction, _ = post(session, header, legs)
    return transaction
