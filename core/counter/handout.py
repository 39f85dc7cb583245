"""A result collected at the counter ("nhận tại bưu cục"), on the same proofs as at the door.

The citizen chose, at booking or later on ``/my``, to collect the result at the booking's post
office (``bookings.result_at_post_office``). The result reaches the post office as any item
does (a courier's hand-off confirmed by the post office: then it is ``at_post_office``, held
by it; or a bag from another post office or province scanned in: ``arrived``). The clerk
hands it over with the courier's ``delivered`` event on the same path
(``core.courier.sync.sync`` and its door-step checks): the citizen's chip ID card QR (typed by
a 2D scanner) or the one-time code texted to the booking's phone, and their signature. The
fee still due is collected first, into the post office's till, with its receipt.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import Booking, Case
from core.counter.reception import counter_post_office
from core.courier.doorstep import AT_COUNTER_STATUSES
from core.courier.rounds import DeliveryCode, send_delivery_code
from core.courier.sync import sync
from core.custody.commands import ScanCommand, ScanResult
from core.custody.models import Item, ItemState
from core.custody.parties import party
from core.errors import Conflict, InvalidInput
from core.identity.models import User
from core.identity.service import actor_for
from core.money.models import Receipt
from core.money.payments import record_payment
from core.money.state import payment_state
from core.settings import Settings

COUNTER_PROOFS = ("cccd_qr", "otp")


@dataclass(frozen=True)
class WaitingResult:
    """A result at this post office for its citizen to collect."""

    code: str
    case_id: int
    contact_name: str
    arrived_at: datetime


def results_to_collect(session: Session, clerk: User) -> list[WaitingResult]:
    """Results held by this post office whose citizens chose to collect them here."""
    post_office_id = counter_post_office(clerk)
    rows = session.execute(
        select(Item.code, Case.id, Booking.contact_name, ItemState.last_event_at)
        .join(ItemState, ItemState.item_id == Item.id)
        .join(Case, Case.id == Item.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .where(
            Item.kind == "result",
            ItemState.status.in_(AT_COUNTER_STATUSES),
            ItemState.custodian == party("post_office", post_office_id),
            ItemState.pending_to.is_(None),
            Booking.result_at_post_office.is_(True),
        )
        .order_by(ItemState.last_event_at)
    )
    return [WaitingResult(*row) for row in rows]


def due_for(session: Session, case_id: int) -> int:
    """What the citizen still owes on the case, from the money ledger."""
    return payment_state(session, case_id).due_vnd


def send_counter_code(
    session: Session, settings: Settings, clerk: User, raw_code: str, *, now: datetime
) -> DeliveryCode:
    """Text the booking's phone the one-time code that releases the result (the courier's
    service: only the holder, this post office, may ask)."""
    counter_post_office(clerk)
    return send_delivery_code(session, settings, actor_for(clerk), raw_code, now=now)


@dataclass(frozen=True)
class Handout:
    result: ScanResult
    receipt: Receipt | None


def hand_out(
    session: Session,
    settings: Settings,
    clerk: User,
    case_id: int,
    *,
    proof: str,
    cccd_qr: str | None,
    otp_code: str | None,
    fees_collected_vnd: int,
    signature_sha256: str,
    now: datetime,
    client_event_id: uuid.UUID | None = None,
) -> Handout:
    """Hand the case's result to the citizen at the counter, the fee due taken first.

    The fee must be exactly what the ledger says is due (the till gives change); anything
    else is refused before the ledger is touched. A refused proof is the ledger's answer
    (``result.outcome == "rejected"``), kept so a wrong one-time code counts as a guess."""
    post_office_id = counter_post_office(clerk)
    if proof not in COUNTER_PROOFS:
        raise InvalidInput("the citizen's chip ID card QR, or the one-time code",
                           field="proof", reason="counter.proof")  # fmt: skip
    case = session.get(Case, case_id)
    booking = session.get(Booking, case.booking_id) if case is not None else None
    if case is None or booking is None or case.result_item_id is None:
        raise Conflict("this case has no result to hand out", field="case_id",
                       reason="counter.no_result")  # fmt: skip
    if booking.post_office_id != post_office_id:
        raise Conflict("this case is booked with another post office", field="case_id",
                       reason="counter.other_post_office")  # fmt: skip
    state = payment_state(session, case_id)
    due = state.due_vnd
    if fees_collected_vnd != due:
        raise InvalidInput(
            f"{due} đồng is due; collect exactly that",
            field="fees_collected_vnd",
            reason="counter.fee_due",
            params={"due": f"{due:,}".replace(",", ".")},
        )
    code = session.scalar(select(Item.code).where(Item.id == case.result_item_id))
    assert code is not None
    evidence: dict[str, str] = {"proof": proof, "signature_sha256": signature_sha256}
    if proof == "cccd_qr":
        evidence["cccd_qr"] = cccd_qr or ""
    else:
        evidence["otp_code"] = otp_code or ""
    event_id = client_event_id or uuid.uuid4()
    command = ScanCommand(
        kind="delivered",
        code=code,
        occurred_at=now,
        client_event_id=event_id,
        place=f"post_office:{post_office_id} counter",
        evidence=evidence,
    )
    (result,) = sync(session, settings, actor_for(clerk), [command], now=now)
    receipt = None
    if result.outcome == "accepted" and not result.replayed and due > 0:
        receipt = record_payment(
            session,
            case_id=case_id,
            method="cash",
            amount_vnd=due,
            at=now,
            actor_user_id=clerk.id,
            payer=booking.contact_name,
            reference=f"counter-handout:{code}",
            idempotency_key=f"counter-handout:{event_id}",
            read=state,  # split by what the clerk was shown, checked under the payment's locks
            actor_role=clerk.role,
        )
    return Handout(result, receipt)
