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

import atexit
import multiprocessing
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool as BrokenExecutor
from dataclasses import replace
from typing import Any, Literal

from routing.engine_pyvrp import PyvrpModel
from routing.engine_vroom import solve_vroom, vroom_level
from routing.feasibility import check_plan
from routing.model import (
    Plan,
    Problem,
    Route,
    Shipment,
    Unassigned,
    Visit,
    VisitKind,
)
from routing.tasks import BREAK as BREAK
from routing.tasks import Reduced, Sequences, Task, Veh

Engine = Literal["auto", "pyvrp", "vroom"]

# Part of the budget kept for building the models, reading the answers back, re-timing
# and checking them, so the whole call stays within time_limit_s.
_OVERHEAD_RESERVE_S = 0.03
# With engine="pyvrp" alone: share of the budget kept back for the VROOM fallback on an
# over-full day.
_FALLBACK_SHARE = 0.1
# In the portfolio: share of the budget VROOM gets before PyVRP starts from its plan.
# VROOM's level is chosen to finish within it (vroom_level).
_VROOM_SHARE = 0.35
# How long after the deadline the portfolio waits for the second thread before giving up
# on its result (both solvers stop on their own at the deadline).
_JOIN_GRACE_S = 0.2
# Least time past the deadline the portfolio waits for VROOM when it has no clean plan
# (an over-full day whose VROOM child is not yet started or overloaded); it waits up to
# the budget it gave VROOM's child beyond that.
_LATE_VROOM_WAIT_S = 0.2


class PlanningError(ValueError):
    """The problem is malformed (unknown ids, prefix inconsistent, ...)."""


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


# --------------------------------------------------------------------------- results


def schedule_routes(
    problem: Problem,
    sequences: Mapping[str, Sequence[str]],
    *,
    reset_start: bool = True,
    engine: str = "given",
    unassigned: Sequence[Unassigned] = (),
) -> Plan:
    """ETAs for given stop orders (``"break"`` marks the break), in float, earliest-start.

    Also the entry point for a dispatcher's hand-edited routes: build the plan here, then
    run ``routing.feasibility.check_plan`` on it.

    ``reset_start`` delays leaving the post office so the courier does not wait at the
    first stop, when that stop is not part of a fixed prefix.
    """
    stops = problem.stops()
    dur = problem.matrix.duration
    dist = problem.matrix.distance
    job_of = {j.id: j for j in problem.jobs}
    role: dict[str, tuple[VisitKind, int]] = {}
    for job in problem.jobs:
        role[job.id] = ("job", job.pickup - job.delivery)
    for sh in problem.shipments:
        role[sh.pickup.id] = ("pickup", sh.amount)
        role[sh.drop.id] = ("drop", -sh.amount)

    routes: list[Route] = []
    for vid, seq in sequences.items():
        if not seq:
            continue
        veh = problem.vehicle(vid)
        load = sum(job_of[s].delivery for s in seq if s in job_of)
        t = float(veh.shift.start)
        loc = veh.start
        depart = t
        n_prefix = len(veh.fixed_prefix)
        if n_prefix == 0 and veh.available_at is not None:
            # Re-planning during the day: a courier with nothing done yet leaves no earlier
            # than "now" (the solver was given that; the re-timing must agree).
            t = depart = max(t, float(veh.available_at))
        if reset_start and n_prefix == 0 and seq[0] != BREAK:
            first = stops[seq[0]]
            travel = float(dur[loc, first.location])
            if first.window is not None:
                depart = max(t, first.window.start - travel)
        t = depart
        visits: list[Visit] = []
        distance = 0.0
        real_seen = 0
        credit = 0.0
        for i, sid in enumerate(seq):
            if real_seen == n_prefix and veh.available_at is not None and n_prefix > 0:
                t = max(t, float(veh.available_at))
            if sid == BREAK:
                if veh.brk is None:
                    raise PlanningError(f"{vid}: break planned but the courier has none")
                # As in VROOM, the courier may ride towards the next stop before the break
                # and finish the ride after it: start the break as late as the window and
                # the ride allow, and carry the ridden part over as credit.
                nxt = next((x for x in seq[i + 1 :] if x != BREAK), None)
                leg = float(dur[loc, stops[nxt].location if nxt else veh.end])
                w = veh.brk.window
                start = max(float(w.start), t)
                start = max(start, min(float(w.end), t + leg))
                credit = min(leg, start - t)
                dep = start + veh.brk.duration
                visits.append(Visit(BREAK, "break", loc, t, start, dep, load))
                t = dep
                continue
            stop = stops[sid]
            arrival = t + float(dur[loc, stop.location]) - credit
            credit = 0.0
            distance += float(dist[loc, stop.location])
            start = arrival if stop.window is None else max(arrival, float(stop.window.start))
            dep = start + problem.service_of(stop)
            kind, delta = role[sid]
            load += delta
            visits.append(Visit(sid, kind, stop.location, arrival, start, dep, load))
            loc, t = stop.location, dep
            real_seen += 1
        end = t + float(dur[loc, veh.end]) - credit
        distance += float(dist[loc, veh.end])
        routes.append(Route(vid, tuple(visits), depart, end, distance, end - depart))
    return Plan(tuple(routes), tuple(unassigned), engine)


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


_NO_ROOM = (
    "no room left in an eligible courier's route (time windows, shift or capacity taken "
    "by other stops) within the time limit"
)


def _cost(problem: Problem, p: Plan) -> float:
    return p.distance if problem.objective == "distance" else p.duration


class _Portfolio:
    """The candidate plans of one ``plan`` call, each re-timed and checked as it arrives."""

    def __init__(self, problem: Problem, red: Reduced, hopeless: list[Unassigned]) -> None:
        self.problem = problem
        self.red = red
        self.hopeless = hopeless
        self.lock = threading.Lock()
        self.best: Plan | None = None
        self.best_key: tuple[int, float] | None = None
        self.first: Plan | None = None
        self.trace: list[str] = []

    def offer(self, engine: str, seqs: Sequences, left: list[Task], label: str = "") -> None:
        label = label or engine
        full: dict[str, list[str]] = {}
        for v in self.red.vehicles:
            rest = seqs.get(v.index, [])
            if v.prefix or rest:
                full[v.vehicle.id] = v.prefix + rest
        unassigned = self.hopeless + [
            Unassigned(t.task_id, tuple(s.id for s in t.stops), _NO_ROOM) for t in left
        ]
        candidate = schedule_routes(self.problem, full, engine=engine, unassigned=unassigned)
        violations = check_plan(self.problem, candidate)
        key = (len(candidate.unassigned), _cost(self.problem, candidate))
        with self.lock:
            if self.first is None:
                self.first = candidate
            if violations:
                first = violations[0]
                self.trace.append(f"{label}: rejected, {first.kind}: {first.detail}")
                return
            self.trace.append(f"{label}: {key[0]} unassigned, cost {key[1]:.2f}")
            # Strictly better only: on a tie the earlier candidate (PyVRP's) stays.
            if self.best_key is None or key < self.best_key:
                self.best, self.best_key = candidate, key


def _run_guarded(portfolio: _Portfolio, name: str, work: Callable[[], None]) -> None:
    """Run one solver; a failing solver costs its candidate, never the whole plan."""
    try:
        work()
    except Exception as exc:  # noqa: BLE001 - any solver failure leaves the other's plan
        with portfolio.lock:
            portfolio.trace.append(f"{name}: failed, {type(exc).__name__}: {exc}")


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
    portfolio = _Portfolio(problem, red, hopeless)

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
        _run_portfolio(problem, red, portfolio, deadline, seed)

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
_vroom_pool: ProcessPoolExecutor | None = None
_vroom_pool_lock = threading.Lock()


def _import_vroom() -> None:
    import vroom  # noqa: F401 - imported once in the child, not per plan


def _start_child(planner_pid: int) -> None:
    """In the VROOM child: import vroom, and end when the planning process is gone.

    Measured: a planning process killed with SIGTERM left its child (and the forkserver,
    which ends with it) behind indefinitely.
    """
    _import_vroom()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(planner_pid, 0)
            except ProcessLookupError:
                os._exit(0)

    threading.Thread(target=watch, name="planner-watch", daemon=True).start()


def _vroom_worker() -> ProcessPoolExecutor:
    global _vroom_pool
    with _vroom_pool_lock:
        if _vroom_pool is None:
            ctx = multiprocessing.get_context("forkserver")
            _vroom_pool = ProcessPoolExecutor(
                1, mp_context=ctx, initializer=_start_child, initargs=(os.getpid(),)
            )
        return _vroom_pool


def start_workers() -> None:
    """Start the VROOM child now (about half a second), not on the first plan.

    Optional: a first ``plan`` without it still returns in time, with PyVRP's plans only
    (the trace says VROOM did not answer).
    """
    _vroom_worker().submit(_import_vroom).result()


def _drop_vroom_worker(pool: ProcessPoolExecutor) -> None:
    """A broken child (killed, out of memory) is replaced for the next plan."""
    global _vroom_pool
    with _vroom_pool_lock:
        if _vroom_pool is pool:
            _vroom_pool = None
    for proc in list(getattr(pool, "_processes", {}).values()):
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def _vroom_in_child(problem: Problem, red: Reduced, budget_s: float) -> tuple[Sequences, list[str]]:
    seqs, left = solve_vroom(problem, red, budget_s, vroom_level(red, budget_s), threads=1)
    return seqs, [t.task_id for t in left]


# Searches left running past a deadline (in PyVRP's uninterruptible start) are waited for
# at exit: a thread still inside PyVRP's C++ code when the interpreter ends aborts the
# process ("terminate called without an active exception").
_live_searches: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


@atexit.register
def _wait_for_searches() -> None:
    for search in list(_live_searches):
        search.join(timeout=30)


def _run_portfolio(
    problem: Problem, red: Reduced, portfolio: _Portfolio, deadline: float, seed: int
) -> None:
    budget = max(0.02, _VROOM_SHARE * (deadline - time.perf_counter()))
    pool = _vroom_worker()
    # The default service times are a read-only mapping, which does not pickle.
    sendable = replace(problem, service_by_kind=dict(problem.service_by_kind))
    t_submit = time.perf_counter()
    vroom_job = pool.submit(_vroom_in_child, sendable, red, budget)
    task_of = {t.task_id: t for t in red.tasks}
    try:
        model = PyvrpModel.build(problem, red)
    except Exception as exc:  # noqa: BLE001 - PyVRP refusing the data leaves VROOM's plan
        with portfolio.lock:
            portfolio.trace.append(f"pyvrp: failed, {type(exc).__name__}: {exc}")
        try:
            seqs, left_ids = vroom_job.result(
                max(_LATE_VROOM_WAIT_S, deadline - time.perf_counter())
            )
            portfolio.offer("vroom", seqs, [task_of[i] for i in left_ids])
        except FutureTimeout:
            seqs, left = solve_vroom(problem, red, 0.05, exploration=1)
            portfolio.offer("vroom", seqs, left, label="vroom, late, in process")
        return

    # The best solution of the PyVRP run from scratch so far, to seed the second run.
    scratch_best: list[Any] = []

    vroom_offered = threading.Event()

    def take_vroom(wait_s: float) -> tuple[Sequences, list[str]] | None:
        """VROOM's plan (and what it left out) offered to the portfolio, if it answers
        within ``wait_s``."""
        try:
            seqs, left_ids = vroom_job.result(max(0.0, wait_s))
        except FutureTimeout:
            # VROOM stops on its own timeout soon after (its construction phase is not
            # timed); the child is kept, a new one would cost more than the wait.
            return None
        except BrokenExecutor:
            _drop_vroom_worker(pool)
            raise
        if not vroom_offered.is_set():
            vroom_offered.set()
            portfolio.offer("vroom", seqs, [task_of[i] for i in left_ids])
        return seqs, left_ids

    def vroom_then_seeded_pyvrp() -> None:
        # Wait for VROOM a little past its own budget (its construction phase may run
        # over), then run a second PyVRP search (another seed) from the better of VROOM's
        # plan and the first search's best so far: VROOM's when it is ahead, otherwise a
        # second search around the current best, or from scratch if there is neither.
        answer = take_vroom(min(deadline, t_submit + 1.5 * budget + 0.05) - time.perf_counter())
        if time.perf_counter() >= deadline:
            return
        if answer is not None and answer[1] and not scratch_best:
            # VROOM left stops out and PyVRP (every stop required) has no plan yet: likely
            # an over-full day. Improve VROOM's plan with PyVRP, stops optional at a price
            # above any cost of serving them, starting from VROOM's plan (a feasible start,
            # so the result never serves fewer).
            optional = PyvrpModel.build(problem, red, optional=True)
            got = optional.solve(deadline, seed + 1, initial=answer[0])
            if got is not None:
                portfolio.offer("pyvrp", *got, label="pyvrp, optional stops, from vroom")
            return
        # From empty rather than PyVRP's own start: that start (an exhaustive local search)
        # cannot be interrupted and may outlast the budget on a large day.
        start: Any = model.empty()
        label = "pyvrp, second seed, from empty"
        if answer is not None:
            start, label = model.solution_from(answer[0]), "pyvrp from vroom"
        if scratch_best and model.cost(scratch_best[-1]) < model.cost(start):
            start, label = scratch_best[-1], "pyvrp from pyvrp"
        got = model.solve(deadline, seed + 1, initial=start)
        if got is not None:
            # Named "pyvrp" like the other PyVRP run: it is PyVRP's plan (the trace tells).
            portfolio.offer("pyvrp", *got, label=label)

    def keep_best(best: Any) -> None:
        scratch_best[:] = [best]

    def pyvrp_from_scratch() -> None:
        got = model.solve(deadline, seed, on_best=keep_best)
        if got is not None:
            portfolio.offer("pyvrp", *got)

    # Both searches run in threads (PyVRP releases the GIL in its search) and this thread
    # only waits, so a search still in PyVRP's uninterruptible start at the deadline is
    # left behind (it stops at its first check of the deadline) instead of holding the
    # answer: measured 3.5 s for that start on the 300-stop Bắc Ninh day under load.
    searches = [
        threading.Thread(
            target=_run_guarded,
            args=(portfolio, name, work),
            name=f"planner-{name}",
            daemon=True,
        )
        for name, work in (("pyvrp", pyvrp_from_scratch), ("vroom", vroom_then_seeded_pyvrp))
    ]
    for search in searches:
        _live_searches.add(search)
        search.start()
    for search in searches:
        search.join(max(0.0, deadline - time.perf_counter()) + _JOIN_GRACE_S)
        if search.is_alive():
            with portfolio.lock:
                portfolio.trace.append(f"{search.name} still running at the deadline: left")
    if not vroom_offered.is_set() and take_vroom(0.0) is None:
        with portfolio.lock:
            portfolio.trace.append("vroom: no answer by the deadline")
        if portfolio.best is None:
            # No clean plan at all (an over-full day, where PyVRP needing every stop finds
            # none): VROOM's, which leaves out what does not fit, is worth a wait past the
            # deadline (its child is already on it), and failing that one in this process.
            if take_vroom(max(_LATE_VROOM_WAIT_S, deadline - t_submit)) is None:
                seqs, left = solve_vroom(problem, red, 0.05, exploration=1)
                portfolio.offer("vroom", seqs, left, label="vroom, late, in process")
