"""Independent feasibility check of a plan against its problem.

It never calls a solver and shares no scheduling code with the planner: it re-walks each
route in float from the travel matrix and the reported times, so a rounding or adapter
bug in the planner shows up here instead of on a courier's phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from routing.model import Job, Plan, Problem, Shipment, Stop

ViolationKind = Literal[
    "unknown_vehicle",
    "duplicate_route",
    "unknown_stop",
    "duplicate_stop",
    "time_window",
    "travel_time",
    "service_time",
    "shift",
    "break",
    "capacity",
    "load_report",
    "pairing",
    "precedence",
    "skills",
    "lock",
    "prefix",
    "missing",
    "no_reason",
    "distance",
]


@dataclass(frozen=True, slots=True)
class Violation:
    kind: ViolationKind
    detail: str


def _tol(problem: Problem) -> float:
    # Solver integers are ceil(value * precision); anything below one solver unit is noise.
    return 1e-6 + 0.5 / problem.precision


def check_plan(problem: Problem, plan: Plan) -> list[Violation]:
    """All violations found in ``plan``; an empty list means the plan is feasible."""
    out: list[Violation] = []
    tol = _tol(problem)
    dur = problem.matrix.duration
    dist = problem.matrix.distance

    task_of: dict[str, Job | Shipment] = {}
    role_of: dict[str, Literal["job", "pickup", "drop"]] = {}
    for job in problem.jobs:
        task_of[job.id] = job
        role_of[job.id] = "job"
    for sh in problem.shipments:
        task_of[sh.pickup.id] = sh
        task_of[sh.drop.id] = sh
        role_of[sh.pickup.id] = "pickup"
        role_of[sh.drop.id] = "drop"
    stops: dict[str, Stop] = problem.stops()
    vehicles = {v.id: v for v in problem.vehicles}

    seen: dict[str, tuple[str, int]] = {}
    routed_vehicles: set[str] = set()
    for route in plan.routes:
        veh = vehicles.get(route.vehicle_id)
        if veh is None:
            out.append(Violation("unknown_vehicle", route.vehicle_id))
            continue
        if veh.id in routed_vehicles:
            out.append(Violation("duplicate_route", veh.id))
        routed_vehicles.add(veh.id)

        if route.start_time < veh.shift.start - tol:
            out.append(Violation("shift", f"{veh.id} leaves at {route.start_time} before shift"))

        # Deliveries of single jobs are on board from the start.
        load = sum(
            task.delivery for v in route.visits if isinstance(task := task_of.get(v.stop_id), Job)
        )
        if load > veh.capacity:
            out.append(Violation("capacity", f"{veh.id} starts with {load} > {veh.capacity}"))

        prev_loc = veh.start
        prev_dep = route.start_time
        distance = 0.0
        breaks = 0
        real_ids: list[str] = []
        # A break may be taken part-way along the next leg (VROOM's model): time between
        # leaving the last stop and starting the break counts as riding.
        credit = 0.0
        for pos, visit in enumerate(route.visits):
            travel = max(0.0, float(dur[prev_loc, visit.location]) - credit)
            if visit.kind != "break":
                credit = 0.0
            distance += float(dist[prev_loc, visit.location])
            if visit.arrival < prev_dep + travel - tol:
                out.append(
                    Violation(
                        "travel_time",
                        f"{veh.id}: {visit.stop_id} reached at {visit.arrival:.3f}, "
                        f"earliest {prev_dep + travel:.3f}",
                    )
                )
            if visit.start < visit.arrival - tol:
                out.append(Violation("travel_time", f"{visit.stop_id} starts before arrival"))

            if visit.kind == "break":
                breaks += 1
                if veh.brk is None:
                    out.append(Violation("break", f"{veh.id} has no break but one is planned"))
                else:
                    w = veh.brk.window
                    if not (w.start - tol <= visit.start <= w.end + tol):
                        out.append(
                            Violation("break", f"{veh.id} break at {visit.start} outside window")
                        )
                    if visit.departure < visit.start + veh.brk.duration - tol:
                        out.append(Violation("break", f"{veh.id} break too short"))
                if visit.location != prev_loc:
                    out.append(Violation("break", f"{veh.id} break away from the last stop"))
                credit += max(0.0, visit.start - prev_dep)
                prev_loc, prev_dep = visit.location, visit.departure
                continue

            stop = stops.get(visit.stop_id)
            task = task_of.get(visit.stop_id)
            if stop is None or task is None:
                out.append(Violation("unknown_stop", f"{veh.id}: {visit.stop_id}"))
                prev_loc, prev_dep = visit.location, visit.departure
                continue
            if visit.stop_id in seen:
                out.append(Violation("duplicate_stop", visit.stop_id))
            seen[visit.stop_id] = (veh.id, pos)
            real_ids.append(visit.stop_id)
            if visit.location != stop.location:
                out.append(Violation("unknown_stop", f"{visit.stop_id} at wrong location"))

            if stop.window is not None:
                if visit.start > stop.window.end + tol:
                    out.append(
                        Violation(
                            "time_window",
                            f"{visit.stop_id} starts {visit.start:.3f} > {stop.window.end}",
                        )
                    )
                if visit.start < stop.window.start - tol:
                    out.append(Violation("time_window", f"{visit.stop_id} starts before window"))
            if visit.departure < visit.start + problem.service_of(stop) - tol:
                out.append(Violation("service_time", f"{visit.stop_id} service cut short"))

            if not task.skills <= veh.skills:
                missing = ", ".join(sorted(task.skills - veh.skills))
                out.append(Violation("skills", f"{visit.stop_id} needs {missing}"))
            if task.locked_to is not None and task.locked_to != veh.id:
                out.append(Violation("lock", f"{visit.stop_id} locked to {task.locked_to}"))

            role = role_of[visit.stop_id]
            if isinstance(task, Job):
                load += task.pickup - task.delivery
            elif role == "pickup":
                load += task.amount
            else:
                load -= task.amount
            if load > veh.capacity or load < 0:
                out.append(Violation("capacity", f"{veh.id} load {load} after {visit.stop_id}"))
            if visit.load_after != load:
                out.append(Violation("load_report", f"{visit.stop_id} reports {visit.load_after}"))
            prev_loc, prev_dep = visit.location, visit.departure

        back = prev_dep + max(0.0, float(dur[prev_loc, veh.end]) - credit)
        distance += float(dist[prev_loc, veh.end])
        if back > veh.shift.end + tol:
            out.append(Violation("shift", f"{veh.id} back at {back:.3f} > {veh.shift.end}"))
        if route.end_time < back - tol:
            out.append(Violation("travel_time", f"{veh.id} end time earlier than possible"))
        if veh.brk is not None and breaks != 1 and real_ids:
            out.append(Violation("break", f"{veh.id} has {breaks} breaks, needs 1"))
        if breaks > 1:
            out.append(Violation("break", f"{veh.id} has {breaks} breaks"))
        if abs(distance - route.distance) > 1e-6 * max(1.0, distance) + len(route.visits) * tol:
            out.append(
                Violation("distance", f"{veh.id} reports {route.distance}, walked {distance}")
            )
        prefix = list(veh.fixed_prefix)
        if veh.available_at is not None:
            # After the fixed prefix nothing may start before the courier is available.
            for visit in [v for v in route.visits if v.kind != "break"][len(prefix) :]:
                if visit.start < veh.available_at - tol:
                    out.append(
                        Violation("shift", f"{visit.stop_id} planned before {veh.available_at}")
                    )
        if real_ids[: len(prefix)] != prefix:
            out.append(Violation("prefix", f"{veh.id} does not start with its fixed prefix"))

    for veh in problem.vehicles:
        if veh.fixed_prefix and veh.id not in routed_vehicles:
            out.append(Violation("prefix", f"{veh.id} has a fixed prefix but no route"))

    for sh in problem.shipments:
        p, d = seen.get(sh.pickup.id), seen.get(sh.drop.id)
        if p is not None and d is not None:
            if p[0] != d[0]:
                out.append(Violation("pairing", f"{sh.id} picked by {p[0]}, dropped by {d[0]}"))
            elif p[1] > d[1]:
                out.append(Violation("precedence", f"{sh.id} dropped before pickup"))
        elif (p is None) != (d is None):
            out.append(Violation("pairing", f"{sh.id} has only one end routed"))

    unassigned_ids: set[str] = set()
    for u in plan.unassigned:
        if not u.reason.strip():
            out.append(Violation("no_reason", u.task_id))
        for sid in u.stop_ids:
            unassigned_ids.add(sid)
            if sid in seen:
                out.append(Violation("duplicate_stop", f"{sid} both routed and unassigned"))
    for sid in stops:
        if sid not in seen and sid not in unassigned_ids:
            out.append(Violation("missing", f"{sid} neither routed nor unassigned"))
    return out
