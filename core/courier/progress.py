"""Where a courier is in their day: which stops are done, the "arrived" step, the count.

A stop is done when the ledger says its work happened, not when the planner next runs: the
planner writes ``route_stops.status`` only while planning (``core.dispatch.day.sync_stops``),
so a pickup accepted at 08:02 would stay "planned" on the sheet until someone re-plans. Here
each stop's state is read from its items' states (the projection of the ledger, updated in the
scan's own transaction), so the sheet says "done" the moment the scan is accepted.

The "arrived" step is the courier's own tap ("Đã đến"): recorded once per stop (the first tap
kept, a resent or doubled one changes nothing), with the phone's time, so it works from the
offline queue. It also marks the stop "arrived" in the plan, which keeps it with this courier
and in its place when the rest of the day is re-planned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.courier.models import StopArrival
from core.custody.models import Item, ItemState
from core.dispatch.models import RouteStop
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.identity.models import User
from vntime import VN

# What a stop of each kind is about: which item of the case.
STOP_ITEM_KIND = {
    "home_pickup": "dossier",
    "office_drop": "dossier",
    "post_office_drop": "dossier",
    "office_pickup": "result",
    "home_delivery": "result",
}
# Finished stops: nothing left to do there today (done, or given up with a reason).
FINISHED = ("done", "failed")
# A dossier in one of these has left the courier at the post office (it travels on).
_LEFT_AT_POST_OFFICE = ("at_post_office", "in_transit", "arrived", "handed_over")
# A result in one of these has been taken from the office's desk.
_TAKEN_FROM_OFFICE = (
    "collected", "out_for_delivery", "delivered", "attempt_failed", "returned_to_office",
)  # fmt: skip
# How far ahead of the server's clock a phone's arrival time may be (a wrong clock).
_MAX_AHEAD = timedelta(minutes=10)


@dataclass(frozen=True)
class ItemNow:
    """An item's current state, as much as a stop's progress needs."""

    kind: str
    status: str
    pending_to: str | None
    last_event_at: datetime


@dataclass(frozen=True)
class StopProgress:
    status: str  # planned / arrived / done / failed / cancelled
    finished_at: datetime | None  # when the scan that finished it happened
    arrived_at: datetime | None  # the courier's "arrived" tap


def _on_day(moment: datetime, day: date) -> bool:
    start = datetime.combine(day, time(0), tzinfo=VN)
    return start <= moment < start + timedelta(days=1)


def stop_status(kind: str, planned: str, item: ItemNow | None, day: date) -> str:
    """The stop's state as the ledger has it; ``planned`` is the plan's own row status.

    The mapping follows the planner's (``sync_stops``), so the sheet and the next plan agree.
    """
    if planned == "cancelled" or item is None:
        return planned
    status, pending = item.status, item.pending_to or ""
    if kind == "home_pickup":
        if status == "booked":
            return planned
        if status == "refused":
            return "failed"
        return "cancelled" if status == "cancelled" else "done"
    if kind == "office_drop":
        if status == "handed_over":
            return "done"
        if status in ("cancelled", "refused"):
            return "cancelled"
        return "arrived" if pending.startswith("office:") else planned
    if kind == "post_office_drop":
        if status in _LEFT_AT_POST_OFFICE:
            return "done"
        return "arrived" if pending.startswith("post_office:") else planned
    if kind == "office_pickup":
        if status in _TAKEN_FROM_OFFICE:
            return "done"
        return "arrived" if status == "result_registered" and pending else planned
    if kind == "home_delivery":
        if status == "delivered":
            return "done"
        if status == "attempt_failed" and _on_day(item.last_event_at, day):
            return "failed"
        if status in ("lost", "returned_to_office"):
            return "cancelled"
    return planned


def stop_progress(
    rows: Sequence[RouteStop],
    items: dict[tuple[int, str], ItemNow],
    arrivals: dict[int, datetime],
    day: date,
) -> dict[int, StopProgress]:
    """Each row's progress, from its case's items (keyed by case id and item kind)."""
    out = {}
    for row in rows:
        kind = STOP_ITEM_KIND.get(row.kind)
        item = items.get((row.case_id, kind)) if row.case_id is not None and kind else None
        status = stop_status(row.kind, row.status, item, day)
        arrived_at = arrivals.get(row.id)
        if status == "planned" and arrived_at is not None:
            status = "arrived"
        finished_at = None
        if status in FINISHED:
            finished_at = item.last_event_at if item is not None else row.completed_at
        out[row.id] = StopProgress(status, finished_at, arrived_at)
    return out


def items_now(session: Session, case_ids: Iterable[int]) -> dict[tuple[int, str], ItemNow]:
    """The current state of every item of these cases, in one query."""
    wanted = set(case_ids)
    if not wanted:
        return {}
    return {
        (case_id, kind): ItemNow(kind, status, pending_to, last_event_at)
        for case_id, kind, status, pending_to, last_event_at in session.execute(
            select(
                Item.case_id,
                Item.kind,
                ItemState.status,
                ItemState.pending_to,
                ItemState.last_event_at,
            )
            .join(ItemState, ItemState.item_id == Item.id)
            .where(Item.case_id.in_(wanted))
        )  # fmt: skip
        if case_id is not None
    }


def arrivals_of(session: Session, stop_ids: Iterable[int]) -> dict[int, datetime]:
    wanted = set(stop_ids)
    if not wanted:
        return {}
    query = select(StopArrival.route_stop_id, StopArrival.arrived_at).where(
        StopArrival.route_stop_id.in_(wanted)
    )
    return {row.route_stop_id: row.arrived_at for row in session.execute(query)}


def courier_day(
    session: Session, courier_id: int, day: date
) -> tuple[list[RouteStop], dict[int, StopProgress]]:
    """A courier's stops of the day in order, with each one's progress (three queries)."""
    rows = list(
        session.scalars(
            select(RouteStop)
            .where(RouteStop.courier_id == courier_id, RouteStop.service_date == day)
            .order_by(RouteStop.sequence, RouteStop.id)
        )
    )
    items = items_now(session, (r.case_id for r in rows if r.case_id is not None))
    return rows, stop_progress(rows, items, arrivals_of(session, (r.id for r in rows)), day)


@dataclass(frozen=True)
class DayCount:
    """ "3/18 xong": finished of the day's stops (cancelled ones are not the courier's work)."""

    finished: int
    total: int

    @property
    def remaining(self) -> int:
        return self.total - self.finished


def day_count(statuses: Iterable[str]) -> DayCount:
    live = [s for s in statuses if s != "cancelled"]
    return DayCount(sum(1 for s in live if s in FINISHED), len(live))


@dataclass(frozen=True)
class Arrival:
    stop_id: int
    arrived_at: datetime
    recorded_at: datetime
    new: bool  # False: this stop's arrival was recorded already (a resend); that one stands


def record_arrival(
    session: Session, courier: User, stop_id: int, arrived_at: datetime, *, now: datetime
) -> Arrival:
    """The courier is at their stop ``stop_id``. Idempotent: the first arrival stands."""
    if arrived_at.tzinfo is None:
        raise InvalidInput(
            "arrived_at needs a UTC offset", field="arrived_at", reason="arrival.no_offset"
        )
    if arrived_at > now + _MAX_AHEAD:
        raise InvalidInput(
            "the arrival time is in the future; check the phone's clock",
            field="arrived_at",
            reason="arrival.future",
        )
    stop = session.get(RouteStop, stop_id, with_for_update=True)
    if stop is None:
        raise NotFound(
            f"no stop {stop_id}", field="stop_id", reason="stop.unknown", params={"stop": stop_id}
        )
    existing = session.get(StopArrival, stop_id)
    if existing is not None and existing.courier_id == courier.id:
        # A resend from the offline queue, or a second tap: answered with what was kept,
        # even if a re-plan has given the stop to someone else since.
        return Arrival(stop_id, existing.arrived_at, existing.recorded_at, new=False)
    if stop.courier_id != courier.id:
        raise Forbidden(
            f"stop {stop_id} is not on your run sheet",
            field="stop_id",
            reason="stop.not_yours",
            params={"stop": stop_id},
        )
    if stop.status == "cancelled":
        raise Conflict(
            f"stop {stop_id} was taken off the plan",
            field="stop_id",
            reason="stop.cancelled",
            params={"stop": stop_id},
        )
    if not _on_day(arrived_at, stop.service_date):
        raise InvalidInput(
            "the arrival time is not on the stop's day",
            field="arrived_at",
            reason="arrival.other_day",
        )
    if existing is not None:  # its courier before a re-plan gave the stop to this one
        return Arrival(stop_id, existing.arrived_at, existing.recorded_at, new=False)
    stored = session.execute(
        insert(StopArrival)
        .values(route_stop_id=stop_id, courier_id=courier.id, arrived_at=arrived_at,
                recorded_at=now)
        .on_conflict_do_nothing(index_elements=["route_stop_id"])
        .returning(StopArrival.arrived_at)
    ).first()  # fmt: skip
    if stored is None:  # another request recorded it between our look and our write
        kept = session.get(StopArrival, stop_id, populate_existing=True)
        assert kept is not None
        return Arrival(stop_id, kept.arrived_at, kept.recorded_at, new=False)
    if stop.status == "planned":
        # Standing at it: the planner keeps a started stop with its courier, in its place.
        stop.status = "arrived"
    session.flush()
    return Arrival(stop_id, stored[0], now, new=True)
