"""The live plan: every change to a day's work reaches its routes as it happens.

What changes the work: a booking confirmed, cancelled or moved; a result registered for
delivery; a delivery attempt that failed; a pickup refused. Each becomes one outbox message
(topic ``dispatch.update``) naming the post office and the day:

- ledger events are found by ``ledger_pass``, a reader over the custody ledger with its own
  gap-aware cursor (``dispatch_live_cursor``, ``core.custody.watermark``) moved in the same
  transaction as the
  messages it queues, so every event is queued once, whichever app recorded it;
- a moved booking has no ledger event: ``core.booking.service`` queues it (old and new day).

The outbox delivers the message with ``apply_update`` inside the message's own transaction
(``core.outbox.service.InTransaction``): the plan change and the "delivered" mark commit
together, so a change is applied exactly once.

Applying is cheap and local (``update_day``): the saved routes are re-timed from *now*; a
planned stop whose window can no longer be kept leaves its route with that reason; every stop
not in a route is tried by cheapest insertion into one courier's route, which keeps started
and locked stops and the order of everyone else's stops; what does not fit stays unassigned
with a reason code. Only if the saved routes no longer hold for another reason (a courier
far behind) is the day re-optimised with the interactive budget.

A day whose plan has not started (no ``plan``/``replan`` run yet, typically tomorrow) gets
the same insertion into *draft* routes: they let the booking page check windows against
every booking already taken, but name no courier to the citizen; the day's first plan
re-optimises them. ``reoptimise_due`` runs the periodic re-optimisation of unlocked stops
(``HOSO_DISPATCH_REOPTIMISE_MINUTES``, 0 = off) and keeps the new routes only when better.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from core.cases.models import Booking, Case
from core.custody.models import CustodyEvent, Item
from core.custody.watermark import settled
from core.db import transaction
from core.dispatch.day import Day, build_day, make_geocoder, today_in_vietnam
from core.dispatch.models import DispatchLiveCursor, DispatchPlan
from core.dispatch.reasons import (
    NO_ROOM_BY_INSERTION,
    UNREACHABLE,
    WAITING_FOR_PLAN,
    WINDOW_PASSED,
)
from core.dispatch.service import (
    InfeasiblePlan,
    PlanSummary,
    current_plan,
    insert_positions,
    plan_day,
    repair,
    save_plan,
    unrouted,
)
from core.outbox.service import InTransaction, enqueue
from core.settings import Settings
from routing.feasibility import check_plan
from routing.model import Plan, Problem, Shipment, Unassigned
from routing.planner import BREAK, schedule_routes
from routing.planner import plan as solve
from routing.windows import insertion_cost
from vntime import VN

log = logging.getLogger(__name__)

LIVE_TOPIC = "dispatch.update"
BATCH = 500
# Ledger events that change a day's work (the rest only move an item along its route).
LEDGER_KINDS = frozenset(
    {"booked", "cancelled", "pickup_refused", "result_registered", "attempt_failed"}
)
# Runs that start a day's plan; before the first of them the day has only draft routes.
STARTING_TRIGGERS = ("plan", "replan", "move", "lock", "insert", "update", "reopt")
# Late by more than this (seconds) against a window: the stop cannot be kept as planned.
_LATE_TOLERANCE_S = 1.0


# -- queueing --------------------------------------------------------------------------------


def queue_update(
    session: Session, *, post_office_id: int, day: date, case_id: int | None, cause: str
) -> None:
    """Queue one change of ``day``'s work at the post office, in the caller's transaction."""
    enqueue(session, LIVE_TOPIC, {"post_office_id": post_office_id, "day": day.isoformat(),
                                  "case_id": case_id, "cause": cause})  # fmt: skip


def _cursor(session: Session) -> DispatchLiveCursor:
    cursor = session.get(DispatchLiveCursor, 1, with_for_update=True)
    if cursor is None:
        session.execute(
            insert(DispatchLiveCursor)
            .values(id=1, last_event_id=0)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        cursor = session.get(DispatchLiveCursor, 1, with_for_update=True)
        assert cursor is not None
    return cursor


def ledger_pass(factory: sessionmaker[Session], settings: Settings, *, now: datetime) -> int:
    """Queue a plan update for each new ledger event that changes a day's work; returns how
    many were queued. Events of days already past change no plan and are only read over."""
    with transaction(factory) as session:
        mark = _cursor(session)
        rows = session.execute(
            select(CustodyEvent.id, CustodyEvent.kind, CustodyEvent.recorded_at,
                   CustodyEvent.occurred_at, Item.kind.label("item_kind"), Case.id.label("case_id"),
                   Booking.post_office_id, Booking.pickup_window_start)
            .outerjoin(Item, Item.id == CustodyEvent.item_id)
            .outerjoin(Case, Case.id == Item.case_id)
            .outerjoin(Booking, Booking.id == Case.booking_id)
            .where(CustodyEvent.id > mark.last_event_id)
            .order_by(CustodyEvent.id)
            .limit(BATCH)
        ).all()  # fmt: skip
        taken = settled(session, settings, rows, after=mark.last_event_id, now=now,
                        id_of=lambda r: int(r.id),
                        recorded_at_of=lambda r: r.recorded_at)  # fmt: skip
        today = today_in_vietnam(now)
        queued = 0
        for row in taken:
            if row.kind not in LEDGER_KINDS or row.post_office_id is None:
                continue
            # A dossier is fetched on its booking's day; a result is carried on the day the
            # change happens (its delivery slot is the citizen's window on that day).
            moment = row.pickup_window_start if row.item_kind == "dossier" else row.occurred_at
            day = moment.astimezone(VN).date()
            if day < today:
                continue
            queue_update(session, post_office_id=row.post_office_id, day=day,
                         case_id=row.case_id, cause=row.kind)  # fmt: skip
            queued += 1
        if taken:
            mark.last_event_id = int(taken[-1].id)
            mark.updated_at = now
        return queued


# -- applying ------------------------------------------------------------------------------


def started_plan(session: Session, post_office_id: int, day: date) -> DispatchPlan | None:
    """The newest run that started (or continued) the day's real plan; None while the day
    has only draft routes."""
    return session.scalar(
        select(DispatchPlan)
        .where(
            DispatchPlan.post_office_id == post_office_id,
            DispatchPlan.service_date == day,
            DispatchPlan.trigger.in_(STARTING_TRIGGERS),
        )
        .order_by(DispatchPlan.id.desc())
        .limit(1)
    )


def _apply(
    session: Session, payload: Mapping[str, Any], settings: Settings, now: datetime
) -> str | None:
    post_office_id = int(payload["post_office_id"])
    day = date.fromisoformat(str(payload["day"]))
    if day < today_in_vietnam(now):
        return "past"  # a day that is over is not re-planned
    summary = update_day(session, settings, post_office_id=post_office_id, day=day, now=now)
    return f"plan:{summary.plan_id}"


# The outbox's handler for LIVE_TOPIC (the worker registers it).
apply_update = InTransaction(_apply)


def _late_tasks(problem: Problem, plan: Plan) -> set[str]:
    """Stops (by task) whose window the re-timed route can no longer keep."""
    stops = problem.stops()
    task_of: dict[str, str] = {j.id: j.id for j in problem.jobs}
    for sh in problem.shipments:
        task_of[sh.pickup.id] = task_of[sh.drop.id] = sh.id
    late: set[str] = set()
    for route in plan.routes:
        for visit in route.visits:
            stop = stops.get(visit.stop_id)
            if stop is not None and stop.window is not None:
                if visit.start > stop.window.end + _LATE_TOLERANCE_S:
                    late.add(task_of[visit.stop_id])
    return late


def _without(problem: Problem, plan: Plan, tasks: set[str], reason: str) -> Plan:
    """``plan`` with ``tasks`` taken out of their routes (as unassigned with ``reason``)."""
    stop_ids: dict[str, tuple[str, ...]] = {j.id: (j.id,) for j in problem.jobs}
    for sh in problem.shipments:
        stop_ids[sh.id] = (sh.pickup.id, sh.drop.id)
    gone = {sid for t in tasks for sid in stop_ids[t]}
    sequences = {r.vehicle_id: [v.stop_id for v in r.visits if v.stop_id not in gone]
                 for r in plan.routes}  # fmt: skip
    for vid, seq in sequences.items():
        if seq and all(s == BREAK for s in seq):
            sequences[vid] = []  # a route of only a break is no route
    unassigned = [*plan.unassigned, *(Unassigned(t, stop_ids[t], reason) for t in sorted(tasks))]
    return schedule_routes(problem, sequences, engine=plan.engine, unassigned=unassigned)


def _live_routes(session: Session, day: Day) -> Plan:
    """The saved routes re-timed from now, minus planned stops whose window has gone, plus
    every stop not in a route listed as unassigned (its old reason for now)."""
    problem = day.problem
    saved = _with_rest(session, day)
    while True:
        # Taking a late stop out makes the rest of its route earlier, never later: a few
        # rounds at most.
        late = _late_tasks(problem, saved)
        if not late:
            return saved
        # Only a task whose every stop is still planned can leave (not one on board).
        movable = {t for t in late if _all_planned(day, t)}
        if not movable:
            return saved
        saved = _without(problem, saved, movable, WINDOW_PASSED)


def _all_planned(day: Day, task_id: str) -> bool:
    for sh in day.problem.shipments:
        if sh.id == task_id:
            return all(day.stop_rows[s.id].status == "planned" for s in (sh.pickup, sh.drop))
    return day.stop_rows[task_id].status == "planned"


def _with_rest(session: Session, day: Day) -> Plan:
    """The saved routes (re-timed from now) and every stop not in them as unassigned."""
    saved = current_plan(session, day)
    rest = [Unassigned(task, stops, reason) for task, stops, reason in unrouted(day, saved)]
    return Plan(saved.routes, tuple(rest), "saved")


def _insert_all(day: Day, plan: Plan, *, deadline: float, draft: bool) -> tuple[Plan, int]:
    """Cheapest insertion of every shipment not in a route, earliest window first; returns
    the new plan and how many were placed. What does not fit keeps a reason."""
    problem = day.problem
    by_id = {sh.id: sh for sh in problem.shipments}
    left = list(plan.unassigned)
    current = plan
    placed = 0

    def window_start(u: Unassigned) -> float:
        sh = by_id.get(u.task_id)
        return sh.pickup.window.start if sh is not None and sh.pickup.window else 0.0

    for u in sorted(left, key=window_start):
        sh = by_id.get(u.task_id)
        if sh is None or time.perf_counter() > deadline:
            continue
        if u.reason == WINDOW_PASSED and _window_over(sh, day):
            continue
        inserted = _insert_one(problem, current, sh)
        if inserted is None:
            # Could any courier take it with an empty day? If not, no re-plan will help.
            alone = insertion_cost(problem, Plan((), (), "empty"), sh)
            reason = UNREACHABLE if alone is None else _reason_after_try(u, draft)
            left[left.index(u)] = Unassigned(u.task_id, u.stop_ids, reason)
            current = Plan(current.routes, tuple(left), current.engine)
            continue
        left.remove(u)
        placed += 1
        current = Plan(inserted.routes, tuple(left), "insertion")
    return current, placed


def _window_over(sh: Shipment, day: Day) -> bool:
    now = day.available_at
    return now is not None and sh.pickup.window is not None and sh.pickup.window.end < now


def _reason_after_try(u: Unassigned, draft: bool) -> str:
    # A stop the planner could not reach even alone keeps that reason. On a day whose plan
    # has not started, what the draft routes cannot take waits for the plan (the solver
    # rearranges everything then); on a planned day the current routes have no room for it.
    if u.reason in (UNREACHABLE, WINDOW_PASSED):
        return u.reason
    return WAITING_FOR_PLAN if draft else NO_ROOM_BY_INSERTION


def _insert_one(problem: Problem, plan: Plan, sh: Shipment) -> Plan | None:
    best = insertion_cost(problem, plan, sh)
    if best is None:
        return None
    return insert_positions(problem, plan, best[1], sh)


def update_day(
    session: Session,
    settings: Settings,
    *,
    post_office_id: int,
    day: date,
    now: datetime,
    insertion_budget_s: float = 2.0,
) -> PlanSummary:
    """Bring the day's live routes in line with its work, by insertion; see the module doc.

    One change brings one or two shipments, placed in milliseconds; ``insertion_budget_s``
    bounds a backlog (a worker that was down): what it leaves out keeps its reason until the
    next change of the day or a re-optimisation."""
    draft = started_plan(session, post_office_id, day) is None
    day_problem = build_day(session, settings, post_office_id=post_office_id, day=day, now=now,
                            geocoder=make_geocoder(settings))  # fmt: skip
    trigger = "draft" if draft else "update"
    live = _live_routes(session, day_problem)
    result, placed = _insert_all(
        day_problem, live, deadline=time.perf_counter() + insertion_budget_s, draft=draft
    )
    engine = "insertion" if placed else "saved"
    result = Plan(result.routes, result.unassigned, engine, 0.0)
    if not check_plan(day_problem.problem, result):
        return save_plan(session, day_problem, result, now=now, trigger=trigger, time_limit_s=0.0,
                     user_id=None)  # fmt: skip
    # The saved routes no longer hold as they are (a courier far behind, a shift overrun):
    # only then is the day re-optimised, with the interactive budget.
    log.warning("dispatch.live_plan_broken", extra={"post_office_id": post_office_id,
                                                    "day": day.isoformat()})  # fmt: skip
    return plan_day(session, settings, post_office_id=post_office_id, day=day, now=now,
                    time_limit_s=settings.dispatch_interactive_time_limit_s,
                    trigger="draft" if draft else "reopt")  # fmt: skip


# -- periodic re-optimisation ----------------------------------------------------------------


def reoptimise_day(
    session: Session,
    settings: Settings,
    *,
    post_office_id: int,
    day: date,
    now: datetime,
    time_limit_s: float | None = None,
) -> PlanSummary:
    """Re-plan the unlocked, not yet started stops of the day; keep the result only if it
    serves more stops, or as many in less time, than the live routes (otherwise the live
    routes are kept and no courier changes)."""
    limit = time_limit_s if time_limit_s is not None else settings.dispatch_time_limit_s
    day_problem = build_day(session, settings, post_office_id=post_office_id, day=day, now=now,
                            geocoder=make_geocoder(settings))  # fmt: skip
    live = _live_routes(session, day_problem)
    if check_plan(day_problem.problem, live):
        live = None  # type: ignore[assignment]
    started = time.perf_counter()
    candidate = solve(day_problem.problem, time_limit_s=limit)
    if candidate.unassigned:
        candidate = repair(day_problem.problem, candidate, deadline=started + limit * 1.2)
    chosen = candidate
    if live is not None and not _better(candidate, live):
        chosen = Plan(live.routes, live.unassigned, "kept", candidate.wall_time_s)
    try:
        return save_plan(session, day_problem, chosen, now=now, trigger="reopt", time_limit_s=limit,
                     user_id=None)  # fmt: skip
    except InfeasiblePlan:
        if chosen is candidate or live is None:
            raise
        return save_plan(session, day_problem, candidate, now=now, trigger="reopt",
                     time_limit_s=limit, user_id=None)  # fmt: skip


def _better(candidate: Plan, live: Plan) -> bool:
    served_c = -sum(len(u.stop_ids) for u in candidate.unassigned)
    served_l = -sum(len(u.stop_ids) for u in live.unassigned)
    if served_c != served_l:
        return served_c > served_l
    # A re-shuffle that saves less than 2% of the riding is not worth the couriers' confusion.
    return candidate.duration < live.duration * 0.98


def reoptimise_due(
    factory: sessionmaker[Session], settings: Settings, *, now: datetime
) -> list[PlanSummary]:
    """Re-optimise today's started plans whose last full run is older than the setting."""
    minutes = settings.dispatch_reoptimise_minutes
    if minutes <= 0:
        return []
    today = today_in_vietnam(now)
    with transaction(factory) as session:
        offices = list(
            session.scalars(
                select(DispatchPlan.post_office_id)
                .where(DispatchPlan.service_date == today,
                       DispatchPlan.trigger.in_(STARTING_TRIGGERS))
                .distinct()
            )
        )  # fmt: skip
    done: list[PlanSummary] = []
    for post_office_id in offices:
        with transaction(factory) as session:
            last_full = session.scalar(
                select(DispatchPlan.planned_at)
                .where(DispatchPlan.post_office_id == post_office_id,
                       DispatchPlan.service_date == today,
                       DispatchPlan.trigger.in_(("plan", "replan", "reopt")))
                .order_by(DispatchPlan.id.desc())
                .limit(1)
            )  # fmt: skip
            if last_full is not None and last_full > now - timedelta(minutes=minutes):
                continue
            done.append(reoptimise_day(session, settings, post_office_id=post_office_id,
                                       day=today, now=now))  # fmt: skip
    return done


__all__: Sequence[str] = (
    "LIVE_TOPIC",
    "apply_update",
    "ledger_pass",
    "queue_update",
    "reoptimise_day",
    "reoptimise_due",
    "started_plan",
    "update_day",
)
