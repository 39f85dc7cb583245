"""Plan a post office's day, change it, and answer the booking page — on top of ``routing``.

``routing`` is pure (problem in, plan out). This module loads the day from the database
(``core.dispatch.day``), calls ``routing.planner.plan``, checks the answer with the
independent ``routing.feasibility.check_plan`` and only then saves it: ``RouteStop`` rows
(courier, order, ETA, or why a stop is left out) and the case's pickup and delivery
courier, which is what authorises that courier in the custody ledger.

Which engine: ``routing.planner`` runs PyVRP and VROOM side by side and keeps the best
checked plan; both model the couriers' lunch break (on by default). pyvroom 1.15.2 will
not let a courier wait for the break window, so when the kept plan left stops out a short
repair pass (``repair``) inserts what it can, with the break at every place.

Changes during the day (a new booking, a cancellation, a result, a failed attempt) reach
the live plan by cheapest insertion in ``core.dispatch.live`` (no solver, other couriers'
routes untouched). The booking page's window check is insertion only (``routing.windows``),
because a citizen is waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.dispatch.day import (
    Day,
    build_day,
    couriers_of,
    make_geocoder,
    seconds_of,
    sync_stops,
    today_in_vietnam,
    travel_matrix,
    vehicle_for,
)
from core.dispatch.models import DispatchPlan, RouteStop
from core.dispatch.reasons import reason_code
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.identity.models import User
from core.places.models import Office, PostOffice
from core.settings import Settings
from routing.feasibility import check_plan
from routing.geocode import Geocoder
from routing.model import Location, Plan, Problem, Shipment, Stop, TimeWindow
from routing.planner import BREAK, schedule_routes
from routing.planner import plan as solve
from routing.travel import with_locations
from routing.windows import offerable_windows as windows_that_fit
from vntime import VN

log = logging.getLogger(__name__)


class InfeasiblePlan(Conflict):
    """The independent check found a violation: the plan is not saved."""


@dataclass(frozen=True)
class CourierSummary:
    courier_id: int
    name: str
    stops: int
    first_eta: datetime | None
    last_eta: datetime | None
    back_at: datetime | None
    distance_km: float


@dataclass(frozen=True)
class PlanSummary:
    plan_id: int
    post_office_id: int
    day: date
    engine: str
    matrix_source: str
    wall_time_s: float
    stops_assigned: int
    unassigned: list[tuple[int, str]]  # (stop id, reason)
    couriers: list[CourierSummary]


# -- saving ---------------------------------------------------------------------------------


def save_plan(
    session: Session,
    day: Day,
    result: Plan,
    *,
    now: datetime,
    trigger: str,
    time_limit_s: float,
    user_id: int | None,
) -> PlanSummary:
    violations = check_plan(day.problem, result)
    if violations:
        detail = "; ".join(f"{v.kind}: {v.detail}" for v in violations[:5])
        log.error("dispatch.infeasible_plan", extra={"violations": detail})
        raise InfeasiblePlan(f"the planner's answer failed the feasibility check: {detail}")
    midnight = day.rows.midnight
    routed: set[str] = set()
    summaries: list[CourierSummary] = []
    breaks: dict[str, dict[str, Any]] = {}
    for route in result.routes:
        seq = 0
        courier = day.couriers[route.vehicle_id]
        etas: list[datetime] = []
        for visit in route.visits:
            if visit.kind == "break":
                breaks[route.vehicle_id] = {
                    "after": seq,
                    "start": (midnight + timedelta(seconds=visit.start)).isoformat(),
                    "minutes": round((visit.departure - visit.start) / 60),
                }
                continue
            seq += 1
            row = day.stop_rows[visit.stop_id]
            routed.add(visit.stop_id)
            row.courier_id = courier.id
            row.sequence = seq
            row.unassigned_reason = None
            if row.status not in ("done", "failed"):
                row.eta = midnight + timedelta(seconds=round(visit.start))
            elif row.completed_at is not None:
                # A finished stop shows when it really happened (its scan ends the service),
                # not when it was planned: a stop done out of order, or a failed attempt
                # hours early, must not make the next stop look impossible to reach.
                row.eta = row.completed_at - timedelta(minutes=row.service_minutes)
            etas.append(row.eta or midnight)
        summaries.append(
            CourierSummary(
                courier.id, courier.full_name, seq, min(etas, default=None),
                max(etas, default=None), midnight + timedelta(seconds=round(route.end_time)),
                round(route.distance / 1000, 1),
            )
        )  # fmt: skip
    for vid, taken in day.taken_breaks.items():
        breaks.setdefault(vid, taken)  # had before this plan: the record of it stays
    unassigned: list[tuple[int, str]] = []
    for u in result.unassigned:
        for sid in u.stop_ids:
            row = day.stop_rows[sid]
            row.courier_id = None
            row.sequence = None
            row.eta = None
            row.unassigned_reason = reason_code(u.reason)
            unassigned.append((row.id, row.unassigned_reason))
    if trigger != "draft":
        # A draft (a day whose plan has not started) names no courier on the cases: the
        # citizen hears of their courier once, from the day's real plan.
        _assign_cases(session, day)
    assigned = len(routed)
    header = DispatchPlan(
        post_office_id=day.rows.post_office.id,
        service_date=day.rows.day,
        trigger=trigger,
        planned_by_user_id=user_id,
        planned_at=now,
        engine=result.engine,
        matrix_source=day.problem.matrix.source,
        time_limit_s=time_limit_s,
        wall_time_s=result.wall_time_s,
        couriers=len(day.problem.vehicles),
        stops_assigned=assigned,
        stops_unassigned=len(unassigned),
        distance_m=result.distance,
        duration_s=result.duration,
        breaks=breaks,
    )
    session.add(header)
    session.flush()
    log.info(
        "dispatch.planned",
        extra={"post_office_id": header.post_office_id, "day": str(header.service_date),
               "engine": header.engine, "assigned": assigned, "unassigned": len(unassigned)},
    )  # fmt: skip
    return PlanSummary(header.id, header.post_office_id, header.service_date, result.engine,
                       header.matrix_source, result.wall_time_s, assigned, unassigned,
                       sorted(summaries, key=lambda s: s.name))  # fmt: skip


def _assign_cases(session: Session, day: Day) -> None:
    """Name the planned courier on each case: the ledger lets only that courier take it."""
    case_ids = {row.case_id for row in day.stop_rows.values() if row.case_id is not None}
    if not case_ids:
        return
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(case_ids)))}
    for row in day.stop_rows.values():
        if row.case_id is None or row.status in ("done", "failed", "cancelled"):
            continue
        case = cases[row.case_id]
        if row.kind == "home_pickup":
            case.pickup_courier_id = row.courier_id
        elif row.kind == "home_delivery":
            case.delivery_courier_id = row.courier_id
    session.flush()


# -- planning -------------------------------------------------------------------------------


def plan_day(
    session: Session,
    settings: Settings,
    *,
    post_office_id: int,
    day: date,
    now: datetime,
    time_limit_s: float | None = None,
    trigger: str = "plan",
    user_id: int | None = None,
    geocoder: Geocoder | None = None,
) -> PlanSummary:
    """Plan (or re-plan) the day; started and finished stops stay, locks are respected."""
    limit = time_limit_s if time_limit_s is not None else settings.dispatch_time_limit_s
    if limit <= 0:
        raise InvalidInput("the time limit must be a positive number of seconds",
                           field="time_limit")  # fmt: skip
    day_problem = build_day(
        session, settings, post_office_id=post_office_id, day=day, now=now,
        geocoder=geocoder if geocoder is not None else make_geocoder(settings),
    )  # fmt: skip
    if not day_problem.couriers:
        raise Conflict("this post office has no active courier to plan for",
                       field="post_office_id", reason="dispatch.no_courier")  # fmt: skip
    started = time.perf_counter()
    result = solve(day_problem.problem, time_limit_s=limit)
    if result.unassigned:
        result = repair(day_problem.problem, result, deadline=started + limit * (1 + _REPAIR_SHARE))
    return save_plan(session, day_problem, result, now=now, trigger=trigger, time_limit_s=limit,
                 user_id=user_id)  # fmt: skip


def _stop_for_dispatcher(
    session: Session, stop_id: int, user: User | None, settings: Settings | None = None
) -> RouteStop:
    row = session.get(RouteStop, stop_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no stop {stop_id}", field="stop_id", reason="dispatch.no_stop")
    if user is not None and user.role != "admin" and user.post_office_id != row.post_office_id:
        raise Forbidden("this stop belongs to another post office", field="stop_id",
                        reason="dispatch.other_post_office")  # fmt: skip
    if settings is not None and row.status == "planned":
        # The row's status follows the ledger only when the day is synced: a dossier picked
        # up a minute ago must already count as done here (a finished stop is not locked).
        sync_stops(session, settings, post_office_id=row.post_office_id, day=row.service_date)
        session.refresh(row)
    if row.status != "planned":
        raise Conflict(f"stop {stop_id} is already {row.status}; only a planned stop can change",
                       field="stop_id", reason="dispatch.stop_under_way")  # fmt: skip
    return row


def _pair_of(session: Session, row: RouteStop) -> RouteStop | None:
    if row.paired_stop_id is None:
        return None
    return session.get(RouteStop, row.paired_stop_id, with_for_update=True)


def set_lock(
    session: Session,
    *,
    stop_id: int,
    locked: bool,
    user: User | None = None,
    settings: Settings | None = None,
) -> RouteStop:
    """Lock a stop (and its pair) to its courier, or release it. A re-plan keeps it there.

    With ``settings`` the day is first brought in line with the ledger, so a stop finished
    since the last plan is refused (``dispatch.stop_under_way``), changing nothing."""
    row = _stop_for_dispatcher(session, stop_id, user, settings)
    if locked and row.courier_id is None:
        raise Conflict("an unassigned stop cannot be locked; move it to a courier first",
                       field="stop_id", reason="dispatch.lock_unassigned")  # fmt: skip
    pair = _pair_of(session, row)
    for r in (row, pair):
        if r is not None and r.status == "planned":
            r.locked = locked
    session.flush()
    return row


def move_stop(
    session: Session,
    settings: Settings,
    *,
    stop_id: int,
    courier_id: int,
    now: datetime,
    user: User | None = None,
    time_limit_s: float | None = None,
) -> PlanSummary:
    """Give a stop (and its pair) to another courier, lock it there, re-plan the rest.

    Refused with a clear reason, and nothing changed, when that courier cannot take it
    (window, shift or capacity): the caller's transaction is rolled back by the raise.
    """
    row = _stop_for_dispatcher(session, stop_id, user, settings)
    courier = session.get(User, courier_id)
    if courier is None or courier.role != "courier" or not courier.active:
        raise InvalidInput(f"no active courier {courier_id}", field="courier_id")
    if courier.post_office_id != row.post_office_id:
        raise InvalidInput("that courier works at another post office", field="courier_id",
                           reason="dispatch.courier_elsewhere")  # fmt: skip
    pair = _pair_of(session, row)
    if pair is not None and pair.status != "planned" and pair.courier_id != courier_id:
        raise Conflict("the other end of this stop is already under way with another courier",
                       field="stop_id", reason="dispatch.pair_under_way")  # fmt: skip
    for r in (row, pair):
        if r is not None and r.status == "planned":
            r.courier_id = courier_id
            r.sequence = r.sequence or 0
            r.locked = True
    session.flush()
    summary = plan_day(
        session, settings, post_office_id=row.post_office_id, day=row.service_date, now=now,
        time_limit_s=time_limit_s or settings.dispatch_interactive_time_limit_s, trigger="move",
        user_id=user.id if user else None,
    )  # fmt: skip
    session.refresh(row)
    if row.courier_id != courier_id:
        raise Conflict(
            f"{courier.full_name} cannot take this stop: {row.unassigned_reason or 'no room'}",
            field="courier_id",
        )
    return summary


# -- a new booking into the live plan --------------------------------------------------------


def current_plan(session: Session, day: Day) -> Plan:
    """The saved routes as a ``Plan`` over ``day.problem`` (breaks where the planner put them)."""
    header = latest_plan(session, day.rows.post_office.id, day.rows.day)
    breaks: Mapping[str, Any] = header.breaks if header is not None else {}
    by_courier: dict[str, list[RouteStop]] = {}
    for row in day.stop_rows.values():
        if row.courier_id is not None and str(row.courier_id) in day.couriers:
            by_courier.setdefault(str(row.courier_id), []).append(row)
    sequences: dict[str, list[str]] = {}
    for vid, rows in by_courier.items():
        veh = day.problem.vehicle(vid)
        prefix = list(veh.fixed_prefix)
        rest = [str(r.id) for r in sorted(rows, key=lambda r: (r.sequence or 0, r.id))
                if str(r.id) not in prefix]  # fmt: skip
        seq = prefix + rest
        brk = breaks.get(vid)
        if veh.brk is not None and seq:
            # Before the first stop the saved plan has at or after the break's start: by time,
            # not by count ("after"), since a stop taken out of the route before the break
            # (a cancellation) would otherwise push lunch past an afternoon stop.
            at = len(seq)
            if brk:
                start = datetime.fromisoformat(str(brk["start"]))
                at = next((k for k, sid in enumerate(seq)
                           if (eta := day.stop_rows[sid].eta) is not None and eta >= start),
                          len(seq))  # fmt: skip
            seq.insert(max(len(prefix), at), BREAK)
        sequences[vid] = seq
    return schedule_routes(day.problem, sequences, engine="saved")


def insert_positions(problem: Problem, plan: Plan, vehicle_id: str, sh: Shipment) -> Plan | None:
    """Best feasible positions of ``sh`` in one courier's route, other routes unchanged."""
    route = plan.route_of(vehicle_id)
    seq = [v.stop_id for v in route.visits] if route is not None else []
    veh = problem.vehicle(vehicle_id)
    own = set(seq) | {sh.pickup.id, sh.drop.id}
    sub = replace(
        problem,
        vehicles=(veh,),
        jobs=tuple(j for j in problem.jobs if j.id in own),
        shipments=tuple(s for s in problem.shipments if s.pickup.id in own or s.drop.id in own),
    )
    # Positions after the fixed prefix (a break inside the prefix counts as a position).
    first, real = 0, 0
    while real < len(veh.fixed_prefix) and first < len(seq):
        real += seq[first] != BREAK
        first += 1
    best: tuple[float, list[str]] | None = None
    for i in range(first, len(seq) + 1):
        for j in range(i, len(seq) + 1):
            trial = seq[:i] + [sh.pickup.id] + seq[i:j] + [sh.drop.id] + seq[j:]
            trials = [trial]
            if veh.brk is not None and BREAK not in trial:
                # An empty route has no break yet: try it at every place after the prefix.
                trials = [trial[:k] + [BREAK] + trial[k:] for k in range(first, len(trial) + 1)]
            for t in trials:
                candidate = schedule_routes(sub, {vehicle_id: t})
                if check_plan(sub, candidate):
                    continue
                if best is None or candidate.duration < best[0]:
                    best = (candidate.duration, t)
    if best is None:
        return None
    sequences = {r.vehicle_id: [v.stop_id for v in r.visits] for r in plan.routes}
    sequences[vehicle_id] = best[1]
    return schedule_routes(problem, sequences, engine="insertion")


# Extra time for the repair pass after the solver: a share of the budget, at least 0.25 s.
_REPAIR_SHARE = 0.2
_REPAIR_MIN_S = 0.25


def repair(problem: Problem, result: Plan, *, deadline: float) -> Plan:
    """Try to insert what the solver left out, one shipment at a time, before ``deadline``.

    Needed for VROOM's breaks: pyvroom 1.15.2 will not make a courier wait for the break
    window after their last stop, so a courier whose work ends before lunch cannot take a
    morning-only shipment (measured: one 8:00-10:00 delivery and one courier left it
    unassigned). Exhaustive insertion, with the break at every place, finds those.
    """
    by_id = {sh.id: sh for sh in problem.shipments}
    current = result
    left = list(result.unassigned)
    placed = 0
    for u in list(left):
        sh = by_id.get(u.task_id)
        # Only what lacked room: a stop no courier could reach even alone stays out.
        if sh is None or len(u.stop_ids) != 2 or not u.reason.startswith("no room"):
            continue
        lengths = {r.vehicle_id: len(r.visits) for r in current.routes}
        vehicles = [v.id for v in problem.vehicles if sh.locked_to is None or sh.locked_to == v.id]
        vehicles.sort(key=lambda vid: lengths.get(vid, 0))
        best: Plan | None = None
        for vid in vehicles:
            if time.perf_counter() > deadline:
                break
            trial = insert_positions(problem, current, vid, sh)
            if trial is not None and (best is None or trial.duration < best.duration):
                best = trial
        if best is None:
            continue
        left.remove(u)
        placed += 1
        current = Plan(best.routes, tuple(left), current.engine, current.wall_time_s)
    if not placed:
        return result
    return Plan(current.routes, tuple(left), f"{result.engine}+insertion", result.wall_time_s)


def unrouted(day: Day, plan: Plan) -> list[tuple[str, tuple[str, ...], str]]:
    routed = {v.stop_id for r in plan.routes for v in r.visits}
    out: list[tuple[str, tuple[str, ...], str]] = []
    for job in day.problem.jobs:
        if job.id not in routed:
            reason = day.stop_rows[job.id].unassigned_reason or "not planned yet"
            out.append((job.id, (job.id,), reason))
    for sh in day.problem.shipments:
        if sh.pickup.id not in routed:
            reason = day.stop_rows[sh.pickup.id].unassigned_reason or "not planned yet"
            out.append((sh.id, (sh.pickup.id, sh.drop.id), reason))
    return out


# -- the booking page ------------------------------------------------------------------------


def booking_slots(settings: Settings, day: date) -> list[tuple[datetime, datetime]]:
    """The pickup windows of ``day`` (``Settings.booking_windows``); Sunday has none. The one
    place both the booking page and the live-plan check get their windows from."""
    if day.weekday() == 6:
        return []
    return [
        (datetime.combine(day, start, VN), datetime.combine(day, end, VN))
        for start, end in settings.booking_windows
    ]


def offerable_windows(
    session: Session,
    *,
    post_office_id: int,
    lat: float,
    lon: float,
    day: date,
    now: datetime,
    settings: Settings | None = None,
    office_id: int | None = None,
) -> list[tuple[datetime, datetime]]:
    """Pickup slots on ``day`` in which a booking at (lat, lon) still fits the live plan.

    The dossier is assumed to go to ``office_id`` (or back to the post office when no
    office is named, i.e. it travels on). Only cheapest insertion is tried, so the answer
    comes in milliseconds; a slot that would need the whole day reshuffled is not offered.
    Slots that have already ended, or that no courier can reach in time, are not offered.
    """
    from core.settings import get_settings

    settings = settings or get_settings()
    if day < today_in_vietnam(now):
        return []
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput("lat/lon are not a position on Earth", field="lat")
    post = session.get(PostOffice, post_office_id)
    if post is None:
        raise NotFound(f"no post office {post_office_id}", field="post_office_id")
    # The routes as last saved, read without syncing or locking the day: a citizen waits,
    # and every change of the day re-syncs it through the live plan anyway.
    day_problem = build_day(session, settings, post_office_id=post_office_id, day=day, now=now,
                            assigned_only=True, synced=False)  # fmt: skip
    if not day_problem.couriers:
        return []
    problem = day_problem.problem
    saved = current_plan(session, day_problem)
    drop_loc = 0  # the post office
    office_hours: TimeWindow | None = None
    new_locs = [Location("new:home", lat, lon, problem.locations[0].area)]
    if office_id is not None:
        office = session.get(Office, office_id)
        if office is None:
            raise InvalidInput(f"no office {office_id}", field="office_id")
        new_locs.append(Location(f"new:office:{office.id}", office.lat, office.lon,
                                 problem.locations[0].area))  # fmt: skip
    extended, idx = with_locations(problem, new_locs)
    if office_id is not None:
        drop_loc = idx[1]
        o, c = settings.dispatch_office_open, settings.dispatch_office_close
        office_hours = TimeWindow(o.hour * 3600 + o.minute * 60, c.hour * 3600 + c.minute * 60)
    service = settings.dispatch_service_seconds
    booking = Shipment(
        "new",
        Stop("new:p", idx[0], "home_pickup", None, service.get("home_pickup", 300)),
        Stop("new:d", drop_loc, "office_drop", office_hours,
             service.get("office_drop" if office_id else "post_office_drop", 120)),
    )  # fmt: skip
    midnight = day_problem.rows.midnight
    slots = [s for s in booking_slots(settings, day) if s[1] > now]
    candidates = [
        TimeWindow(max(0, seconds_of(s, midnight)), seconds_of(e, midnight)) for s, e in slots
    ]
    fitting = windows_that_fit(extended, saved, booking, candidates)
    return [
        (midnight + timedelta(seconds=w.start), midnight + timedelta(seconds=w.end))
        for w in fitting
    ]


# -- reading the plan ----------------------------------------------------------------------------


def latest_plan(session: Session, post_office_id: int, day: date) -> DispatchPlan | None:
    return session.scalar(
        select(DispatchPlan)
        .where(DispatchPlan.post_office_id == post_office_id, DispatchPlan.service_date == day)
        .order_by(DispatchPlan.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class DayView:
    post_office: PostOffice
    day: date
    header: DispatchPlan | None
    couriers: list[User]
    stops: list[RouteStop]


def day_view(session: Session, *, post_office_id: int, day: date) -> DayView:
    """What the dispatcher page shows: the saved plan, no planning."""
    post = session.get(PostOffice, post_office_id)
    if post is None:
        raise NotFound(f"no post office {post_office_id}", field="post_office_id")
    stops = list(
        session.scalars(
            select(RouteStop)
            .where(
                RouteStop.post_office_id == post_office_id,
                RouteStop.service_date == day,
                RouteStop.status != "cancelled",
            )
            .order_by(RouteStop.courier_id, RouteStop.sequence, RouteStop.id)
        )
    )
    return DayView(post, day, latest_plan(session, post_office_id, day),
                   couriers_of(session, post_office_id), stops)  # fmt: skip


__all__ = [
    "InfeasiblePlan",
    "PlanSummary",
    "CourierSummary",
    "DayView",
    "day_view",
    "latest_plan",
    "move_stop",
    "offerable_windows",
    "plan_day",
    "set_lock",
    "travel_matrix",
    "vehicle_for",
]
