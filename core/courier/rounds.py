"""Reading what a courier's round needs: the delivery code, items due back, the dossier slip."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import Booking, Case
from core.cases.service import case_context
from core.courier.doorstep import DELIVERABLE_STATUSES, load_facts
from core.custody.attempts import attempts_used_up
from core.custody.models import Item, ItemState
from core.custody.parties import Actor
from core.custody.receipts import pickup_receipt_url
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, code_refusal
from core.identity.models import User
from core.otp.service import IssuedCode, issue_code
from core.papers.slip import dossier_slip_for
from core.settings import Settings
from labels.documents import render_dossier_slip
from labels.errors import InvalidCode
from labels.s10 import validate_item_id
from labels.text import mask_phone


@dataclass(frozen=True)
class DeliveryCode:
    issued: IssuedCode
    phone_masked: str


def send_delivery_code(
    session: Session,
    settings: Settings,
    actor: Actor,
    raw_code: str,
    *,
    now: datetime,
    client_ip: str | None = None,
) -> DeliveryCode:
    """Text the booking's phone a one-time code that releases this result to its bearer.

    Only the courier holding the result on a delivery round may ask, so nobody else can
    make the system text a citizen.
    """
    try:
        code = validate_item_id(raw_code)
    except InvalidCode as exc:
        raise code_refusal(exc, "code") from exc
    facts = load_facts(session, [code]).get(code)
    if facts is None:
        raise NotFound(f"no item {code}", field="code")
    if facts.kind != "result" or facts.contact_phone is None:
        raise InvalidInput(f"{code} is not a result to deliver", field="code")
    if facts.custodian != actor.party:
        raise Forbidden(f"item {code} is not held by this courier", field="code")
    if facts.status not in DELIVERABLE_STATUSES:
        raise Conflict(f"record out_for_delivery for {code} first", field="code")
    issued = issue_code(
        session,
        settings,
        phone=facts.contact_phone,
        purpose="delivery",
        now=now,
        case_id=facts.case_id,
        client_ip=client_ip,
    )
    return DeliveryCode(issued=issued, phone_masked=mask_phone(facts.contact_phone))


@dataclass(frozen=True)
class DueReturn:
    code: str
    case_id: int | None
    office_id: int | None
    attempts: int
    last_event_at: datetime


def due_returns(session: Session, settings: Settings, actor: Actor) -> list[DueReturn]:
    """Results this courier holds whose delivery attempts are used up: they go back to the
    office (a hand-off to ``office:ID``, confirmed at the desk, makes them returned_to_office)."""
    rows = session.execute(
        select(
            Item.code,
            Item.case_id,
            Booking.office_id,
            ItemState.delivery_attempts,
            ItemState.last_event_at,
        )
        .join(ItemState, ItemState.item_id == Item.id)
        .outerjoin(Case, Case.id == Item.case_id)
        .outerjoin(Booking, Booking.id == Case.booking_id)
        .where(
            ItemState.custodian == actor.party,
            ItemState.status == "attempt_failed",
            attempts_used_up(ItemState.delivery_attempts, settings),
            ItemState.pending_to.is_(None),
        )
        .order_by(ItemState.last_event_at)
    )
    return [DueReturn(*row) for row in rows]


def dossier_slip_pdf(
    session: Session, viewer: User, case_id: int, settings: Settings
) -> tuple[str, bytes]:
    """The dossier slip (phiếu hồ sơ) as filled at the door, with both signatures: the same
    paper, under the same number, as the desk prints (core.papers.slip), with the citizen's
    receipt link."""
    context = case_context(session, case_id)
    if viewer.role != "admin" and viewer.post_office_id != context.booking.post_office_id:
        raise Forbidden("this case is booked with another post office", field="case_id")
    item = session.get(Item, context.case.dossier_item_id) if context.case.dossier_item_id else None
    if item is None:
        raise Conflict("no pickup has been recorded for this case yet", field="case_id")
    slip = replace(
        dossier_slip_for(session, item), receipt_url=pickup_receipt_url(session, settings, item.id)
    )
    return f"phieu-ho-so-{item.code}.pdf", render_dossier_slip(slip)
