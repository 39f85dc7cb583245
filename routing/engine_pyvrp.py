"""PyVRP adapter: a reduced day in, stop orders per vehicle index out.

Built once per plan (``PyvrpModel.build``) and then searched by one or more threads:
PyVRP's C++ search releases the GIL, so two searches in two threads each run at full
speed on a 2-core machine (measured: 1537 and 1582 iterations per second against 1665 for
one search alone; two processes gave 1532 and 1556), without the start-up cost of a
process.

Two things PyVRP 0.14 cannot say directly:

* **Which couriers may serve a stop** (skills, locks, a dossier already on board): each
  restricted stop gets a private copy of its location, and each group of couriers that
  may not serve it gets a routing profile in which that copy is out of reach.
* **A driver break**: a client per courier, restricted to that courier the same way, with
  the break's window as its time window and the break's length as its service time, at a
  private copy of the courier's post office. PyVRP therefore plans the route as if the
  courier rode back to the post office for lunch; the plan is then re-timed with the break
  taken where the courier is (``routing.planner.schedule_routes``), which by the triangle
  inequality is never later, so a route PyVRP finds feasible stays feasible (the
  independent checker confirms every plan). Unlike VROOM's breaks, the courier may wait
  for the break window after the last stop, so a morning-only stop is not left out.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyvrp
from pyvrp import Activity, ActivityType, Route, Solution, SolveParams
from pyvrp.IteratedLocalSearch import IteratedLocalSearchCallbacks, IteratedLocalSearchParams

from routing.model import Problem, Stop
from routing.tasks import BREAK, Reduced, Sequences, Task, Veh, int_matrices, window


class _OnBest(IteratedLocalSearchCallbacks):
    """Hands each new best solution of a search to the portfolio (to seed the other)."""

    def __init__(self, hook: Callable[[Any], None]) -> None:
        self.hook = hook

    def on_best(self, best: Any) -> None:
        self.hook(best)


# Task ids of the break clients; the NUL keeps them apart from any real stop id.
_BREAK_PREFIX = "\x00break:"


class _Deadline:
    """PyVRP stopping criterion on an absolute wall-clock deadline (``time.perf_counter``)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __call__(self, best_cost: int) -> bool:
        return time.perf_counter() >= self.deadline


def _break_task(v: Veh) -> Task | None:
    brk = v.vehicle.brk
    if brk is None:
        return None
    stop = Stop(f"{_BREAK_PREFIX}{v.index}", v.vehicle.end, "other", brk.window, brk.duration)
    return Task(stop.id, (stop,), allowed=frozenset({v.index}))


@dataclass(slots=True)
class PyvrpModel:
    data: Any  # pyvrp.ProblemData
    client_task: list[Task]
    ship_task: list[Task]
    type_members: list[list[Veh]]
    type_of: dict[int, int]  # vehicle index -> vehicle type
    client_of: dict[str, int]  # stop id of a job (or a break task id) -> client index
    ship_of: dict[str, tuple[int, bool]]  # stop id -> (shipment index, is pickup)
    break_of: dict[int, str]  # vehicle index -> its break task id
    tasks: list[Task]  # the real tasks (no breaks)

    @classmethod
    def build(cls, problem: Problem, red: Reduced, *, optional: bool = False) -> PyvrpModel:
        """The PyVRP data for ``red``; with ``optional``, stops may be left out at a price.

        The price (prize) of leaving a task out is above any cost of serving it, so the
        search leaves out only what does not fit. Used to improve on VROOM's plan of an
        over-full day, starting from it (see ``routing.planner``); from scratch, PyVRP
        0.14 was measured to miss an optional stop that needs waiting (cost 100560
        instead of 3600 on a 3-stop case), hence required stops by default.
        """
        p = problem.precision
        dist, dur = int_matrices(problem)
        n_loc = len(problem.locations)
        horizon_lo = min(int(v.ready * p) for v in red.vehicles)
        horizon_hi = max(v.vehicle.shift.end for v in red.vehicles) * p

        break_of: dict[int, str] = {}
        all_tasks = list(red.tasks)
        for v in red.vehicles:
            bt = _break_task(v)
            if bt is not None:
                break_of[v.index] = bt.task_id
                all_tasks.append(bt)

        # PyVRP keeps depots first in its location list; duplicate the depot locations
        # there and keep the problem's own locations after them.
        depot_locs = sorted(
            {v.start_loc for v in red.vehicles} | {v.vehicle.end for v in red.vehicles}
        )
        depot_idx = {loc: k for k, loc in enumerate(depot_locs)}
        off = len(depot_locs)
        private: dict[str, int] = {}
        extra: list[int] = []
        for t in all_tasks:
            if t.allowed is not None:
                for st in t.stops:
                    private[st.id] = off + n_loc + len(extra)
                    extra.append(st.location)
        loc_ids = depot_locs + list(range(n_loc)) + extra
        sel = np.asarray(loc_ids)
        dist_m = dist[np.ix_(sel, sel)]
        dur_m = dur[np.ix_(sel, sel)]
        # Distance that makes a forbidden leg cost more than any real route.
        unreachable = 10 * (horizon_hi - horizon_lo + 4 * int(max(dist_m.max(), dur_m.max())) + 1)
        # Serving a task costs at most its detour plus waiting, both below this.
        prize = 2 * (horizon_hi - horizon_lo + 4 * int(max(dist.max(), dur.max())) + 1)
        forbidden_of: dict[int, frozenset[int]] = {}
        for v in red.vehicles:
            forbidden_of[v.index] = frozenset(
                private[st.id]
                for t in all_tasks
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
        client_task: list[Task] = []
        ship_task: list[Task] = []
        client_of: dict[str, int] = {}
        ship_of: dict[str, tuple[int, bool]] = {}
        for t in all_tasks:
            if len(t.stops) == 1:
                s = t.stops[0]
                lo, hi = window(problem, s, horizon_lo, horizon_hi)
                client_of[s.id] = len(clients)
                clients.append(
                    pyvrp.Client(
                        location=where(s),
                        delivery=[t.delivery],
                        pickup=[t.pickup],
                        required=not optional or t.task_id.startswith(_BREAK_PREFIX),
                        prize=prize if optional else 0,
                        service_duration=problem.service_of(s) * p,
                        tw_early=lo,
                        tw_late=hi,
                        name=t.task_id,
                    )
                )
                client_task.append(t)
            else:
                a, b = t.stops
                alo, ahi = window(problem, a, horizon_lo, horizon_hi)
                blo, bhi = window(problem, b, horizon_lo, horizon_hi)
                ship_of[a.id] = (len(shipments), True)
                ship_of[b.id] = (len(shipments), False)
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
                        required=not optional,
                        prize=prize if optional else 0,
                        name=t.task_id,
                    )
                )
                ship_task.append(t)

        # Identical couriers share a vehicle type: PyVRP's search treats vehicles of one
        # type as interchangeable, which is much cheaper than one type per courier. A
        # courier with a break has a profile of their own (the break is theirs alone).
        groups: dict[tuple[int, int, int, int, int, int], list[Veh]] = {}
        for v in red.vehicles:
            prof = profile_of[forbidden_of[v.index]]
            key = (
                v.start_loc,
                v.vehicle.end,
                int(v.ready * p),
                v.vehicle.shift.end,
                v.capacity,
                prof,
            )
            groups.setdefault(key, []).append(v)
        duration_cost = 1 if problem.objective == "duration" else 0
        distance_cost = 1 - duration_cost
        vtypes: list[Any] = []
        type_members: list[list[Veh]] = []
        type_of: dict[int, int] = {}
        for (start, end, ready, shift_end, cap, prof), members in groups.items():
            for m in members:
                type_of[m.index] = len(vtypes)
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
        return cls(
            data,
            client_task,
            ship_task,
            type_members,
            type_of,
            client_of,
            ship_of,
            break_of,
            list(red.tasks),
        )

    def solution_from(self, seqs: Sequences) -> Any:
        """A PyVRP solution with the given stop orders (e.g. VROOM's), to start a search from.

        A courier with a break but no route gets a route of the break alone, so every
        break client is planned; tasks missing from ``seqs`` are left for the search to
        insert.
        """
        routes = []
        for vidx, seq in seqs.items():
            acts = []
            for sid in seq:
                if sid == BREAK:
                    if vidx in self.break_of:
                        acts.append(
                            Activity(ActivityType.CLIENT, self.client_of[self.break_of[vidx]])
                        )
                elif sid in self.client_of:
                    acts.append(Activity(ActivityType.CLIENT, self.client_of[sid]))
                elif sid in self.ship_of:
                    k, is_pickup = self.ship_of[sid]
                    kind = ActivityType.PICKUP if is_pickup else ActivityType.DELIVERY
                    acts.append(Activity(kind, k))
            brk = self.break_of.get(vidx)
            brk_act = None if brk is None else Activity(ActivityType.CLIENT, self.client_of[brk])
            if brk_act is not None and brk_act not in acts:
                acts.append(brk_act)
            if acts:
                routes.append(Route(self.data, acts, self.type_of[vidx]))
        for vidx, brk in self.break_of.items():
            if vidx not in seqs or not seqs[vidx]:
                act = Activity(ActivityType.CLIENT, self.client_of[brk])
                routes.append(Route(self.data, [act], self.type_of[vidx]))
        return Solution(self.data, routes)

    def empty(self) -> Any:
        """A solution with nothing planned: the search's first step inserts every stop.

        PyVRP's own start (a random solution improved by an exhaustive local search) is
        not interruptible and was measured at 3.5 s on the 300-stop Bắc Ninh day with 15
        couriers' breaks under load, past a 2 s budget; from empty, 0.36 s.
        """
        return Solution(self.data, [])

    def cost(self, solution: Any) -> float:
        """The objective of a complete feasible solution, in solver units; inf otherwise."""
        if not solution.is_feasible() or not solution.is_complete():
            return math.inf
        return float(solution.distance_cost() + solution.duration_cost())

    def solve(
        self,
        deadline: float,
        seed: int,
        initial: Sequences | Any | None = None,
        on_best: Callable[[Any], None] | None = None,
    ) -> tuple[Sequences, list[Task]] | None:
        """Routes per vehicle index and tasks left out; None if no feasible plan was found.

        With required stops (the default, see ``build``) an over-full day has no feasible
        plan and the answer is None; the portfolio then keeps VROOM's plan, or this
        model's optional-stop variant started from it.
        """
        start = self.solution_from(initial) if isinstance(initial, dict) else initial
        params = SolveParams()
        if on_best is not None:
            params = SolveParams(ils=IteratedLocalSearchParams(callbacks=_OnBest(on_best)))
        with warnings.catch_warnings():
            # PenaltyBoundWarning says the penalty hit its bound: expected on tight days,
            # and the result's feasibility is checked below anyway.
            warnings.simplefilter("ignore")
            # MaxRuntime starts counting only when the search loop starts, after PyVRP has
            # built neighbourhoods and an initial solution (a noticeable part of a short
            # budget on a few hundred stops), so stop on our own wall-clock deadline.
            result = pyvrp.solve(
                self.data,
                stop=_Deadline(deadline),
                seed=seed,
                collect_stats=False,
                params=params,
                initial_solution=start,
            )
        best = result.best
        if not best.is_feasible() or not best.is_complete():
            return None
        seqs: Sequences = {}
        used: set[str] = set()
        next_slot = [0] * len(self.type_members)
        for route in best.routes():
            vt = route.vehicle_type()
            veh = self.type_members[vt][next_slot[vt]]
            next_slot[vt] += 1
            seq: list[str] = []
            for act in route:
                if act.is_client():
                    t = self.client_task[act.idx]
                    if t.task_id.startswith(_BREAK_PREFIX):
                        seq.append(BREAK)
                        continue
                    seq.append(t.stops[0].id)
                    used.add(t.task_id)
                elif act.is_pickup():
                    t = self.ship_task[act.idx]
                    seq.append(t.stops[0].id)
                    used.add(t.task_id)
                elif act.is_delivery():
                    t = self.ship_task[act.idx]
                    seq.append(t.stops[1].id)
            if any(s != BREAK for s in seq) or veh.prefix:
                seqs[veh.index] = seq
        left = [t for t in self.tasks if t.task_id not in used]
        return seqs, left
