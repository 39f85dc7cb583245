"""A courier's run sheet: their stops for a day, in order, with what to collect or hand over.

Each stop's status is its progress as the ledger has it (``core.courier.progress``): done the
moment its scan is accepted, arrived when the courier tapped "arrived".

The planner fills ``route_stops``; this only reads them. A citizen's phone number appears in
full only on the courier's own stops; a dispatcher looking at someone's sheet sees it masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import may_see_post_office
from core.cases.models import Booking, Case
from core.courier.progress import arrivals_of, items_now, stop_progress
from core.custody.models import Item, ItemState
from core.dispatch.models import RouteStop
from core.errors import Forbidden, NotFound
from core.identity.models import User
from core.money.charges import terms_of
from core.money.state import PaymentState, payment_states
from core.places.models import Office, PostOffice, Procedure
from labels.text import mask_phone

HOME_STOPS = frozenset({"home_pickup", "home_delivery"})
# Which of a case's items a stop of each kind is about.
_ITEM_KINDS = {
    "home_pickup": ("dossier",),
    "office_drop": ("dossier",),
    "office_pickup": ("result",),
    "home_delivery": ("result",),
    "post_office_drop": ("dossier", "result"),
    "post_office_pickup": ("dossier", "result"),
}


@dataclass(frozen=True)
class StopItem:
    code: str
    kind: str
    status: str


@dataclass(frozen=True)
class StopDocument:
    """A document the citizen must hand over at a pickup, as the procedure names it."""

    name: str  # Vietnamese, as the checklist must name it
    name_en: str
    form: str  # "original", "certified_copy" or "copy"
    kind: str = "mandatory"  # "mandatory", "conditional" or "shown" (shown, not taken)
    condition: str | None = None  # when it applies, for a conditional one ("nếu có", ...)
    quantity: int = 1  # the catalogue's count, the courier's default page count


@dataclass
class Stop:
    id: int
    sequence: int | None
    kind: str
    status: str
    window_start: datetime
    window_end: datetime
    eta: datetime | None
    lat: float
    lon: float
    place: str
    case_id: int | None
    office_id: int | None
    contact_name: str | None = None
    contact_phone: str | None = None
    items: list[StopItem] = field(default_factory=list)
    # The pickup checklist: the booked procedure's documents (empty for other stops).
    documents: list[StopDocument] = field(default_factory=list)
    # Door-step money: what is still to collect (from the ledger) and how.
    collect: StopCollect | None = None
    # The courier's "arrived" tap, and when the scan that finished the stop happened.
    arrived_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class StopCollect:
    """``how``: ``cash`` (collect ``due_vnd`` in cash), ``paid`` (nothing to collect: paid
    already, e.g. by VietQR), ``transfer_pending`` (booked for VietQR, no transfer seen yet:
    the citizen may transfer now or pay cash)."""

    due_vnd: int
    paid_vnd: int
    how: str
    state: str
    state_label_vi: str
    state_label_en: str


def stop_collect(state: PaymentState) -> StopCollect:
    if state.due_vnd == 0:
        how = "paid"
    elif state.payment_method == "vietqr" and state.paid_vnd == 0:
        how = "transfer_pending"
    else:
        how = "cash"
    return StopCollect(state.due_vnd, state.paid_vnd, how, state.state, state.label_vi,
                       state.label_en)  # fmt: skip


def run_sheet(
    session: Session, viewer: User, day: date, courier_id: int | None = None
) -> tuple[int, list[Stop]]:
    courier_id = courier_id or viewer.id
    own = courier_id == viewer.id
    if not own:
        courier = session.get(User, courier_id)
        if courier is None or courier.role != "courier":
            raise NotFound(f"no courier {courier_id}", field="courier_id")
        # Another courier's sheet: never for a courier; for staff who reach its post office.
        if viewer.role == "courier" or not may_see_post_office(viewer, courier.post_office_id):
            raise Forbidden("you may read only your own run sheet", field="courier_id")
    rows = list(
        session.scalars(
            select(RouteStop)
            .where(RouteStop.courier_id == courier_id, RouteStop.service_date == day)
            .order_by(RouteStop.sequence, RouteStop.id)
        )
    )
    case_ids = {r.case_id for r in rows if r.case_id is not None}
    bookings: dict[int, Booking] = {
        row[0]: row[1]
        for row in session.execute(
            select(Case.id, Booking)
            .join(Booking, Booking.id == Case.booking_id)
            .where(Case.id.in_(case_ids))
        ).all()
    }
    items: dict[int, list[StopItem]] = {}
    for case_id, code, kind, status in session.execute(
        select(Item.case_id, Item.code, Item.kind, ItemState.status)
        .join(ItemState, ItemState.item_id == Item.id)
        .where(Item.case_id.in_(case_ids))
        .order_by(Item.id)
    ):
        if case_id is not None:
            items.setdefault(case_id, []).append(StopItem(code, kind, status))
    procedures = {
        p.id: p
        for p in session.scalars(
            select(Procedure).where(Procedure.id.in_({b.procedure_id for b in bookings.values()}))
        )
    }
    offices = {
        o.id: o
        for o in session.scalars(
            select(Office).where(Office.id.in_({r.office_id for r in rows if r.office_id}))
        )
    }
    post_offices = {
        p.id: p
        for p in session.scalars(
            select(PostOffice).where(PostOffice.id.in_({r.post_office_id for r in rows}))
        )
    }

    # Done / failed / arrived as the ledger says now, not as the last plan left it.
    progress = stop_progress(rows, items_now(session, case_ids),
                             arrivals_of(session, (r.id for r in rows)), day)  # fmt: skip

    # The money of every home stop booked with a quote, in a few queries for the whole sheet.
    money = payment_states(
        session, terms_of(session, [r.case_id for r in rows if r.kind in HOME_STOPS and r.case_id])
    )

    stops = []
    for row in rows:
        booking = bookings.get(row.case_id) if row.case_id else None
        stop = Stop(
            id=row.id,
            sequence=row.sequence,
            kind=row.kind,
            status=progress[row.id].status,
            window_start=row.window_start,
            window_end=row.window_end,
            eta=row.eta,
            lat=row.lat,
            lon=row.lon,
            place="",
            case_id=row.case_id,
            office_id=row.office_id,
            items=[i for i in items.get(row.case_id or -1, []) if i.kind in _ITEM_KINDS[row.kind]],
            arrived_at=progress[row.id].arrived_at,
            finished_at=progress[row.id].finished_at,
        )
        if row.kind in HOME_STOPS and booking is not None:
            assert row.case_id is not None
            state = money.get(row.case_id)
            stop.collect = stop_collect(state) if state is not None else None
            stop.place = booking.address_text
            stop.contact_name = booking.contact_name
            stop.contact_phone = booking.contact_phone if own else mask_phone(booking.contact_phone)
            if row.kind == "home_pickup" and booking.procedure_id in procedures:
                stop.documents = [
                    StopDocument(
                        str(d.get("name_vi", "")),
                        str(d.get("name_en") or d.get("name_vi", "")),
                        str(d.get("form", "copy")),
                        str(d.get("kind") or "mandatory"),
                        d.get("condition") or None,
                        max(int(d.get("quantity") or 1), 1),
                    )
                    for d in procedures[booking.procedure_id].documents
                ]
        elif row.office_id in offices:
            office = offices[row.office_id]
            stop.place = f"{office.name_vi}, {office.address}"
        elif row.post_office_id in post_offices:
            post = post_offices[row.post_office_id]
            stop.place = f"{post.name}, {post.address}"
        stops.append(stop)
    return courier_id, stops
