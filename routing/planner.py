"""The day's planner: PyVRP and VROOM side by side, the best checked plan kept.

``plan`` (engine ``"auto"``, the default) runs a small portfolio within the wall-clock
budget, on the two cores of the machine:

* a thread runs PyVRP from its own start, for the whole budget;
* a child process (``start_workers``) runs VROOM, for about a third of the budget: pyvroom
  holds the GIL for its whole solve, PyVRP's search does not (measured, see
  ``routing.engine_pyvrp`` and bench/routing/RESULTS.md);
* a second thread then runs PyVRP again (another seed), started from the cheaper of
  VROOM's plan and the first search's best so far; when VROOM left stops out and PyVRP
  has no plan (an over-full day), from VROOM's plan with stops optional at a price.

The calling thread only waits, so a search stuck in PyVRP's uninterruptible start cannot
hold the answer past the budget; a plan with no clean candidate at the deadline waits
for VROOM's (an over-full day).

Each result is re-timed in float (``schedule_routes``) and checked by the independent
checker (``routing.feasibility.check_plan``); of the plans without violations the one
with the fewest stops left out, then the lowest cost (the problem's objective), is kept.
So the plan is never worse than the VROOM or PyVRP plans it was chosen from, and a
plan with a violation is never returned while a clean one exists. Figures per class and
budget, against each raw solver given the same wall time: ``bench/routing/RESULTS.md``.

Breaks: PyVRP models them as a client per courier (see ``routing.engine_pyvrp``) and,
unlike VROOM, lets the courier wait for the break window after the last stop; VROOM
models them natively. Both run whether or not couriers have breaks.

``engine="pyvrp"`` or ``"vroom"`` runs one solver alone (the bench's per-solver rows);
``"pyvrp"`` falls back to VROOM on an over-full day, since it needs every stop routed.

Both solvers work in integers: durations are ``ceil(value * precision)`` so a route the
solver thinks feasible is feasible in exact float time too, distances are rounded. The
returned plan is re-timed and measured in float from ``problem.matrix``; the solver's own
numbers are never reported.

Fixed prefixes are honoured the same way for both engines: the prefix is kept verbatim,
and only the remainder is planned, from the last prefix stop at the time the courier is
free. A shipment picked up in the prefix but not yet dropped becomes a drop-only job
locked to that courier (it is on board, which is what "delivery loaded at start" means to
both solvers).
"""

from __future__ import annotations

import time
from typing import Literal

from routing.engine_pyvrp import PyvrpModel
from routing.engine_vroom import solve_vroom, vroom_level
from routing.model import Plan, Problem, Shipment, Unassigned
from routing.portfolio import Portfolio, run_portfolio
from routing.portfolio import start_workers as start_workers
from routing.schedule import PlanningError as PlanningError
from routing.schedule import schedule_routes as schedule_routes
from routing.tasks import BREAK as BREAK
from routing.tasks import Reduced, Task, Veh

Engine = Literal["auto", "pyvrp", "vroom"]

# Part of the budget kept for building the models, reading the answers back, re-timing
# and checking them, so the whole call stays within time_limit_s.
_OVERHEAD_RESERVE_S = 0.03
# With engine="pyvrp" alone: share of the budget kept back for the VROOM fallback on an
# over-full day.
_FALLBACK_SHARE = 0.1


def _allowed(problem: Problem, skills: frozenset[str], locked: str | None) -> frozenset[int] | None:
    if not skills and locked is None:
        return None
    return frozenset(
        i
        for i, v in enumerate(problem.vehicles)
        if skills <= v.skills and (locked is None or locked == v.id)
    )


def _reduce(problem: Problem) -> Reduced:
    """Split off fixed prefixes; what is left is what the solver plans."""
    stops = problem.stops()
    job_of = {j.id: j for j in problem.jobs}
    ship_of: dict[str, Shipment] = {}
    for sh in problem.shipments:
        ship_of[sh.pickup.id] = sh
        ship_of[sh.drop.id] = sh
    if len(stops) != len(problem.jobs) + 2 * len(problem.shipments):
        raise PlanningError("stop ids must be unique across jobs and shipments")

    vehs: list[Veh] = []
    done: set[str] = set()
    half_done: dict[str, int] = {}  # shipment id -> vehicle index that holds it
    for i, v in enumerate(problem.vehicles):
        cap = v.capacity
        loc = v.start
        seq: list[str] = []
        for sid in v.fixed_prefix:
            if sid not in stops:
                raise PlanningError(f"vehicle {v.id}: prefix stop {sid!r} is not in the problem")
            if sid in done:
                raise PlanningError(f"stop {sid!r} is in two fixed prefixes")
            done.add(sid)
            seq.append(sid)
            loc = stops[sid].location
            if sid in job_of:
                cap -= job_of[sid].pickup
            else:
                sh = ship_of[sid]
                if sid == sh.pickup.id:
                    half_done[sh.id] = i
                elif half_done.pop(sh.id, None) != i:
                    raise PlanningError(f"prefix of {v.id} drops {sh.id} before picking it up")
        ready = float(v.shift.start)
        if seq:
            sched = schedule_routes(problem, {v.id: seq}, reset_start=False).routes[0]
            ready = sched.visits[-1].departure
        if v.available_at is not None:
            ready = max(ready, float(v.available_at))
        vehs.append(Veh(i, v, loc, ready, cap, seq))

    tasks: list[Task] = []
    for job in problem.jobs:
        if job.id not in done:
            tasks.append(
                Task(
                    job.id,
                    (job.stop,),
                    delivery=job.delivery,
                    pickup=job.pickup,
                    allowed=_allowed(problem, job.skills, job.locked_to),
                    skills=job.skills,
                )
            )
    for sh in problem.shipments:
        if sh.id in half_done:
            tasks.append(
                Task(sh.id, (sh.drop,), delivery=sh.amount, allowed=frozenset({half_done[sh.id]}))
            )
        elif sh.pickup.id not in done:
            tasks.append(
                Task(
                    sh.id,
                    (sh.pickup, sh.drop),
                    amount=sh.amount,
                    allowed=_allowed(problem, sh.skills, sh.locked_to),
                    skills=sh.skills,
                )
            )
    return Reduced(vehs, tasks, done)


def _alone_reason(problem: Problem, red: Reduced, t: Task) -> str | None:
    """Why no eligible courier could serve ``t`` even with nothing else to do, if so."""
    if t.allowed is not None and not t.allowed:
        return "no courier has the required skills or the locked courier is not working"
    candidates = [v for v in red.vehicles if t.allowed is None or v.index in t.allowed]
    size = max(t.delivery, t.pickup, t.amount)
    if all(size > v.capacity for v in candidates):
        return f"larger ({size}) than any eligible courier's free capacity"
    dur = problem.matrix.duration
    for v in candidates:
        if size > v.capacity:
            continue
        time_now = v.ready
        loc = v.start_loc
        ok = True
        for s in t.stops:
            time_now += float(dur[loc, s.location])
            if s.window is not None:
                if time_now > s.window.end:
                    ok = False
                    break
                time_now = max(time_now, float(s.window.start))
            time_now += problem.service_of(s)
            loc = s.location
        if ok and time_now + float(dur[loc, v.vehicle.end]) <= v.vehicle.shift.end:
            return None
    return "time window cannot be reached within any eligible courier's shift"


def plan(problem: Problem, *, time_limit_s: float, engine: str = "auto", seed: int = 0) -> Plan:
    """Plan the day (or re-plan the rest of it) within ``time_limit_s`` seconds of wall time."""
    t0 = time.perf_counter()
    if engine not in ("auto", "pyvrp", "vroom"):
        raise PlanningError(f"unknown engine {engine!r}")
    red = _reduce(problem)
    deadline = t0 + time_limit_s - _OVERHEAD_RESERVE_S

    # Stops no courier could serve even alone are reported at once and kept away from the
    # solvers: PyVRP would otherwise see an infeasible day (or reject a window pair
    # outright) and only VROOM's plan would be left.
    hopeless: list[Unassigned] = []
    kept: list[Task] = []
    for t in red.tasks:
        why = _alone_reason(problem, red, t)
        if why is None:
            kept.append(t)
        else:
            hopeless.append(Unassigned(t.task_id, tuple(s.id for s in t.stops), why))
    red.tasks = kept
    portfolio = Portfolio(problem, red, hopeless)

    if not red.tasks:
        portfolio.offer("vroom" if engine == "vroom" else "pyvrp", {}, [])
    elif engine == "vroom":
        budget = deadline - time.perf_counter()
        seqs, left = solve_vroom(problem, red, budget, exploration=vroom_level(red, budget))
        portfolio.offer("vroom", seqs, left)
    elif engine == "pyvrp":
        budget = deadline - time.perf_counter()
        got = PyvrpModel.build(problem, red).solve(
            time.perf_counter() + budget * (1 - _FALLBACK_SHARE), seed
        )
        if got is not None:
            portfolio.offer("pyvrp", *got)
        else:
            # An over-full day (or a budget too short for PyVRP to reach feasibility):
            # VROOM plans what fits and reports the rest.
            budget = max(0.05, deadline - time.perf_counter())
            seqs, left = solve_vroom(problem, red, budget, exploration=vroom_level(red, budget))
            portfolio.offer("pyvrp->vroom", seqs, left)
    else:
        run_portfolio(problem, red, portfolio, deadline, seed)

    result = portfolio.best or portfolio.first
    if result is None:
        raise PlanningError("no solver produced a plan: " + "; ".join(portfolio.trace))
    return Plan(
        result.routes,
        result.unassigned,
        result.engine,
        time.perf_counter() - t0,
        tuple(portfolio.trace),
    )


# VROOM runs in a child process: pyvroom holds the GIL for its whole solve (measured: a
# Python loop in another thread stalled for 2.1 s during a 2 s VROOM solve, while PyVRP's
# search let it run with stalls of at most 40 ms). A forkserver child is started once, with
# vroom imported, and reused; each plan then costs one pickled problem each way.
