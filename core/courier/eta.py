"""When the courier is expected at a citizen's door today, for the citizen's own eyes.

What a citizen learns: the courier's first name (Vietnamese names end with the given name, so
"Phan Văn Phúc" is "anh/chị Phúc" at the door), the planned ETA moved by how late or early
the courier is running, and, once the stop before theirs is finished (the courier is on the
way to them), an ETA from the courier's last position. The position stays inside the
``CourierSnapshot`` (kept in the server's memory for a second by the tracking cache); what
comes out (``CourierEta``) holds times only, so nobody reading a page can follow the courier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from math import asin, cos, radians, sin, sqrt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import Booking, Case
from core.courier.pings import latest_fix
from core.courier.progress import FINISHED, StopProgress, courier_day
from core.dispatch.day import saved_breaks
from core.dispatch.models import RouteStop
from core.errors import NotFound
from core.identity.models import User
from vntime import VN

HOME_STOPS = ("home_pickup", "home_delivery")
# A fix older than this says nothing about where the courier is now.
FRESH_FIX = timedelta(minutes=15)
# Great-circle distance x detour / speed: the planner's own estimate for town streets
# (routing.travel.DEFAULT_DETOUR / DEFAULT_SPEED_KMH, urban).
_DETOUR = 1.3
_SPEED_MPS = 18.0 / 3.6
_EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class CourierEta:
    courier_first_name: str
    stop_kind: str  # home_pickup or home_delivery
    status: str  # the stop's progress: planned / arrived
    planned_eta: datetime | None  # the plan's ETA, moved by the courier's lateness so far
    en_route: bool  # every stop before this one is finished
    live_eta: datetime | None  # from the courier's last fix, when on the way and fresh
    stops_before: int  # unfinished stops still ahead of this one


def first_name(full_name: str) -> str:
    parts = full_name.split()
    return parts[-1] if parts else ""


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dlat, dlon = radians(lat2 - lat1), radians(lon2 - lon1)
    a = sin(dlat / 2) ** 2 + cos(radians(lat1)) * cos(radians(lat2)) * sin(dlon / 2) ** 2
    return 2 * _EARTH_RADIUS_M * asin(sqrt(min(1.0, a)))


@dataclass(frozen=True)
class StopLine:
    id: int
    kind: str
    eta: datetime | None
    lat: float
    lon: float
    progress: StopProgress


@dataclass(frozen=True)
class CourierSnapshot:
    """A courier's day as an ETA needs it, read in a few queries and shared by every citizen
    on their sheet (the tracking cache keeps one per courier for a second)."""

    first_name: str
    stops: tuple[StopLine, ...]  # in order
    fix: tuple[datetime, float, float] | None  # the last fix: when, where (never shown)
    lunch: tuple[datetime, datetime] | None = None  # the planned break: start, end


def courier_snapshot(session: Session, courier_id: int, day: date) -> CourierSnapshot:
    rows, progress = courier_day(session, courier_id, day)
    courier = session.get(User, courier_id)
    assert courier is not None
    fix = latest_fix(session, courier_id)
    return CourierSnapshot(
        first_name=first_name(courier.full_name),
        stops=tuple(StopLine(r.id, r.kind, r.eta, r.lat, r.lon, progress[r.id]) for r in rows),
        fix=(fix.fixed_at, fix.lat, fix.lon) if fix is not None else None,
        lunch=_lunch(session, rows[0].post_office_id, day, courier_id) if rows else None,
    )


def _lunch(
    session: Session, post_office_id: int, day: date, courier_id: int
) -> tuple[datetime, datetime] | None:
    """Where the day's saved plan put the courier's break."""
    brk = saved_breaks(session, post_office_id, day).get(str(courier_id))
    if brk is None:
        return None
    start = datetime.fromisoformat(str(brk["start"]))
    return start, start + timedelta(minutes=int(brk["minutes"]))


def due_stops(session: Session, case_id: int, day: date) -> list[tuple[int, int]]:
    """(stop id, courier id) of the case's assigned home stops of the day."""
    return [
        (stop_id, courier_id)
        for stop_id, courier_id in session.execute(
            select(RouteStop.id, RouteStop.courier_id)
            .where(
                RouteStop.case_id == case_id,
                RouteStop.service_date == day,
                RouteStop.kind.in_(HOME_STOPS),
                RouteStop.courier_id.is_not(None),
                RouteStop.status != "cancelled",
            )
            .order_by(RouteStop.id)
        )
        if courier_id is not None
    ]


def case_eta(session: Session, case_id: int, *, now: datetime) -> CourierEta | None:
    """The courier's ETA at this case's door today, or None when no courier is due there
    (no stop planned today, unassigned, or already done)."""
    day = now.astimezone(VN).date()
    for stop_id, courier_id in due_stops(session, case_id, day):
        eta = eta_at(courier_snapshot(session, courier_id, day), stop_id, now)
        if eta is not None:
            return eta
    return None


def eta_at(snapshot: CourierSnapshot, stop_id: int, now: datetime) -> CourierEta | None:
    """The ETA at one stop of the snapshot's day (None when it is not there or finished)."""
    index = next((i for i, s in enumerate(snapshot.stops) if s.id == stop_id), None)
    if index is None:
        return None
    stop = snapshot.stops[index]
    if stop.progress.status in (*FINISHED, "cancelled"):
        return None
    before = [s for s in snapshot.stops[:index] if s.progress.status != "cancelled"]
    ahead = [s for s in before if s.progress.status not in FINISHED]
    en_route = not ahead and stop.progress.status == "planned"
    return CourierEta(
        courier_first_name=snapshot.first_name,
        stop_kind=stop.kind,
        status=stop.progress.status,
        planned_eta=_moved_by_lateness(stop, before, now),
        en_route=en_route,
        live_eta=_live_eta(snapshot, stop, now) if en_route else None,
        stops_before=len(ahead),
    )


def _moved_by_lateness(stop: StopLine, before: list[StopLine], now: datetime) -> datetime | None:
    """The plan's ETA, shifted by how late (or early) the courier finished their latest
    finished stop, and never in the past: a late courier is "expected now", not at 09:40."""
    if stop.eta is None:
        return None
    drift = timedelta(0)
    finished = [
        (done_at, s.eta)
        for s in before
        if s.progress.status in FINISHED
        and (done_at := s.progress.finished_at) is not None
        and s.eta is not None
    ]
    if finished:
        done_at, planned_at = max(finished, key=lambda pair: pair[0])
        drift = done_at - planned_at
    return max(stop.eta + drift, now)


def _live_eta(snapshot: CourierSnapshot, stop: StopLine, now: datetime) -> datetime | None:
    if snapshot.fix is None:
        return None
    fixed_at, lat, lon = snapshot.fix
    if now - fixed_at > FRESH_FIX:
        return None
    seconds = _metres(lat, lon, stop.lat, stop.lon) * _DETOUR / _SPEED_MPS
    leaves = fixed_at
    if snapshot.lunch is not None and stop.eta is not None:
        lunch_start, lunch_end = snapshot.lunch
        if lunch_end > now and lunch_start < stop.eta:
            # The plan has the courier's lunch before this door and it is not over: the
            # courier rides on when it ends, not from the last fix straight away.
            leaves = max(leaves, lunch_end)
    return max(leaves + timedelta(seconds=seconds), now)


def citizens_eta(
    session: Session, citizen: User, case_id: int, *, now: datetime
) -> CourierEta | None:
    """``case_eta`` for the citizen who booked the case; anyone else's is answered as not
    found (as every other request about a case: ``core.booking.service.citizen_case``)."""
    owner = session.scalar(
        select(Booking.citizen_user_id)
        .join(Case, Case.booking_id == Booking.id)
        .where(Case.id == case_id)
    )
    if owner is None or owner != citizen.id:
        raise NotFound(
            f"you have no case {case_id}",
            field="case_id",
            reason="case.not_yours",
            params={"case_id": case_id},
        )
    return case_eta(session, case_id, now=now)
