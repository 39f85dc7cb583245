"""What a one-stop desk sees and does: incoming items, open hand-overs, dossier codes,
results and returns, always within the officer's own office.

Custody moves go through ``core.handovers.service`` (receiving a courier's items, results
collected, returns) and ``core.cases.service.register_result``, so each is a ledger event
with the officer as actor. Services flush; the page owns the transaction.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.booking.receive import Reference, register_result_for_case, waiting_case
from core.cases.models import Booking, Case
from core.courier.doorstep import ATTEMPT_FAILURE_REASONS
from core.custody.models import CustodyEvent, Item, ItemState
from core.custody.parties import party, party_kind
from core.desk.access import item_code
from core.desk.models import DeskAction
from core.errors import Forbidden, InvalidInput, NotFound, code_refusal
from core.handovers.models import Handover, HandoverLine
from core.handovers.service import confirming_party, party_name
from core.identity.models import User
from core.identity.service import actor_for
from core.papers.codes import record_dossier_code
from core.places.models import Office, Procedure
from core.portal.sync import note_agency_code
from core.settings import Settings
from labels.dossier_code import validate_dossier_code
from labels.errors import InvalidCode
from labels.text import mask_phone

# Two letters then digits: an item ID (checked in full by ``item_code``), not a slip number.
_ITEM_SHAPE = re.compile(r"^[A-Z]{2}[0-9]")
# A courier holds a dossier on its way to the office in these statuses.
_ON_THE_WAY = ("picked_up", "in_transit", "at_post_office", "arrived")


def desk_office(session: Session, user: User) -> Office:
    if user.role != "desk_officer" or user.office_id is None:
        raise Forbidden(
            "the desk is for desk officers bound to an office",
            field="role",
            reason="desk.no_office",
        )
    office = session.get(Office, user.office_id)
    assert office is not None
    return office


@dataclass(frozen=True)
class ItemRow:
    code: str
    kind: str
    status: str
    case_id: int
    procedure: str
    citizen: str  # name and masked phone: enough to recognise, not to copy
    holder: str
    agency_dossier_code: str | None = None
    appointment_date: date | None = None
    pending_to: str | None = None  # a hand-over of it is open, to this party
    attempts: list[tuple[datetime, tuple[str, str]]] = field(default_factory=list)


@dataclass(frozen=True)
class CourierGroup:
    courier_party: str
    courier_name: str
    items: list[ItemRow]


def _rows(session: Session, office_id: int, where: Any, kind: str) -> list[ItemRow]:
    result = session.execute(
        select(Item, ItemState, Case, Booking, Procedure.name_vi)
        .join(ItemState, ItemState.item_id == Item.id)
        .join(Case, Case.id == Item.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .join(Procedure, Procedure.id == Booking.procedure_id)
        .where(Booking.office_id == office_id, Item.kind == kind, where)
        .order_by(ItemState.custodian, Item.code)
    ).all()
    return [
        ItemRow(
            code=item.code, kind=item.kind, status=state.status, case_id=case.id,
            procedure=procedure,
            citizen=f"{booking.contact_name} ({mask_phone(booking.contact_phone)})",
            holder=state.custodian, agency_dossier_code=case.agency_dossier_code,
            appointment_date=case.appointment_date, pending_to=state.pending_to,
        )
        for item, state, case, booking, procedure in result
    ]  # fmt: skip


def _by_courier(session: Session, rows: list[ItemRow]) -> list[CourierGroup]:
    groups: dict[str, list[ItemRow]] = defaultdict(list)
    for row in rows:
        groups[row.holder].append(row)
    return [CourierGroup(p, party_name(session, p), items) for p, items in sorted(groups.items())]


def expected_incoming(session: Session, office_id: int) -> list[CourierGroup]:
    """Dossiers for this office that couriers hold now, by courier: what may arrive today."""
    rows = _rows(
        session, office_id,
        ItemState.status.in_(_ON_THE_WAY) & ItemState.custodian.like("courier:%"), "dossier",
    )  # fmt: skip
    return _by_courier(session, rows)


def results_waiting(session: Session, office_id: int) -> list[ItemRow]:
    """Results the office holds, for a courier to collect (returned ones included)."""
    here = party("office", office_id)
    return _rows(
        session, office_id,
        (ItemState.custodian == here) & ItemState.pending_to.is_(None)
        & ItemState.status.in_(("result_registered", "returned_to_office")),
        "result",
    )  # fmt: skip


def returns_expected(session: Session, office_id: int) -> list[ItemRow]:
    """Results couriers could not deliver, with each failed attempt: coming back to the desk."""
    rows = _rows(session, office_id, ItemState.status == "attempt_failed", "result")
    attempts = attempts_of(session, [r.code for r in rows])
    return [replace(row, attempts=attempts.get(row.code, [])) for row in rows]


@dataclass(frozen=True)
class HandoverSummary:
    id: int
    code: str
    direction: str  # "incoming" (to the office) or "outgoing" (results to a courier)
    other_party: str
    other_name: str
    opened_at: datetime
    listed: int
    received: int
    mine_to_confirm: bool


def open_handovers(session: Session, office_id: int) -> list[HandoverSummary]:
    here = party("office", office_id)
    handovers = list(
        session.scalars(
            select(Handover)
            .where((Handover.from_party == here) | (Handover.to_party == here))
            .where(Handover.status == "open")
            .order_by(Handover.opened_at)
        )
    )
    counts: dict[int, tuple[int, int]] = {}
    for handover_id, outcome in session.execute(
        select(HandoverLine.handover_id, HandoverLine.outcome).where(
            HandoverLine.handover_id.in_([h.id for h in handovers])
        )
    ):
        listed, received = counts.get(handover_id, (0, 0))
        counts[handover_id] = (
            listed + (outcome != "extra"),
            received + (outcome not in ("expected", "extra")),
        )
    summaries = []
    for h in handovers:
        incoming = h.to_party == here
        other = h.from_party if incoming else h.to_party
        listed, received = counts.get(h.id, (0, 0))
        summaries.append(
            HandoverSummary(
                id=h.id, code=h.code, direction="incoming" if incoming else "outgoing",
                other_party=other, other_name=party_name(session, other), opened_at=h.opened_at,
                listed=listed, received=received, mine_to_confirm=confirming_party(h) == here,
            )
        )  # fmt: skip
    return summaries


def handover_for_desk(session: Session, user: User, handover_id: int) -> Handover:
    """A hand-over this officer's office takes part in; any other is refused."""
    office = desk_office(session, user)
    handover = session.get(Handover, handover_id)
    if handover is None:
        raise NotFound(
            f"no hand-over {handover_id}", field="handover_id", reason="handover.unknown"
        )
    if party("office", office.id) not in (handover.from_party, handover.to_party):
        raise Forbidden(
            f"hand-over {handover.code} is another office's",
            field="handover_id",
            reason="handover.other_office",
            params={"code": handover.code},
        )
    return handover


def attempts_of(
    session: Session, codes: list[str]
) -> dict[str, list[tuple[datetime, tuple[str, str]]]]:
    """The failed delivery attempts of result items: the record a return comes back with.

    Each reason is given as (Vietnamese, English) from the couriers' reason table.
    """
    found: dict[str, list[tuple[datetime, tuple[str, str]]]] = defaultdict(list)
    if not codes:
        return found
    for code, occurred, reason in session.execute(
        select(Item.code, CustodyEvent.occurred_at, CustodyEvent.details["reason_code"].astext)
        .join(Item, Item.id == CustodyEvent.item_id)
        .where(Item.code.in_(codes), CustodyEvent.kind == "attempt_failed")
        .order_by(CustodyEvent.item_id, CustodyEvent.seq)
    ):
        label = ATTEMPT_FAILURE_REASONS.get(reason or "", (reason or "—", reason or "—"))
        found[code].append((occurred, label))
    return found


# -- cases at the desk --------------------------------------------------------------------


def case_by_scan(session: Session, user: User, raw: str) -> Case:
    """The case named by a scanned item ID (dossier or result), agency dossier code, or the
    appointment slip number a receive-only booking gave."""
    office = desk_office(session, user)
    text = "".join(raw.split()).upper()
    if not text:
        raise InvalidInput(
            "scan an item ID or a dossier code", field="code", reason="desk.scan_something"
        )
    if "." in text:
        try:
            normalised = validate_dossier_code(text).code
        except InvalidCode as exc:
            raise code_refusal(exc, "code") from exc
        # A receive-only booking waiting here under this code is the result's case, even
        # when the dossier itself was sent by post alone (option "send") on another case.
        case = waiting_case(session, Reference(normalised, "dossier_code"), office_id=office.id)
        if case is None:
            case = session.scalar(select(Case).where(Case.agency_dossier_code == normalised))
        if case is None:
            raise NotFound(
                f"no case and no receive-only booking has dossier code {normalised}",
                field="code",
                reason="case.unknown_dossier_code",
                params={"code": normalised},
            )
    elif _ITEM_SHAPE.match(text):
        code = item_code(text, "code")
        case = session.scalar(
            select(Case).join(Item, Item.case_id == Case.id).where(Item.code == code)
        )
        if case is None:
            raise NotFound(
                f"no case carries item {code}",
                field="code",
                reason="item.unknown",
                params={"code": code},
            )
    else:
        case = waiting_case(session, Reference(text, "slip_number"), office_id=office.id)
        if case is None:
            raise NotFound(
                f"{text} is no item ID, dossier code or appointment slip number booked here",
                field="code",
                reason="desk.unknown_reference",
                params={"code": text},
            )
    booking = session.get(Booking, case.booking_id)
    assert booking is not None
    if booking.office_id != office.id:
        # Name the office it belongs to: the desk can send the courier or citizen there.
        owner = session.get(Office, booking.office_id)
        raise Forbidden(
            "this case belongs to another office",
            field="code",
            reason="case.other_office",
            params={"office": owner.name_vi if owner else "—"},
        )
    return case


def record_code_at_desk(
    session: Session,
    user: User,
    raw_item: str,
    raw_code: str,
    appointment: date | None,
    *,
    settings: Settings,
    now: datetime,
    reason: str | None = None,
) -> Case:
    """Record the agency dossier code and appointment date of a dossier the office holds.

    Changing a recorded code or date is a correction and needs ``reason``."""
    if not raw_code.strip():
        raise InvalidInput(
            "scan or type the dossier code",
            field="agency_dossier_code",
            reason="desk.dossier_code_empty",
        )
    case = case_by_scan(session, user, raw_item)
    if case.dossier_item_id is None:
        raise InvalidInput(
            "this case has no dossier item", field="item_id", reason="case.no_dossier_item"
        )
    state = session.get(ItemState, case.dossier_item_id)
    here = party("office", desk_office(session, user).id)
    if state is None or here not in (state.custodian, state.pending_to):
        status = state.status if state else "—"
        raise InvalidInput(
            f"the dossier has not reached this office yet ({status})",
            field="item_id",
            reason="desk.not_arrived",
            params={"status_text": f"status.{status}"},
        )
    record_dossier_code(
        session, settings, case, raw_code, appointment, actor=actor_for(user),
        recorded_by=user.full_name, source="desk", now=now, reason=reason,
    )  # fmt: skip
    # The agency's act of acceptance: the one portal status change that is not a ledger event.
    note_agency_code(session, settings, case, now=now)
    assert user.office_id is not None
    session.add(
        DeskAction(
            office_id=user.office_id, case_id=case.id, kind="agency_code_recorded",
            actor_user_id=user.id, recorded_at=now,
            details={"agency_dossier_code": case.agency_dossier_code,
                     "appointment_date": appointment.isoformat() if appointment else None},
        )
    )  # fmt: skip
    session.flush()
    return case


def codes_recorded_today(session: Session, user: User, day_start: datetime) -> list[dict[str, Any]]:
    office = desk_office(session, user)
    rows = session.execute(
        select(DeskAction.details, DeskAction.recorded_at, Item.code)
        .join(Case, Case.id == DeskAction.case_id)
        .join(Item, Item.id == Case.dossier_item_id)
        .where(DeskAction.office_id == office.id, DeskAction.recorded_at >= day_start)
        .order_by(DeskAction.id.desc())
        .limit(200)
    )
    # The audit row keeps the date as ISO text (JSON); the page shows a date, dd/mm/yyyy.
    return [
        {"item": code, "at": at, **details,
         "appointment_date": _iso_date(details.get("appointment_date"))}
        for details, at, code in rows
    ]  # fmt: skip


def _iso_date(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def register_result_at_desk(
    session: Session, settings: Settings, user: User, raw: str, *, now: datetime
) -> Item:
    """Scan a dossier code or item ID: the result item is issued, held by this office."""
    case = case_by_scan(session, user, raw)
    return register_result_for_case(session, settings, actor_for(user), case, now=now)


def is_courier(party_value: str) -> bool:
    return party_kind(party_value) == "courier"
