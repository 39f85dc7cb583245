"""A walk-in citizen hands a dossier in at the post office's counter.

Nothing here is a copy of the door-step: the booking is the citizens' booking service
(``create_booking``, with the counter's post office and no window), and the reception is the
courier's ``picked_up`` event through the same sync path (``core.courier.sync.sync``): the same
checklist against the procedure, seal number, signatures, and the same cash check and posting
with its receipt (cash taken by a clerk goes to the post office's till, not a courier's hands).
The clerk acts for the post office (``actor_for``), so the dossier is then at the post office,
held by it, and travels on with the next hand-off to a courier or in a bag.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import require_area
from core.booking.service import (
    BookingCreated,
    BookingInput,
    citizen_with_phone,
    create_booking,
    plan_booking,
)
from core.cases.models import Booking, Case
from core.courier.sync import sync
from core.custody.commands import ScanCommand, ScanResult
from core.custody.models import Item, ItemState
from core.custody.parties import party
from core.errors import Forbidden, InvalidInput, NotFound, code_refusal
from core.identity.models import User
from core.identity.service import actor_for
from core.places.models import Procedure
from core.settings import Settings
from labels.errors import InvalidCode
from labels.s10 import validate_item_id

# At the counter a dossier is handed in: a receive-only request has nothing to hand in.
WALK_IN_OPTIONS = ("send", "both")


def counter_post_office(clerk: User) -> int:
    """The post office whose counter ``clerk`` works at (refused to anyone else)."""
    require_area(clerk, "counter")
    assert clerk.post_office_id is not None  # the database binds every clerk to one
    return clerk.post_office_id


def book_walk_in(
    session: Session, settings: Settings, clerk: User, data: BookingInput, *, now: datetime
) -> BookingCreated:
    """Book the walk-in at this counter for the citizen standing there: every field checked
    as an online booking is, then the case is opened (the clerk recorded as its actor)."""
    post_office_id = counter_post_office(clerk)
    if data.service_option not in WALK_IN_OPTIONS:
        raise InvalidInput(
            "at the counter a dossier is handed in: choose send, or send and receive",
            field="service_option",
            reason="counter.walk_in_needs_dossier",
        )
    data = replace(data, walk_in_post_office_id=post_office_id, window_start=None)
    plan = plan_booking(session, settings, data, now=now)  # every field's error at once
    citizen = citizen_with_phone(session, plan.phone)
    return create_booking(session, settings, citizen, data, now=now, clerk=clerk)


@dataclass(frozen=True)
class CounterCase:
    case: Case
    booking: Booking
    procedure: Procedure
    dossier_code: str | None
    dossier_status: str | None
    result_code: str | None
    result_status: str | None


def _status(session: Session, item_id: int | None) -> tuple[str | None, str | None]:
    if item_id is None:
        return None, None
    row = session.execute(
        select(Item.code, ItemState.status)
        .join(ItemState, ItemState.item_id == Item.id)
        .where(Item.id == item_id)
    ).one()
    return str(row[0]), str(row[1])


def counter_case(session: Session, clerk: User, case_id: int) -> CounterCase:
    """A case booked with this clerk's post office; another post office's is refused."""
    post_office_id = counter_post_office(clerk)
    row = session.execute(
        select(Case, Booking, Procedure)
        .join(Booking, Booking.id == Case.booking_id)
        .join(Procedure, Procedure.id == Booking.procedure_id)
        .where(Case.id == case_id)
    ).first()
    if row is None:
        raise NotFound(f"no case {case_id}", field="case_id", reason="counter.no_case",
                       params={"case_id": case_id})  # fmt: skip
    case, booking, procedure = row
    if booking.post_office_id != post_office_id:
        raise Forbidden(
            "this case is booked with another post office",
            field="case_id",
            reason="counter.other_post_office",
        )
    dossier_code, dossier_status = _status(session, case.dossier_item_id)
    result_code, result_status = _status(session, case.result_item_id)
    return CounterCase(case, booking, procedure, dossier_code, dossier_status, result_code,
                       result_status)  # fmt: skip


def case_of_code(session: Session, clerk: User, raw_code: str) -> CounterCase:
    """The case behind a scanned dossier or result label (S10), for this counter."""
    try:
        code = validate_item_id(raw_code)
    except InvalidCode as exc:
        raise code_refusal(exc, "code") from exc
    case_id = session.scalar(select(Item.case_id).where(Item.code == code))
    if case_id is None:
        raise NotFound(f"no item {code}", field="code", reason="item.unknown",
                       params={"code": code})  # fmt: skip
    return counter_case(session, clerk, case_id)


@dataclass(frozen=True)
class CounterIntake:
    """What the clerk records at the counter: the door-step pickup's fields."""

    # Each: name, form (original | certified_copy | copy), present, not_applicable, pages.
    checklist: list[dict[str, Any]]
    seal_number: str
    fees_collected_vnd: int
    payment_method: str | None
    citizen_signature_sha256: str
    clerk_signature_sha256: str
    cash_difference_reason: str | None = None
    note: str | None = None
    client_event_id: uuid.UUID | None = None


def receive_at_counter(
    session: Session,
    settings: Settings,
    clerk: User,
    case_id: int,
    intake: CounterIntake,
    *,
    now: datetime,
) -> ScanResult:
    """Record the walk-in's dossier as received by the post office: the ``picked_up`` event
    the courier records at the door, on the same path and under the same checks. Returns the
    ledger's answer (a refusal is an answer, as on the phone: e.g. a missing document)."""
    found, dossier_code = _held_dossier(session, clerk, case_id)
    details: dict[str, Any] = {
        "checklist": intake.checklist,
        "seal_number": intake.seal_number.strip(),
        "fees_collected_vnd": intake.fees_collected_vnd,
    }
    if intake.payment_method:
        details["payment_method"] = intake.payment_method
    if intake.cash_difference_reason:
        details["cash_difference_reason"] = intake.cash_difference_reason
    if intake.note:
        details["note"] = intake.note
    command = ScanCommand(
        kind="picked_up",
        code=dossier_code,
        occurred_at=now,
        client_event_id=intake.client_event_id or uuid.uuid4(),
        # Where: the counter of the clerk's post office (the event's actor party says whose).
        place=f"post_office:{found.booking.post_office_id} counter",
        details=details,
        evidence={
            "citizen_signature_sha256": intake.citizen_signature_sha256,
            # The staff signature of the slip: at the counter, the clerk's.
            "courier_signature_sha256": intake.clerk_signature_sha256,
        },
    )
    (result,) = sync(session, settings, actor_for(clerk), [command], now=now)
    return result


def _held_dossier(session: Session, clerk: User, case_id: int) -> tuple[CounterCase, str]:
    """A case of this counter with its dossier item, else refused (another post office's
    case; a case with no dossier)."""
    found = counter_case(session, clerk, case_id)
    if found.dossier_code is None:
        raise InvalidInput("this case has no dossier to hand in", field="case_id",
                           reason="counter.walk_in_needs_dossier")  # fmt: skip
    return found, found.dossier_code


def refuse_at_counter(
    session: Session,
    settings: Settings,
    clerk: User,
    case_id: int,
    *,
    reason_code: str,
    missing: list[str],
    now: datetime,
) -> ScanResult:
    """The dossier stays with the citizen: why, and what to add — the courier's refusal at
    the door (``pickup_refused``), on the same path and under the same checks."""
    _, code = _held_dossier(session, clerk, case_id)
    details: dict[str, Any] = {"reason_code": reason_code}
    listed = [m.strip() for m in missing if m.strip()]
    if listed:
        details["missing_documents"] = listed
    command = ScanCommand(kind="pickup_refused", code=code, occurred_at=now,
                          client_event_id=uuid.uuid4(), details=details)  # fmt: skip
    (result,) = sync(session, settings, actor_for(clerk), [command], now=now)
    return result


def offer_to_courier(
    session: Session,
    settings: Settings,
    clerk: User,
    case_id: int,
    *,
    courier_id: int,
    now: datetime,
) -> ScanResult:
    """The dossier travels on: offered to a courier of this post office, who confirms it on
    the phone (custody moves then, as for every hand-off)."""
    _, code = _held_dossier(session, clerk, case_id)
    command = ScanCommand(kind="handover_offered", code=code, occurred_at=now,
                          client_event_id=uuid.uuid4(),
                          to_party=party("courier", courier_id))  # fmt: skip
    (result,) = sync(session, settings, actor_for(clerk), [command], now=now)
    return result
