"""ETAs for given stop orders: the one place a plan's times are computed.

Used by the planner for every solver's answer, by the dispatch service for a dispatcher's
hand-edited routes and saved plans, and checked independently by
``routing.feasibility.check_plan``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from routing.model import Plan, Problem, Route, Unassigned, Visit, VisitKind
from routing.tasks import BREAK


class PlanningError(ValueError):
    """The problem is malformed (unknown ids, prefix inconsistent, ...)."""


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
