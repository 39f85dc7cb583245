"""An independent check of a plan as saved in the database.

It reads only ``route_stops``, ``cases`` and the settings, and shares no code with
``routing``: travel times are bounded from below by the straight-line distance at a
speed no motorbike keeps door to door, so a saved ETA that is physically impossible,
outside its window or past the shift, or a pair split or reversed, shows up here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.dispatch.models import DispatchPlan, RouteStop
from core.settings import Settings
from vntime import VN

FASTEST_KMH = 40.0  # above every speed the planner may assume (urban 18, rural 30)
PICKUPS = ("home_pickup", "office_pickup", "post_office_pickup")


def _crow_m(a: RouteStop, b: RouteStop) -> float:
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def _clock(day: date, hour_minute: object) -> datetime:
    from datetime import time

    assert isinstance(hour_minute, time)
    return datetime.combine(day, hour_minute, VN)


def saved_plan_violations(
    session: Session, settings: Settings, post_office_id: int, day: date
) -> list[str]:
    rows = list(
        session.scalars(
            select(RouteStop).where(
                RouteStop.post_office_id == post_office_id,
                RouteStop.service_date == day,
                RouteStop.status != "cancelled",
            )
        )
    )
    out: list[str] = []
    by_id = {r.id: r for r in rows}
    routes: dict[int, list[RouteStop]] = defaultdict(list)
    for r in rows:
        if r.courier_id is None:
            if not (r.unassigned_reason or "").strip():
                out.append(f"stop {r.id} unassigned without a reason")
            if r.eta is not None or r.sequence is not None:
                out.append(f"stop {r.id} unassigned but has an ETA or sequence")
            continue
        routes[r.courier_id].append(r)
    shift_start = _clock(day, settings.dispatch_shift_start)
    shift_end = _clock(day, settings.dispatch_shift_end)
    for courier, stops in routes.items():
        stops.sort(key=lambda s: s.sequence or 0)
        seqs = [s.sequence for s in stops]
        if seqs != list(range(1, len(stops) + 1)):
            out.append(f"courier {courier}: sequences {seqs} are not 1..n")
        load = 0
        prev: RouteStop | None = None
        for s in stops:
            if s.status == "planned":
                assert s.eta is not None
                if not (s.window_start <= s.eta <= s.window_end):
                    out.append(f"stop {s.id}: ETA {s.eta} outside {s.window_start}-{s.window_end}")
                if s.eta < shift_start:
                    out.append(f"stop {s.id}: ETA before the shift")
                if s.eta + timedelta(minutes=s.service_minutes) > shift_end:
                    out.append(f"stop {s.id}: finishes after the shift")
            if (
                prev is not None
                and prev.eta is not None
                and s.eta is not None
                and (s.status == "planned")
            ):
                travel_s = _crow_m(prev, s) / (FASTEST_KMH / 3.6)
                earliest = prev.eta + timedelta(minutes=prev.service_minutes, seconds=travel_s)
                if s.eta + timedelta(seconds=1) < earliest:
                    out.append(f"stop {s.id}: reached {s.eta}, impossible before {earliest}")
            load += 1 if s.kind in PICKUPS else -1 if s.paired_stop_id in by_id else 0
            if load > settings.dispatch_courier_capacity:
                out.append(f"courier {courier}: {load} items on board after stop {s.id}")
            prev = s
    for r in rows:
        pair = by_id.get(r.paired_stop_id) if r.paired_stop_id else None
        if pair is None or r.kind not in PICKUPS:
            continue
        if pair.courier_id != r.courier_id and pair.status == "planned":
            out.append(f"pair {r.id}/{pair.id} split between couriers")
        elif r.courier_id is not None and (r.sequence or 0) >= (pair.sequence or 0):
            out.append(f"pair {r.id}/{pair.id}: drop before pickup")
    header = session.scalar(
        select(DispatchPlan)
        .where(DispatchPlan.post_office_id == post_office_id, DispatchPlan.service_date == day)
        .order_by(DispatchPlan.id.desc())
        .limit(1)
    )
    latest = header.trigger if header is not None else None
    if header is not None and settings.dispatch_break_minutes > 0:
        out += _lunch_violations(settings, day, header, routes)
    for r in rows:
        if r.case_id is None or r.status != "planned":
            continue
        case = session.get(Case, r.case_id)
        assert case is not None
        if latest == "draft":
            # Draft routes (the day's plan has not started) name no courier on the case.
            if r.kind == "home_pickup" and case.pickup_courier_id is not None:
                out.append(f"case {case.id}: a draft named courier {case.pickup_courier_id}")
            continue
        assert case is not None
        if r.kind == "home_pickup" and case.pickup_courier_id != r.courier_id:
            out.append(f"case {case.id}: pickup courier {case.pickup_courier_id} != {r.courier_id}")
        if r.kind == "home_delivery" and case.delivery_courier_id != r.courier_id:
            out.append(f"case {case.id}: delivery courier not the planned one")
    return out


def _lunch_violations(
    settings: Settings, day: date, header: DispatchPlan, routes: dict[int, list[RouteStop]]
) -> list[str]:
    """Each courier with stops has their lunch as the header says, inside its window, at
    full length, and serves no planned stop during it."""
    out: list[str] = []
    earliest = _clock(day, settings.dispatch_break_earliest)
    latest = _clock(day, settings.dispatch_break_latest)
    length = timedelta(minutes=settings.dispatch_break_minutes)
    # A shift that ends before lunch could be over has none.
    shift_has_lunch = max(earliest, _clock(day, settings.dispatch_shift_start)) + length <= _clock(
        day, settings.dispatch_shift_end
    )
    for courier, stops in routes.items():
        brk = header.breaks.get(str(courier))
        if brk is None:
            # Planned before the lunch window closed, a courier with work ahead has lunch.
            planned = any(s.status == "planned" for s in stops)
            if shift_has_lunch and header.planned_at < latest and planned:
                out.append(f"courier {courier}: no lunch break in the plan")
            continue
        start = datetime.fromisoformat(brk["start"])
        end = start + timedelta(minutes=int(brk["minutes"]))
        if not earliest <= start <= latest:
            out.append(f"courier {courier}: lunch at {start} outside {earliest}-{latest}")
        if brk["minutes"] != settings.dispatch_break_minutes:
            out.append(f"courier {courier}: lunch of {brk['minutes']} minutes")
        for s in stops:
            if s.status == "planned" and s.eta is not None:
                # ETAs are saved rounded to the second
                second = timedelta(seconds=1)
                if (
                    s.eta + second < end
                    and s.eta + timedelta(minutes=s.service_minutes) > start + second
                ):
                    out.append(f"stop {s.id}: served at {s.eta}, during lunch {start}-{end}")
    return out
