"""One small adapter from ``routing.model.Problem`` to PyVRP or VROOM and back.

Which engine where (figures in bench/routing/RESULTS.md, measured on this 2-core box):

* PyVRP 0.14 (iterated local search, native paired shipments since 0.14.0) is used
  whenever it can model the problem, whatever the budget. Mean distance gap over 29
  Solomon C1/R1/RC1 instances: 1.00% at 2 s and 2.64% at 0.3 s, against VROOM's 1.55%
  and 4.88%; over 29 Li & Lim LC1/LR1/LRC1: 0.36% vs 0.78% at 2 s, 1.54% vs 1.49% at
  0.3 s. So the suggested "VROOM for short budgets" did not survive measurement.
* PyVRP 0.14 has no per-client vehicle restriction, so skills, locks and dossiers already
  on board are expressed with routing profiles (see ``_solve_pyvrp``).
* VROOM (pyvroom) takes the problems with driver breaks, which PyVRP cannot express. It
  models skills natively, and a lock is a skill only the locked courier holds. Its
  exploration level is lowered for short budgets so the timeout does not cut it off
  mid-search.

Both solvers work in integers: durations are ``ceil(value * precision)`` so a route the
solver thinks feasible is feasible in exact float time too, distances are rounded. The
returned plan is re-timed and measured in float from ``problem.matrix`` by
``schedule_routes``; the solver's own numbers are never reported.

Fixed prefixes are honoured the same way for both engines: the prefix is kept verbatim,
and only the remainder is planned, from the last prefix stop at the time the courier is
free. A shipment picked up in the prefix but not yet dropped becomes a drop-only job
locked to that courier (it is on board, which is what "delivery loaded at start" means to
both solvers).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from routing.model import (
    Plan,
    Problem,
    Route,
    Shipment,
    Stop,
    Unassigned,
    Vehicle,
    Visit,
    VisitKind,
)

Engine = Literal["auto", "pyvrp", "vroom"]
BREAK = "break"

# Part of the budget kept for building the model and reading the answer back, so the
# whole call stays within time_limit_s.
_OVERHEAD_RESERVE_S = 0.03
# Share of the budget kept back from PyVRP for the VROOM fallback on an over-full day.
# Small, because it is lost on every feasible day (all benchmark instances).
_FALLBACK_SHARE = 0.1


class PlanningError(ValueError):
    """The problem is malformed (unknown ids, prefix inconsistent, ...)."""


@dataclass(slots=True)
class _Task:
    task_id: str
    stops: tuple[Stop, ...]  # (stop,) for a job, (pickup, drop) for a shipment
    delivery: int = 0
    pickup: int = 0
    amount: int = 0
    allowed: frozenset[int] | None = None  # vehicle indices; None = any


@dataclass(slots=True)
class _Veh:
    index: int
    vehicle: Vehicle
    start_loc: int
    ready: float
    capacity: int
    prefix: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Reduced:
    vehicles: list[_Veh]
    tasks: list[_Task]
    done: set[str]


def _allowed(problem: Problem, skills: frozenset[str], locked: str | None) -> frozenset[int] | None:
    if not skills and locked is None:
        return None
    return frozenset(
        i
        for i, v in enumerate(problem.vehicles)
        if skills <= v.skills and (locked is None or locked == v.id)
    )


def _reduce(problem: Problem) -> _Reduced:
    """Split off fixed prefixes; what is left is what the solver plans."""
    stops = problem.stops()
    job_of = {j.id: j for j in problem.jobs}
    ship_of: dict[str, Shipment] = {}
    for sh in problem.shipments:
        ship_of[sh.pickup.id] = sh
        ship_of[sh.drop.id] = sh
    if len(stops) != len(problem.jobs) + 2 * len(problem.shipments):
        raise PlanningError("stop ids must be unique across jobs and shipments")

    vehs: list[_Veh] = []
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
        vehs.append(_Veh(i, v, loc, ready, cap, seq))

    tasks: list[_Task] = []
    for job in problem.jobs:
        if job.id not in done:
            tasks.append(
                _Task(
                    job.id,
                    (job.stop,),
                    delivery=job.delivery,
                    pickup=job.pickup,
                    allowed=_allowed(problem, job.skills, job.locked_to),
                )
            )
    for sh in problem.shipments:
        if sh.id in half_done:
            tasks.append(
                _Task(sh.id, (sh.drop,), delivery=sh.amount, allowed=frozenset({half_done[sh.id]}))
            )
        elif sh.pickup.id not in done:
            tasks.append(
                _Task(
                    sh.id,
                    (sh.pickup, sh.drop),
                    amount=sh.amount,
                    allowed=_allowed(problem, sh.skills, sh.locked_to),
                )
            )
    return _Reduced(vehs, tasks, done)


def _int_matrices(
    problem: Problem,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    p = problem.precision
    dist = np.rint(problem.matrix.distance * p).astype(np.int64)
    # ceil keeps every solver-feasible route feasible in float; the tiny epsilon stops an
    # exact integer (e.g. 10.0 * 1000) from being pushed up by representation error.
    dur = np.ceil(problem.matrix.duration * p - 1e-9).astype(np.int64)
    return dist, dur


def _tw(problem: Problem, stop: Stop, veh_lo: int, veh_hi: int) -> tuple[int, int]:
    if stop.window is None:
        return veh_lo, veh_hi
    return stop.window.start * problem.precision, stop.window.end * problem.precision


# --------------------------------------------------------------------------- PyVRP


class _Deadline:
    """PyVRP stopping criterion on an absolute wall-clock deadline."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __call__(self, best_cost: int) -> bool:
        return time.perf_counter() >= self.deadline


def _solve_pyvrp(
    problem: Problem, red: _Reduced, budget_s: float, seed: int
) -> tuple[dict[int, list[str]], list[_Task]] | None:
    """Routes per vehicle index and tasks left out; None if no feasible plan was found."""
    import pyvrp

    p = problem.precision
    dist, dur = _int_matrices(problem)
    n_loc = len(problem.locations)
    horizon_lo = min(int(v.ready * p) for v in red.vehicles)
    horizon_hi = max(v.vehicle.shift.end for v in red.vehicles) * p

    # PyVRP keeps depots first in its location list; duplicate the depot locations there
    # and keep the problem's own locations after them.
    depot_locs = sorted({v.start_loc for v in red.vehicles} | {v.vehicle.end for v in red.vehicles})
    depot_idx = {loc: k for k, loc in enumerate(depot_locs)}
    off = len(depot_locs)
    # PyVRP 0.14 cannot restrict a client to some vehicles. Instead each restricted stop
    # (skills, lock, or a dossier already on board) gets a private copy of its location,
    # and each group of couriers that may not serve it gets a routing profile in which
    # that copy is out of reach (travel time beyond the horizon, distance above any real route).
    private: dict[str, int] = {}
    extra: list[int] = []
    for t in red.tasks:
        if t.allowed is not None:
            for st in t.stops:
                private[st.id] = off + n_loc + len(extra)
                extra.append(st.location)
    loc_ids = depot_locs + list(range(n_loc)) + extra
    sel = np.asarray(loc_ids)
    dist_m = dist[np.ix_(sel, sel)]
    dur_m = dur[np.ix_(sel, sel)]
    # Distance that makes a forbidden leg cost more than any real route (profiles below).
    unreachable = 10 * (horizon_hi - horizon_lo + 4 * int(max(dist_m.max(), dur_m.max())) + 1)
    forbidden_of: dict[int, frozenset[int]] = {}
    for v in red.vehicles:
        forbidden_of[v.index] = frozenset(
            private[st.id]
            for t in red.tasks
            if t.allowed is not None and v.index not in t.allowed
            for st in t.stops
        )
    profile_of: dict[frozenset[int], int] = {}
    dist_ms: list[Any] = []
    dur_ms: list[Any] = []
    for forbidden in dict.fromkeys(forbidden_of.values()):
        profile_of[forbidden] = len(dist_ms)
        pd, pt = dist_m, dur_m
        if forbidden:
            idx = np.fromiter(forbidden, dtype=np.int64)
            pd, pt = dist_m.copy(), dur_m.copy()
            pd[idx, :] = pd[:, idx] = unreachable
            pt[idx, :] = pt[:, idx] = 2 * (horizon_hi + 1)
            pd[idx, idx] = 0
            pt[idx, idx] = 0
        dist_ms.append(pd)
        dur_ms.append(pt)

    def where(st: Stop) -> int:
        return private.get(st.id, off + st.location)

    locations = [pyvrp.Location(x=0, y=0) for _ in loc_ids]
    depots = [pyvrp.Depot(location=k) for k in range(off)]
    clients: list[Any] = []
    shipments: list[Any] = []
    client_task: list[_Task] = []
    ship_task: list[_Task] = []
    for t in red.tasks:
        if len(t.stops) == 1:
            s = t.stops[0]
            lo, hi = _tw(problem, s, horizon_lo, horizon_hi)
            clients.append(
                pyvrp.Client(
                    location=where(s),
                    delivery=[t.delivery],
                    pickup=[t.pickup],
                    service_duration=problem.service_of(s) * p,
                    tw_early=lo,
                    tw_late=hi,
                    name=t.task_id,
                )
            )
            client_task.append(t)
        else:
            a, b = t.stops
            alo, ahi = _tw(problem, a, horizon_lo, horizon_hi)
            blo, bhi = _tw(problem, b, horizon_lo, horizon_hi)
            shipments.append(
                pyvrp.Shipment(
                    pickup_location=where(a),
                    delivery_location=where(b),
                    pickup_tw_early=alo,
                    pickup_tw_late=ahi,
                    pickup_service_duration=problem.service_of(a) * p,
                    delivery_tw_early=blo,
                    delivery_tw_late=bhi,
                    delivery_service_duration=problem.service_of(b) * p,
                    amount=[t.amount],
                    name=t.task_id,
                )
            )
            ship_task.append(t)

    # Identical couriers share a vehicle type: PyVRP's search treats vehicles of one type
    # as interchangeable, which is much cheaper than one type per courier.
    groups: dict[tuple[int, int, int, int, int, int], list[_Veh]] = {}
    for v in red.vehicles:
        prof = profile_of[forbidden_of[v.index]]
        key = (v.start_loc, v.vehicle.end, int(v.ready * p), v.vehicle.shift.end, v.capacity, prof)
        groups.setdefault(key, []).append(v)
    duration_cost = 1 if problem.objective == "duration" else 0
    distance_cost = 1 - duration_cost
    vtypes = []
    type_members: list[list[_Veh]] = []
    for (start, end, ready, shift_end, cap, prof), members in groups.items():
        vtypes.append(
            pyvrp.VehicleType(
                num_available=len(members),
                capacity=[cap],
                start_depot=depot_idx[start],
                end_depot=depot_idx[end],
                tw_early=ready,
                tw_late=shift_end * p,
                unit_distance_cost=distance_cost,
                unit_duration_cost=duration_cost,
                profile=prof,
            )
        )
        type_members.append(members)

    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=depots,
        vehicle_types=vtypes,
        distance_matrices=dist_ms,
        duration_matrices=dur_ms,
        shipments=shipments,
    )
    # MaxRuntime starts counting only when the search loop starts, after PyVRP has built
    # neighbourhoods and an initial solution (a noticeable part of a short budget on a
    # few hundred stops), so stop on our own wall-clock deadline instead.
    # Every stop is required. Making them optional with a large prize would let PyVRP
    # leave out what cannot fit, but measured on a 3-stop case PyVRP 0.14 then failed to
    # re-insert an optional stop that needs waiting (cost 100560 instead of 3600), so an
    # over-full day is instead detected as infeasible and handed to VROOM, which leaves
    # stops out natively.
    with warnings.catch_warnings():
        # PenaltyBoundWarning says the penalty hit its bound: expected on tight days,
        # and the result's feasibility is checked below anyway.
        warnings.simplefilter("ignore")
        result = pyvrp.solve(
            data, stop=_Deadline(time.perf_counter() + budget_s), seed=seed, collect_stats=False
        )
    best = result.best
    seqs: dict[int, list[str]] = {}
    used_tasks: set[str] = set()
    if not best.is_feasible():
        return None
    next_slot = [0] * len(type_members)
    for route in best.routes():
        vt = route.vehicle_type()
        veh = type_members[vt][next_slot[vt]]
        next_slot[vt] += 1
        seq: list[str] = []
        for act in route:
            if act.is_client():
                t = client_task[act.idx]
                seq.append(t.stops[0].id)
                used_tasks.add(t.task_id)
            elif act.is_pickup():
                t = ship_task[act.idx]
                seq.append(t.stops[0].id)
                used_tasks.add(t.task_id)
            elif act.is_delivery():
                t = ship_task[act.idx]
                seq.append(t.stops[1].id)
        seqs[veh.index] = seq
    left = [t for t in red.tasks if t.task_id not in used_tasks]
    return seqs, left


# --------------------------------------------------------------------------- VROOM


def _vroom_level(red: _Reduced, budget_s: float) -> int:
    # VROOM's exploration level sets how many construction variants it tries before local
    # search; a timeout that lands mid-way returns a poor plan, so choose a level that
    # finishes. Thresholds: stops per second of budget, see RESULTS.md.
    stops = sum(len(t.stops) for t in red.tasks)
    per_s = stops / max(budget_s, 1e-3)
    if per_s <= 50:
        return 5
    if per_s <= 150:
        return 4
    if per_s <= 400:
        return 2
    return 1


def _solve_vroom(
    problem: Problem, red: _Reduced, budget_s: float, exploration: int
) -> tuple[dict[int, list[str]], list[_Task]]:
    import vroom

    p = problem.precision
    dist, dur = _int_matrices(problem)
    inp = vroom.Input()
    inp.set_durations_matrix("car", dur.astype(np.uint32))
    inp.set_distances_matrix("car", dist.astype(np.uint32))
    if problem.objective == "distance":
        inp.set_costs_matrix("car", dist.astype(np.uint32))

    skill_ids: dict[str, int] = {}

    def sk(name: str) -> int:
        return skill_ids.setdefault(name, len(skill_ids) + 1)

    # A lock is a skill only the locked courier has: VROOM's native way to pin a job.
    lock_skill = {i: sk(f"\x00vehicle:{i}") for i in range(len(problem.vehicles))}
    for v in red.vehicles:
        veh = v.vehicle
        skills = {sk(s) for s in veh.skills} | {lock_skill[v.index]}
        breaks = []
        if veh.brk is not None:
            breaks.append(
                vroom.Break(
                    id=v.index,
                    time_windows=[
                        vroom.TimeWindow(veh.brk.window.start * p, veh.brk.window.end * p)
                    ],
                    service=veh.brk.duration * p,
                )
            )
        inp.add_vehicle(
            vroom.Vehicle(
                id=v.index,
                start=v.start_loc,
                end=veh.end,
                capacity=vroom.Amount([v.capacity]),
                skills=skills,
                time_window=vroom.TimeWindow(math.ceil(v.ready * p), veh.shift.end * p),
                breaks=breaks,
            )
        )

    def tws(stop: Stop) -> list[Any]:
        if stop.window is None:
            return []
        return [vroom.TimeWindow(stop.window.start * p, stop.window.end * p)]

    id_to_stop: dict[int, tuple[_Task, int]] = {}
    next_id = 1
    impossible: list[_Task] = []
    for t in red.tasks:
        req: set[int] = set()
        if t.allowed is not None:
            if not t.allowed:
                impossible.append(t)
                continue
            if len(t.allowed) == 1:
                req = {lock_skill[next(iter(t.allowed))]}
            else:
                # Skill sets are checked by the solver itself; translate names to ints.
                task_skills = _task_skills(problem, t)
                req = {sk(s) for s in task_skills}
        if len(t.stops) == 1:
            s = t.stops[0]
            inp.add_job(
                vroom.Job(
                    id=next_id,
                    location=s.location,
                    default_service=problem.service_of(s) * p,
                    delivery=vroom.Amount([t.delivery]),
                    pickup=vroom.Amount([t.pickup]),
                    skills=req,
                    time_windows=tws(s),
                )
            )
            id_to_stop[next_id] = (t, 0)
            next_id += 1
        else:
            a, b = t.stops
            inp.add_shipment(
                vroom.ShipmentStep(
                    next_id,
                    location=a.location,
                    default_service=problem.service_of(a) * p,
                    time_windows=tws(a),
                ),
                vroom.ShipmentStep(
                    next_id + 1,
                    location=b.location,
                    default_service=problem.service_of(b) * p,
                    time_windows=tws(b),
                ),
                amount=vroom.Amount([t.amount]),
                skills=req,
            )
            id_to_stop[next_id] = (t, 0)
            id_to_stop[next_id + 1] = (t, 1)
            next_id += 2

    seqs: dict[int, list[str]] = {}
    used: set[str] = set()
    if id_to_stop:
        sol = inp.solve(
            exploration_level=exploration,
            nb_threads=2,
            timeout=timedelta(seconds=max(budget_s, 0.01)),
        )
        for r in sol.to_dict()["routes"]:
            seq: list[str] = []
            for step in r["steps"]:
                kind = step["type"]
                if kind == "break":
                    seq.append(BREAK)
                elif kind in ("job", "pickup", "delivery"):
                    t, k = id_to_stop[int(step["id"])]
                    seq.append(t.stops[k].id)
                    used.add(t.task_id)
            seqs[int(r["vehicle"])] = seq
    left = [t for t in red.tasks if t.task_id not in used]
    return seqs, left + [t for t in impossible if t not in left]


def _task_skills(problem: Problem, t: _Task) -> frozenset[str]:
    for job in problem.jobs:
        if job.id == t.task_id:
            return job.skills
    for sh in problem.shipments:
        if sh.id == t.task_id:
            return sh.skills
    return frozenset()


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


def _alone_reason(problem: Problem, red: _Reduced, t: _Task) -> str | None:
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


def plan(problem: Problem, *, time_limit_s: float, engine: str = "auto", seed: int = 0) -> Plan:
    """Plan the day (or re-plan the rest of it) within ``time_limit_s`` seconds of wall time."""
    t0 = time.perf_counter()
    if engine not in ("auto", "pyvrp", "vroom"):
        raise PlanningError(f"unknown engine {engine!r}")
    red = _reduce(problem)
    has_breaks = any(v.brk is not None for v in problem.vehicles)
    chosen = engine
    if engine == "auto":
        chosen = "vroom" if has_breaks else "pyvrp"
    elif engine == "pyvrp" and has_breaks:
        raise PlanningError("PyVRP has no driver breaks; use engine='vroom' or 'auto'")

    # Stops no courier could serve even alone are reported at once and kept away from the
    # solvers: PyVRP would otherwise see an infeasible day (or reject a window pair
    # outright) and fall back to VROOM for everyone.
    hopeless: list[Unassigned] = []
    kept: list[_Task] = []
    for t in red.tasks:
        why = _alone_reason(problem, red, t)
        if why is None:
            kept.append(t)
        else:
            hopeless.append(Unassigned(t.task_id, tuple(s.id for s in t.stops), why))
    red.tasks = kept

    budget = time_limit_s - (time.perf_counter() - t0) - _OVERHEAD_RESERVE_S
    if not red.tasks:
        seqs: dict[int, list[str]] = {}
        left: list[_Task] = []
    elif chosen == "pyvrp" and (
        got := _solve_pyvrp(problem, red, budget * (1 - _FALLBACK_SHARE), seed)
    ):
        seqs, left = got
    else:
        if chosen == "pyvrp":
            # An over-full day (or a budget too short for PyVRP to reach feasibility):
            # VROOM plans what fits and reports the rest.
            chosen = "pyvrp->vroom"
            budget = max(0.05, time_limit_s - (time.perf_counter() - t0) - _OVERHEAD_RESERVE_S)
        seqs, left = _solve_vroom(problem, red, budget, exploration=_vroom_level(red, budget))

    full: dict[str, list[str]] = {}
    for v in red.vehicles:
        rest = seqs.get(v.index, [])
        if v.prefix or rest:
            full[v.vehicle.id] = v.prefix + rest
    unassigned = hopeless + [
        Unassigned(t.task_id, tuple(s.id for s in t.stops), _NO_ROOM) for t in left
    ]
    result = schedule_routes(problem, full, engine=chosen, unassigned=unassigned)
    return Plan(result.routes, result.unassigned, chosen, time.perf_counter() - t0)
