"""When the courier is expected at a citizen's door today, for the citizen's own eyes.

What a citizen learns: the courier's first name (Vietnamese names end with the given name, so
"Phan Văn Phúc" is "anh/chị Phúc" at the door), the planned ETA moved by how late or early
the courier is running, and, once the stop before theirs is finished (the courier is on the
way to them), an ETA from the courier's last position. The position itself never leaves this
module: only a time comes out, so nobody reading the page can follow the courier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from math import asin, cos, radians, sin, sqrt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import Booking, Case
from core.courier.pings import latest_fix
from core.courier.progress import FINISHED, StopProgress, courier_day
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


def case_eta(session: Session, case_id: int, *, now: datetime) -> CourierEta | None:
    """The courier's ETA at this case's door today, or None when no courier is due there
    (no stop planned today, unassigned, or already done)."""
    day = now.astimezone(VN).date()
    candidates = session.execute(
        select(RouteStop.id, RouteStop.courier_id)
        .where(
            RouteStop.case_id == case_id,
            RouteStop.service_date == day,
            RouteStop.kind.in_(HOME_STOPS),
            RouteStop.courier_id.is_not(None),
            RouteStop.status != "cancelled",
        )
        .order_by(RouteStop.id)
    ).all()
    for stop_id, courier_id in candidates:
        if courier_id is None:  # the query asked for assigned stops only
            continue
        rows, progress = courier_day(session, courier_id, day)
        index = next((i for i, r in enumerate(rows) if r.id == stop_id), None)
        if index is None or progress[stop_id].status in FINISHED + ("cancelled",):
            continue
        courier = session.get(User, courier_id)
        assert courier is not None
        row = rows[index]
        before = [r for r in rows[:index] if progress[r.id].status != "cancelled"]
        ahead = [r for r in before if progress[r.id].status not in FINISHED]
        planned = _moved_by_lateness(row, rows[:index], progress, now)
        en_route = not ahead and progress[stop_id].status == "planned"
        live = _live_eta(session, courier_id, row, now) if en_route else None
        return CourierEta(
            courier_first_name=first_name(courier.full_name),
            stop_kind=row.kind,
            status=progress[stop_id].status,
            planned_eta=planned,
            en_route=en_route,
            live_eta=live,
            stops_before=len(ahead),
        )
    return None


def _moved_by_lateness(
    row: RouteStop, before: list[RouteStop], progress: dict[int, StopProgress], now: datetime
) -> datetime | None:
    """The plan's ETA, shifted by how late (or early) the courier finished their latest
    finished stop, and never in the past: a late courier is "expected now", not at 09:40."""
    if row.eta is None:
        return None
    drift = timedelta(0)
    finished = [
        (done_at, r.eta)
        for r in before
        if progress[r.id].status in FINISHED
        and (done_at := progress[r.id].finished_at) is not None
        and r.eta is not None
    ]
    if finished:
        done_at, planned_at = max(finished, key=lambda pair: pair[0])
        drift = done_at - planned_at
    return max(row.eta + drift, now)


def _live_eta(session: Session, courier_id: int, row: RouteStop, now: datetime) -> datetime | None:
    fix = latest_fix(session, courier_id)
    if fix is None or now - fix.fixed_at > FRESH_FIX:
        return None
    seconds = _metres(fix.lat, fix.lon, row.lat, row.lon) * _DETOUR / _SPEED_MPS
    return max(fix.fixed_at + timedelta(seconds=seconds), now)


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
