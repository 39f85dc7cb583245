"""Which pickup windows the booking page may still offer for one new booking.

The check runs while a citizen waits, so it first tries cheapest insertion of the new
pickup and its drop into the current plan (every courier, every pair of positions, with
forward/backward time slack so each try is O(1) amortised). Only for windows where that
finds nothing, and only if a solver budget is given, is a short re-plan tried: insertion
is conservative (it never reorders existing stops), so the solver can rescue a window it
misses, at the price of possibly reshuffling other routes.

A courier's break stays in every try: it is taken where the courier is, so a stop inserted
just before it moves it there, and it must still start inside its window and last its
length. A courier with a break but no route yet is given the break at the post office,
which the new stops may precede or follow (a route of one break). So a window that fits
only by working through lunch is not offered, and one that fits around lunch is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

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
    if not visits and veh.brk is not None:
        # No route yet: the day of a courier who only has lunch. Stops inserted before the
        # break move it to where the courier then is (see insertion_cost).
        w = veh.brk.window
        out.append(_Node(loc, float(w.start), float(w.end), veh.brk.duration, 0, True))
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
    last: int  # node of the last fixed-prefix stop: nothing is inserted before it


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
        last = _prefix_end(nodes, n_prefix)
        dep = [0.0] * m
        dep[0] = float(veh.shift.start)
        if not n_prefix and veh.available_at is not None:
            dep[0] = max(dep[0], float(veh.available_at))
        for k in range(1, m):
            ready = dep[k - 1]
            if k == last + 1 and n_prefix and veh.available_at is not None:
                # the courier continues after the fixed prefix no earlier than "now"
                ready = max(ready, float(veh.available_at))
            arr = ready + float(dur[nodes[k - 1].loc, nodes[k].loc])
            dep[k] = max(arr, nodes[k].ws) + nodes[k].service
        if n_prefix and veh.available_at is not None:
            dep[last] = max(dep[last], float(veh.available_at))
        late = [0.0] * m
        late[m - 1] = nodes[m - 1].we
        for k in range(m - 2, -1, -1):
            late[k] = min(
                nodes[k].we,
                late[k + 1] - float(dur[nodes[k].loc, nodes[k + 1].loc]) - nodes[k].service,
            )
        out.append(_Slack(veh, nodes, dep, late, last))
    return out


def _prefix_end(nodes: list[_Node], n_prefix: int) -> int:
    """Index of the node of the last fixed-prefix stop (0, the start, without a prefix)."""
    if not n_prefix:
        return 0
    real = 0
    for k in range(1, len(nodes)):
        real += not nodes[k].is_break
        if real == n_prefix:
            return k
    return len(nodes) - 2


def _next_real(nodes: list[_Node], k: int) -> int:
    """The first node at or after ``k`` that is not the break."""
    return k + 1 if nodes[k].is_break else k


def _rest_fits(dur: npt.NDArray[np.float64], sl: _Slack, k: int, loc: int, t: float) -> bool:
    """Whether the route from node ``k`` on still holds when the courier leaves ``loc`` at
    ``t`` for it. A break at ``k`` is taken at ``loc``, where the courier then is."""
    nodes, late = sl.nodes, sl.late
    if nodes[k].is_break:
        start = max(t, nodes[k].ws)
        if start > nodes[k].we + _EPS:
            return False
        t = start + nodes[k].service
        k += 1
    return t + float(dur[loc, nodes[k].loc]) <= late[k] + _EPS


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
        for a in range(sl.last, m - 1):
            # The pickup goes after node ``a``; a break right after it moves to the pickup.
            na = nodes[a]
            arr_p = dep[a] + float(dur[na.loc, p.location])
            start_p = max(arr_p, pws)
            if start_p > pwe + _EPS or na.load_after + shipment.amount > veh.capacity:
                continue
            dep_p = start_p + sp
            after = nodes[_next_real(nodes, a + 1)].loc
            base = float(dur[na.loc, after])
            # drop right after the pickup
            arr_d = dep_p + float(dur[p.location, d.location])
            start_d = max(arr_d, dws)
            if start_d <= dwe + _EPS and _rest_fits(dur, sl, a + 1, d.location, start_d + sd):
                cost = (
                    float(dur[na.loc, p.location])
                    + float(dur[p.location, d.location])
                    + float(dur[d.location, after])
                    - base
                )
                if best is None or cost < best[0]:
                    best = (cost, veh.id)
            # drop later: walk the route with the pickup inserted
            t = dep_p
            prev = p.location
            cost_p = float(dur[na.loc, p.location]) + float(dur[p.location, after]) - base
            for k in range(a + 1, m - 1):
                nk = nodes[k]
                if nk.is_break:
                    # taken where the courier is (after the pickup, if it comes right after)
                    start = max(t, nk.ws)
                    if start > nk.we + _EPS:
                        break
                    t = start + nk.service
                else:
                    arr = t + float(dur[prev, nk.loc])
                    if arr > late[k] + _EPS or nk.load_after + shipment.amount > veh.capacity:
                        break
                    t = max(arr, nk.ws) + nk.service
                    prev = nk.loc
                nxt = nodes[_next_real(nodes, k + 1)].loc
                arr_d = t + float(dur[prev, d.location])
                start_d = max(arr_d, dws)
                if start_d > dwe + _EPS or not _rest_fits(dur, sl, k + 1, d.location, start_d + sd):
                    continue
                cost = (
                    cost_p
                    + float(dur[prev, d.location])
                    + float(dur[d.location, nxt])
                    - float(dur[prev, nxt])
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
