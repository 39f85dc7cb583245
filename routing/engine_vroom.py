"""VROOM (pyvroom) adapter: a reduced day in, stop orders per vehicle index out.

VROOM models skills natively, and a lock is a skill only the locked courier holds. It
models driver breaks, but pyvroom 1.15.2 will not make a courier wait for the break window
after their last stop (so a morning-only stop may be left out); PyVRP, run beside it by
``routing.planner``, covers that case. Its exploration level is lowered for short budgets
so the timeout does not cut it off mid-search.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import numpy as np
import vroom

from routing.model import Problem, Stop
from routing.tasks import BREAK, Reduced, Sequences, Task, int_matrices


def vroom_level(red: Reduced, budget_s: float) -> int:
    return level_for(sum(len(t.stops) for t in red.tasks), budget_s)


def level_for(stops: int, budget_s: float) -> int:
    """VROOM exploration level that finishes within ``budget_s`` for ``stops`` stops.

    The level sets how many construction variants VROOM tries before local search; a
    timeout that lands mid-way returns a poor plan, so choose a level that finishes.
    Thresholds: stops per second of budget, see bench/routing/RESULTS.md.
    """
    per_s = stops / max(budget_s, 1e-3)
    if per_s <= 50:
        return 5
    if per_s <= 150:
        return 4
    if per_s <= 400:
        return 2
    return 1


def solve_vroom(
    problem: Problem, red: Reduced, budget_s: float, exploration: int, threads: int = 2
) -> tuple[Sequences, list[Task]]:
    p = problem.precision
    dist, dur = int_matrices(problem)
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

    id_to_stop: dict[int, tuple[Task, int]] = {}
    next_id = 1
    impossible: list[Task] = []
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
                task_skills = t.skills
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
            nb_threads=threads,
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
