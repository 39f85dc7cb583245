"""Which pickup windows the booking page may still offer for one new booking.

The check runs while a citizen waits, so it first tries cheapest insertion of the new
pickup and its drop into the current plan (every courier, every pair of positions, with
forward/backward time slack so each try is O(1) amortised). Only for windows where that
finds nothing, and only if a solver budget is given, is a short re-plan tried: insertion
is conservative (it never reorders existing stops), so the solver can rescue a window it
misses, at the price of possibly reshuffling other routes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from routing.model import Plan, Problem, Route, Shipment, TimeWindow, Vehicle

_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class _Node:
    loc: int  # for a break: the location it is taken at (the previous stop's)
    ws: float
    we: float
    service: float
    load_after: int
    is_break: bool


def _nodes(
    problem: Problem, veh: Vehicle, route: Route | None, deltas: dict[str, int]
) -> list[_Node]:
    stops = problem.stops()
    inf = float(veh.shift.end)
    first_load = 0
    visits = route.visits if route is not None else ()
    if visits:
        first = visits[0]
        # load before the first visit = its reported load minus what it changed
        first_load = first.load_after - deltas.get(first.stop_id, 0)
    out = [_Node(veh.start, float(veh.shift.start), inf, 0.0, first_load, False)]
    loc = veh.start
    for v in visits:
        if v.kind == "break":
            assert veh.brk is not None
            w = veh.brk.window
            out.append(
                _Node(loc, float(w.start), float(w.end), veh.brk.duration, v.load_after, True)
            )
            continue
        s = stops[v.stop_id]
        ws, we = (
            (float(s.window.start), float(s.window.end))
            if s.window
            else (-inf, float(veh.shift.end))
        )
        out.append(_Node(s.location, ws, we, float(problem.service_of(s)), v.load_after, False))
        loc = s.location
    out.append(_Node(veh.end, -inf, float(veh.shift.end), 0.0, 0, False))
    return out


@dataclass(frozen=True, slots=True)
class _Slack:
    veh: Vehicle
    nodes: list[_Node]
    dep: list[float]  # earliest departure from each node
    late: list[float]  # latest start at each node that keeps the rest feasible


def _prepare(problem: Problem, plan: Plan) -> list[_Slack]:
    dur = problem.matrix.duration
    deltas: dict[str, int] = {j.id: j.pickup - j.delivery for j in problem.jobs}
    for sh in problem.shipments:
        deltas[sh.pickup.id] = sh.amount
        deltas[sh.drop.id] = -sh.amount
    out = []
    for veh in problem.vehicles:
        nodes = _nodes(problem, veh, plan.route_of(veh.id), deltas)
        m = len(nodes)
        n_prefix = len(veh.fixed_prefix)
        dep = [0.0] * m
        dep[0] = float(veh.shift.start)
        if not n_prefix and veh.available_at is not None:
            dep[0] = max(dep[0], float(veh.available_at))
        for k in range(1, m):
            ready = dep[k - 1]
            if k == n_prefix + 1 and n_prefix and veh.available_at is not None:
                # the courier continues after the fixed prefix no earlier than "now"
                ready = max(ready, float(veh.available_at))
            arr = ready + float(dur[nodes[k - 1].loc, nodes[k].loc])
            dep[k] = max(arr, nodes[k].ws) + nodes[k].service
        if n_prefix and veh.available_at is not None:
            dep[n_prefix] = max(dep[n_prefix], float(veh.available_at))
        late = [0.0] * m
        late[m - 1] = nodes[m - 1].we
        for k in range(m - 2, -1, -1):
            late[k] = min(
                nodes[k].we,
                late[k + 1] - float(dur[nodes[k].loc, nodes[k + 1].loc]) - nodes[k].service,
            )
        out.append(_Slack(veh, nodes, dep, late))
    return out


def insertion_cost(
    problem: Problem, plan: Plan, shipment: Shipment, *, _slack: list[_Slack] | None = None
) -> tuple[float, str] | None:
    """Cheapest extra travel time to insert ``shipment`` into ``plan``, and the courier.

    ``None`` if no courier can take it without reordering the others' stops.
    """
    dur = problem.matrix.duration
    p, d = shipment.pickup, shipment.drop
    sp, sd = float(problem.service_of(p)), float(problem.service_of(d))
    pws, pwe = (p.window.start, p.window.end) if p.window else (-1e18, 1e18)
    dws, dwe = (d.window.start, d.window.end) if d.window else (-1e18, 1e18)
    best: tuple[float, str] | None = None
    for sl in _slack if _slack is not None else _prepare(problem, plan):
        veh, nodes, dep, late = sl.veh, sl.nodes, sl.dep, sl.late
        if not shipment.skills <= veh.skills:
            continue
        if shipment.locked_to is not None and shipment.locked_to != veh.id:
            continue
        if shipment.amount > veh.capacity:
            continue
        m = len(nodes)
        for a in range(len(veh.fixed_prefix), m - 1):
            if nodes[a + 1].is_break:
                # Inserting right before a break would move where the break is taken.
                continue
            na = nodes[a]
            arr_p = dep[a] + float(dur[na.loc, p.location])
            start_p = max(arr_p, pws)
            if start_p > pwe + _EPS or na.load_after + shipment.amount > veh.capacity:
                continue
            dep_p = start_p + sp
            base = float(dur[na.loc, nodes[a + 1].loc])
            # drop right after the pickup
            arr_d = dep_p + float(dur[p.location, d.location])
            start_d = max(arr_d, dws)
            if start_d <= dwe + _EPS:
                dep_d = start_d + sd
                nxt = nodes[a + 1]
                if dep_d + float(dur[d.location, nxt.loc]) <= late[a + 1] + _EPS:
                    cost = (
                        float(dur[na.loc, p.location])
                        + float(dur[p.location, d.location])
                        + float(dur[d.location, nxt.loc])
                        - base
                    )
                    if best is None or cost < best[0]:
                        best = (cost, veh.id)
            # drop later: walk the route with the pickup inserted
            t = dep_p
            prev = p.location
            cost_p = (
                float(dur[na.loc, p.location]) + float(dur[p.location, nodes[a + 1].loc]) - base
            )
            for k in range(a + 1, m - 1):
                nk = nodes[k]
                arr = t + float(dur[prev, nk.loc])
                if arr > late[k] + _EPS or nk.load_after + shipment.amount > veh.capacity:
                    break
                t = max(arr, nk.ws) + nk.service
                prev = nk.loc
                if nodes[k + 1].is_break:
                    continue
                nxt = nodes[k + 1]
                arr_d = t + float(dur[prev, d.location])
                start_d = max(arr_d, dws)
                if start_d > dwe + _EPS:
                    continue
                dep_d = start_d + sd
                if dep_d + float(dur[d.location, nxt.loc]) <= late[k + 1] + _EPS:
                    cost = (
                        cost_p
                        + float(dur[prev, d.location])
                        + float(dur[d.location, nxt.loc])
                        - float(dur[prev, nxt.loc])
                    )
                    if best is None or cost < best[0]:
                        best = (cost, veh.id)
    return best


def offerable_windows(
    problem: Problem,
    plan: Plan,
    booking: Shipment,
    candidates: Sequence[TimeWindow],
    *,
    solver_budget_s: float = 0.0,
) -> list[TimeWindow]:
    """Candidate pickup windows in which ``booking`` still fits into ``plan``.

    ``problem`` must already contain the booking's locations (see
    ``routing.travel.with_locations``) but not the booking itself. With
    ``solver_budget_s`` > 0, windows that insertion rejects get one short re-plan each,
    sharing that budget; a window is offered only if the re-plan keeps every stop that is
    planned today and adds the booking.
    """
    ok: list[TimeWindow] = []
    rejected: list[TimeWindow] = []
    slack = _prepare(problem, plan)
    for w in candidates:
        sh = replace(booking, pickup=replace(booking.pickup, window=w))
        if insertion_cost(problem, plan, sh, _slack=slack) is not None:
            ok.append(w)
        else:
            rejected.append(w)
    if solver_budget_s > 0 and rejected:
        from routing.planner import plan as solve

        deadline = time.perf_counter() + solver_budget_s
        planned_before = len(problem.jobs) + len(problem.shipments) - len(plan.unassigned)
        for w in rejected:
            left = deadline - time.perf_counter()
            if left <= 0.02:
                break
            sh = replace(booking, pickup=replace(booking.pickup, window=w))
            bigger = replace(problem, shipments=(*problem.shipments, sh))
            trial = solve(bigger, time_limit_s=left)
            served = {u.task_id for u in trial.unassigned}
            if sh.id not in served and (
                len(bigger.jobs) + len(bigger.shipments) - len(trial.unassigned)
                >= planned_before + 1
            ):
                ok.append(w)
        ok.sort(key=lambda x: x.start)
    return ok
