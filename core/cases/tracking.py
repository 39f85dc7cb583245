"""The public view of an item: status and timeline, with personal data masked.

Anyone holding the item ID (it is printed on the label) can see this, so it names no
person: couriers appear as "Bưu tá", citizens as "Người gửi/nhận", phones are masked.
Offices and post offices are public places and are named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.cases.service import case_context
from core.custody.corrections import declared_event_ids
from core.custody.models import Bag, CustodyEvent, Item, ItemState
from core.custody.parties import party_kind, party_row_id
from core.custody.transitions import ERROR_DECLARED, STATUS_LABELS, TRANSITIONS
from core.errors import NotFound
from core.places.models import Office, PostOffice
from labels.text import mask_phone


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    kind: str
    label_vi: str
    label_en: str
    occurred_at: datetime
    occurred_offset: str
    holder_vi: str
    holder_en: str
    upu_code: str | None
    corrected: bool
    # A transit step between post offices: where the bag goes ("Gửi tới Bưu cục X") or where
    # it arrived ("Đến Bưu cục X"); empty for every other step.
    place_vi: str = ""
    place_en: str = ""


@dataclass(frozen=True)
class LegSummary:
    item_code: str
    kind: str
    status: str
    status_vi: str
    status_en: str


@dataclass(frozen=True)
class TrackingView:
    item_code: str
    kind: str
    status: str
    status_vi: str
    status_en: str
    holder_vi: str
    holder_en: str
    handover_pending: bool
    timeline: list[TimelineEntry]
    office_name: str | None = None
    area_vi: str | None = None
    contact_phone_masked: str | None = None
    pickup_window_start: datetime | None = None
    pickup_window_end: datetime | None = None
    agency_dossier_code: str | None = None
    appointment_date: date | None = None
    legs: list[LegSummary] = field(default_factory=list)


class _Names:
    """Resolves parties to public names, caching offices and post offices per request."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def holder(self, value: str | None) -> tuple[str, str]:
        if value is None:
            return ("—", "—")
        kind = party_kind(value)
        # An ID no row can have (an old hand-off to office:99999999999999999999 stays in the
        # ledger for good) is not looked up: the database would refuse the number.
        ident = party_row_id(value)
        if kind == "office" and ident is not None:
            office = self.session.get(Office, ident)
            if office is not None:
                return (office.name_vi, office.name_en)
        if kind == "post_office" and ident is not None:
            post = self.session.get(PostOffice, ident)
            if post is not None:
                return (post.name, post.name)
        return {
            "courier": ("Bưu tá", "Courier"),
            "citizen": ("Người dân", "Citizen"),
        }.get(kind, ("Hệ thống", "System"))

    def transit(self, event: CustodyEvent) -> tuple[str, str]:
        """Where a transit step goes or arrives: the bag's destination (its manifest's), or the
        post office that scanned it in."""
        if event.kind in ("bag_sealed", "departed") and event.bag_id is not None:
            destination = self.session.scalar(
                select(Bag.destination_post_office_id).where(Bag.id == event.bag_id)
            )
            if destination is not None:
                name_vi, name_en = self.holder(f"post_office:{destination}")
                return (f"Gửi tới {name_vi}", f"Sent to {name_en}")
        if event.kind == "arrived" and party_kind(event.to_party or "") == "post_office":
            name_vi, name_en = self.holder(event.to_party)
            return (f"Đến {name_vi}", f"Arrived at {name_en}")
        return ("", "")


def tracking_view(session: Session, item_code: str) -> TrackingView:
    item = session.scalar(select(Item).where(Item.code == item_code))
    if item is None:
        raise NotFound(
            f"no item {item_code}",
            field="item_id",
            reason="item.unknown",
            params={"code": item_code},
        )
    state = session.get(ItemState, item.id)
    assert state is not None
    events = list(
        session.scalars(
            select(CustodyEvent).where(CustodyEvent.item_id == item.id).order_by(CustodyEvent.seq)
        )
    )
    declared = declared_event_ids(events)
    names = _Names(session)
    timeline = []
    for event in events:
        if event.kind == ERROR_DECLARED:
            continue
        rule = TRANSITIONS[event.kind]
        holder_vi, holder_en = names.holder(event.to_party or event.from_party)
        place_vi, place_en = names.transit(event)
        timeline.append(
            TimelineEntry(
                seq=event.seq,
                kind=event.kind,
                label_vi=rule.label_vi,
                label_en=rule.label_en,
                occurred_at=event.occurred_at,
                occurred_offset=event.occurred_offset,
                holder_vi=holder_vi,
                holder_en=holder_en,
                upu_code=event.upu_code,
                corrected=event.event_id in declared,
                place_vi=place_vi,
                place_en=place_en,
            )
        )
    status_vi, status_en = STATUS_LABELS[state.status]
    holder_vi, holder_en = names.holder(state.custodian)
    view = TrackingView(
        item_code=item.code,
        kind=item.kind,
        status=state.status,
        status_vi=status_vi,
        status_en=status_en,
        holder_vi=holder_vi,
        holder_en=holder_en,
        handover_pending=state.pending_to is not None,
        timeline=timeline,
    )
    if item.case_id is None:
        return view
    return _with_case(session, view, item.case_id)


def transit_steps(session: Session, case_id: int) -> list[TimelineEntry]:
    """The steps of a case's items between post offices (bags sealed, sent, arrived), both
    legs in time order: what a citizen's own case page shows of a journey through another
    province (docs/transit.md)."""
    codes = session.scalars(select(Item.code).where(Item.case_id == case_id).order_by(Item.kind))
    steps = [
        entry
        for code in codes
        for entry in tracking_view(session, code).timeline
        if entry.place_vi and not entry.corrected
    ]
    return sorted(steps, key=lambda e: e.occurred_at)


def _with_case(session: Session, view: TrackingView, case_id: int) -> TrackingView:
    context = case_context(session, case_id)
    case, booking = context.case, context.booking
    legs = [
        LegSummary(code, kind, status, *STATUS_LABELS[status])
        for code, kind, status in session.execute(
            select(Item.code, Item.kind, ItemState.status)
            .join(ItemState, ItemState.item_id == Item.id)
            .where(Item.case_id == case_id)
            .order_by(Item.kind)  # "dossier" before "result": the order of the journey
        )
    ]
    return TrackingView(
        **{
            **view.__dict__,
            "office_name": context.office.name_vi,
            "area_vi": f"{context.commune.name}, {context.province.name}",
            "contact_phone_masked": mask_phone(booking.contact_phone)
            if booking.contact_phone
            else None,
            "pickup_window_start": booking.pickup_window_start,
            "pickup_window_end": booking.pickup_window_end,
            "agency_dossier_code": case.agency_dossier_code,
            "appointment_date": case.appointment_date,
            "legs": legs,
        }
    )


@dataclass(frozen=True)
class TrackingVersion:
    """What a public tracking answer depends on that a scan or a plan changes, read in one
    query: a cached answer is reused only while this is the same (``api/tracking_cache.py``)."""

    case_id: int | None
    ledger: str  # every item of the case: id and the sequence number of its last event
    # What else the page shows that changes without a scan: the latest money posting of the
    # case (a bank transfer matched) and the booked window (a rescheduled pickup).
    money: int | None
    window: datetime | None
    # The case's assigned home stop today, if any, and its courier: an ETA is due, and it
    # moves with the clock, the courier's position and other citizens' stops.
    due_stop_id: int | None
    due_courier_id: int | None

    @property
    def courier_due_today(self) -> bool:
        return self.due_stop_id is not None


_VERSION_SQL = text("""
SELECT i.case_id,
       COALESCE(
           (SELECT string_agg(s.item_id || ':' || s.last_seq, ',' ORDER BY s.item_id)
              FROM items j JOIN item_states s ON s.item_id = j.id
             WHERE j.case_id = i.case_id),
           (SELECT s.item_id || ':' || s.last_seq FROM item_states s WHERE s.item_id = i.id)
       ) AS ledger,
       (SELECT max(p.id) FROM money_postings p WHERE p.case_id = i.case_id) AS money,
       (SELECT b.pickup_window_start FROM cases c JOIN bookings b ON b.id = c.booking_id
         WHERE c.id = i.case_id) AS window,
       due.id AS due_stop_id, due.courier_id AS due_courier_id
  FROM items i
  LEFT JOIN LATERAL (
       SELECT r.id, r.courier_id FROM route_stops r
        WHERE r.case_id = i.case_id AND r.service_date = :day
          AND r.kind IN ('home_pickup', 'home_delivery')
          AND r.courier_id IS NOT NULL AND r.status <> 'cancelled'
        ORDER BY r.id LIMIT 1) due ON true
 WHERE i.code = :code
""")


def tracking_version(session: Session, item_code: str, day: date) -> TrackingVersion | None:
    """None for an unknown item (its answer is a refusal, never cached)."""
    row = session.execute(_VERSION_SQL, {"code": item_code, "day": day}).first()
    if row is None:
        return None
    return TrackingVersion(row.case_id, row.ledger or "", row.money, row.window, row.due_stop_id,
                           row.due_courier_id)  # fmt: skip
