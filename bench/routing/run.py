"""Benchmark of routing.planner on Solomon / Li & Lim, and of the province scenario.

    .venv/bin/python bench/routing/run.py [--time-limit 2] [--quick] [--part all]

For each instance and budget it runs (a) ``routing.planner.plan`` and (b) the same solver
called directly (ProblemData / vroom.Input built straight from the file) with the same
time limit, checks every plan with ``routing.feasibility.check_plan`` and reports the
distance gap to the best known solutions. Results go to stdout (markdown) and, with
``--json``, to a file.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from instances import PRECISION, read_lilim, read_solomon  # noqa: E402

from routing.engine_vroom import level_for  # noqa: E402
from routing.feasibility import check_plan  # noqa: E402
from routing.model import Problem  # noqa: E402
from routing.planner import plan, start_workers  # noqa: E402

SOLOMON = (
    [f"C1{i:02d}" for i in range(1, 10)]
    + [f"C2{i:02d}" for i in range(1, 9)]
    + [f"R1{i:02d}" for i in range(1, 13)]
    + [f"R2{i:02d}" for i in range(1, 12)]
    + [f"RC1{i:02d}" for i in range(1, 9)]
    + [f"RC2{i:02d}" for i in range(1, 9)]
)
LILIM = (
    [f"lc1{i:02d}" for i in range(1, 10)]
    + [f"lc2{i:02d}" for i in range(1, 9)]
    + [f"lr1{i:02d}" for i in range(1, 13)]
    + [f"lr2{i:02d}" for i in range(1, 12)]
    + [f"lrc1{i:02d}" for i in range(1, 9)]
    + [f"lrc2{i:02d}" for i in range(1, 9)]
)
# The 200-customer instances in the data folder: Gehring & Homberger (VRPTW) and Li & Lim.
LARGE = [f"{c}_2_1" for c in ("c1", "c2", "r1", "r2", "rc1", "rc2")] + [
    f"l{c}_2_1" for c in ("c1", "c2", "r1", "r2", "rc1", "rc2")
]
QUICK = ["C101", "C201", "R105", "R109", "R202", "RC105", "RC203"] + [
    "lc105",
    "lc203",
    "lr105",
    "lr109",
    "lr204",
    "lrc105",
    "lrc206",
]


def data_dir() -> Path:
    rel = REPO / ".." / "shared" / "bench" / "routing" / "data"
    if rel.is_dir():
        return rel.resolve()
    env = os.environ.get("HOSO_BENCH_DATA")
    if env and Path(env).is_dir():
        return Path(env)
    raise SystemExit("benchmark data not found: ../shared/bench/routing/data or $HOSO_BENCH_DATA")


@dataclass
class Row:
    instance: str
    family: str  # class: C1, C2, R1, ..., LRC2; 200-customer ones end in "_200"
    budget: float
    engine: str  # the planner's winner
    plan_dist: float
    plan_veh: int
    plan_wall: float
    plan_unassigned: int
    violations: int
    pyvrp_dist: float
    pyvrp_wall: float
    vroom_dist: float
    vroom_wall: float
    ref_dist: float  # distance-only reference (see RESULTS.md)
    load: float  # 1-minute load average when the row was measured
    trace: list[str]
    # CPU seconds of this process's threads during the planner and the raw PyVRP call
    # (the planner's VROOM child not included); nan in rows from before they were kept.
    plan_cpu: float = math.nan
    pyvrp_cpu: float = math.nan

    def gap_of(self, dist: float) -> float:
        return 100.0 * (dist / self.ref_dist - 1.0)

    @property
    def gap(self) -> float:
        return self.gap_of(self.plan_dist)


# ---------------------------------------------------------------- raw solver calls


def _float_route_distance(dist: np.ndarray, locs: list[int]) -> float:
    path = [0, *locs, 0]
    return float(sum(dist[a, b] for a, b in zip(path, path[1:], strict=False)))


def raw_pyvrp(problem: Problem, budget: float, seed: int = 0) -> tuple[float, int, float]:
    """PyVRP on the same data with no adapter: ProblemData from arrays, solve, read back.

    It stops on the same wall-clock budget as the planner, counted from the start of this
    call (``MaxRuntime`` would not count PyVRP's set-up and initial solution).
    """
    import pyvrp

    t0 = time.perf_counter()
    deadline = t0 + budget
    d = problem.matrix.distance
    dist_i = np.rint(d * PRECISION).astype(np.int64)
    dur_i = np.ceil(problem.matrix.duration * PRECISION - 1e-9).astype(np.int64)
    veh = problem.vehicles[0]
    locations = [pyvrp.Location(x=0, y=0) for _ in problem.locations]
    clients = [
        pyvrp.Client(
            location=j.stop.location,
            delivery=[j.delivery],
            service_duration=(j.stop.service or 0) * PRECISION,
            tw_early=j.stop.window.start * PRECISION if j.stop.window else 0,
            tw_late=j.stop.window.end * PRECISION if j.stop.window else veh.shift.end * PRECISION,
        )
        for j in problem.jobs
    ]
    shipments = [
        pyvrp.Shipment(
            pickup_location=s.pickup.location,
            delivery_location=s.drop.location,
            pickup_tw_early=s.pickup.window.start * PRECISION if s.pickup.window else 0,
            pickup_tw_late=s.pickup.window.end * PRECISION
            if s.pickup.window
            else veh.shift.end * PRECISION,
            pickup_service_duration=(s.pickup.service or 0) * PRECISION,
            delivery_tw_early=s.drop.window.start * PRECISION if s.drop.window else 0,
            delivery_tw_late=s.drop.window.end * PRECISION
            if s.drop.window
            else veh.shift.end * PRECISION,
            delivery_service_duration=(s.drop.service or 0) * PRECISION,
            amount=[s.amount],
        )
        for s in problem.shipments
    ]
    vt = pyvrp.VehicleType(
        num_available=len(problem.vehicles),
        capacity=[veh.capacity],
        tw_early=veh.shift.start * PRECISION,
        tw_late=veh.shift.end * PRECISION,
    )
    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=[pyvrp.Depot(location=0)],
        vehicle_types=[vt],
        # PyVRP's stubs want a 2-D int array type numpy's stubs cannot express here.
        distance_matrices=[dist_i],  # type: ignore[list-item]
        duration_matrices=[dur_i],  # type: ignore[list-item]
        shipments=shipments,
    )
    res = pyvrp.solve(
        data, stop=lambda _: time.perf_counter() >= deadline, seed=seed, collect_stats=False
    )
    total = 0.0
    nveh = 0
    for r in res.best.routes():
        locs: list[int] = []
        for act in r:
            if act.is_client():
                locs.append(clients[act.idx].location)
            elif act.is_pickup():
                locs.append(shipments[act.idx].pickup.location)
            elif act.is_delivery():
                locs.append(shipments[act.idx].delivery.location)
        total += _float_route_distance(d, locs)
        nveh += 1
    wall = time.perf_counter() - t0
    if not res.best.is_feasible():
        total = math.inf
    return total, nveh, wall


def raw_vroom(problem: Problem, budget: float, level: int = 5) -> tuple[float, int, float]:
    import vroom

    t0 = time.perf_counter()
    d = problem.matrix.distance
    dist_i = np.rint(d * PRECISION).astype(np.uint32)
    dur_i = np.ceil(problem.matrix.duration * PRECISION - 1e-9).astype(np.uint32)
    inp = vroom.Input()
    inp.set_durations_matrix("car", dur_i)
    inp.set_distances_matrix("car", dist_i)
    inp.set_costs_matrix("car", dist_i)
    veh = problem.vehicles[0]
    for k in range(len(problem.vehicles)):
        inp.add_vehicle(
            vroom.Vehicle(
                id=k,
                start=0,
                end=0,
                capacity=vroom.Amount([veh.capacity]),
                time_window=vroom.TimeWindow(
                    veh.shift.start * PRECISION, veh.shift.end * PRECISION
                ),
            )
        )
    loc_of: dict[int, int] = {}
    nid = 1

    def tw(s: Any) -> list[Any]:
        return [vroom.TimeWindow(s.window.start * PRECISION, s.window.end * PRECISION)]

    for j in problem.jobs:
        inp.add_job(
            vroom.Job(
                id=nid,
                location=j.stop.location,
                default_service=(j.stop.service or 0) * PRECISION,
                delivery=vroom.Amount([j.delivery]),
                time_windows=tw(j.stop),
            )
        )
        loc_of[nid] = j.stop.location
        nid += 1
    for s in problem.shipments:
        inp.add_shipment(
            vroom.ShipmentStep(
                nid,
                location=s.pickup.location,
                default_service=(s.pickup.service or 0) * PRECISION,
                time_windows=tw(s.pickup),
            ),
            vroom.ShipmentStep(
                nid + 1,
                location=s.drop.location,
                default_service=(s.drop.service or 0) * PRECISION,
                time_windows=tw(s.drop),
            ),
            amount=vroom.Amount([s.amount]),
        )
        loc_of[nid] = s.pickup.location
        loc_of[nid + 1] = s.drop.location
        nid += 2
    sol = inp.solve(exploration_level=level, nb_threads=2, timeout=timedelta(seconds=budget))
    out = sol.to_dict()
    total = 0.0
    for r in out["routes"]:
        locs = [
            loc_of[int(st["id"])]
            for st in r["steps"]
            if st["type"] in ("job", "pickup", "delivery")
        ]
        total += _float_route_distance(d, locs)
    wall = time.perf_counter() - t0
    if out["unassigned"]:
        total = math.inf
    return total, len(out["routes"]), wall


# ---------------------------------------------------------------- benchmark


def load_refs(data: Path) -> dict[str, float]:
    """instance -> distance-only reference distance.

    Solomon: ``bks_dist_distance``; Li & Lim: ``distref_distance``; Gehring & Homberger:
    ``pyvrp_dimacs_routes_exact_distance`` (PyVRP's distance-only routes re-measured in
    exact distances; slightly optimistic on three instances, see the data's SOURCES.md).
    """
    out: dict[str, float] = {}
    with open(data / "bks_solomon.csv") as fh:
        for r in csv.DictReader(fh):
            out[r["instance"]] = float(r["bks_dist_distance"])
    with open(data / "lilim" / "bks_lilim.csv") as fh:
        for r in csv.DictReader(fh):
            out[r["instance"]] = float(r["distref_distance"])
    with open(data / "bks_homberger200.csv") as fh:
        for r in csv.DictReader(fh):
            exact = r["pyvrp_dimacs_routes_exact_distance"]
            out[r["instance"]] = float(exact or r["bks_hier_distance"])
    return out


def load_instance(data: Path, name: str) -> tuple[Problem, str]:
    if "_2_" in name:
        if name.startswith("l"):
            prob = read_lilim(data / "lilim" / "li_lim_200" / f"{name}.txt")
        else:
            prob = read_solomon(data / "homberger_200" / f"{name}.txt")
        return prob, name.split("_")[0].upper() + "_200"
    if name.startswith("l"):
        return read_lilim(data / "lilim" / "li_lim_100" / f"{name}.txt"), name[:-2].upper()
    return read_solomon(data / "solomon" / f"{name}.txt"), name[:-2]


def run_benchmark(budgets: list[float], names: list[str], out: Path | None) -> list[Row]:
    data = data_dir()
    refs = load_refs(data)
    rows: list[Row] = []
    # Warm up imports and PyVRP/VROOM's first-call costs outside the timed calls.
    start_workers()
    warm, _ = load_instance(data, "C101")
    plan(warm, time_limit_s=0.1)
    for budget in budgets:
        for name in names:
            prob, family = load_instance(data, name)
            stops = len(prob.jobs) + 2 * len(prob.shipments)
            c0 = time.process_time()
            p = plan(prob, time_limit_s=budget)
            plan_cpu = time.process_time() - c0
            viol = check_plan(prob, p)
            # The raw solvers, same wall budget, same run, right after the planner: PyVRP
            # (one core, MaxRuntime, which does not count its set-up) and VROOM (both
            # cores, at the exploration level that finishes within the budget).
            c0 = time.process_time()
            pd, _, pw = raw_pyvrp(prob, budget)
            pyvrp_cpu = time.process_time() - c0
            vd, _, vw = raw_vroom(prob, budget, level_for(stops, budget))
            row = Row(
                name,
                family,
                budget,
                p.engine,
                p.distance,
                p.vehicles_used,
                p.wall_time_s,
                len(p.unassigned),
                len(viol),
                pd,
                pw,
                vd,
                vw,
                refs[name],
                os.getloadavg()[0],
                list(p.trace),
                plan_cpu,
                pyvrp_cpu,
            )
            rows.append(row)
            if out is not None:
                with open(out, "a") as fh:
                    fh.write(json.dumps(row.__dict__) + "\n")
            print(
                f"{budget:>4} {name:8} {p.engine:6} gap {row.gap:6.2f}% wall {p.wall_time_s:.3f}"
                f" unassigned {len(p.unassigned)} viol {len(viol)}"
                f" | pyvrp {row.gap_of(pd):6.2f}% wall {pw:.3f}"
                f" | vroom {row.gap_of(vd):6.2f}% wall {vw:.3f} | load {row.load:.1f}",
                file=sys.stderr,
                flush=True,
            )
    return rows


def _mean(xs: list[float]) -> float:
    return statistics.mean(xs) if xs else math.nan


def summarise(rows: list[Row]) -> str:
    out = [
        "| budget s | class | n | planner mean gap % | max gap % | raw PyVRP mean gap % "
        "| raw VROOM mean gap % | best raw mean gap % | planner ≤ raw PyVRP | feasible "
        "| unassigned | median wall planner / PyVRP / VROOM s | median CPU s planner / PyVRP "
        "| mean load |",
        "|" + "---|" * 14,
    ]
    order = ["C1", "C2", "R1", "R2", "RC1", "RC2", "LC1", "LC2", "LR1", "LR2", "LRC1", "LRC2"]
    groups: list[tuple[str, list[str]]] = [(c, [c]) for c in order]
    groups += [("Solomon all", order[:6]), ("Li & Lim all", order[6:]), ("all 100", order)]
    groups += [
        ("200-customer G&H", [f + "_200" for f in order[:6]]),
        ("200-customer Li & Lim", [f + "_200" for f in order[6:]]),
    ]
    for budget in sorted({r.budget for r in rows}, reverse=True):
        for label, fams in groups:
            sel = [r for r in rows if r.budget == budget and r.family in fams]
            if not sel:
                continue
            pyvrp_mean = _mean([r.gap_of(r.pyvrp_dist) for r in sel])
            vroom_mean = _mean([r.gap_of(r.vroom_dist) for r in sel])
            out.append(
                f"| {budget} | {label} | {len(sel)} | {_mean([r.gap for r in sel]):.2f} "
                f"| {max(r.gap for r in sel):.2f} | {pyvrp_mean:.2f} | {vroom_mean:.2f} "
                f"| {min(pyvrp_mean, vroom_mean):.2f} "
                f"| {sum(r.plan_dist <= r.pyvrp_dist + 1e-6 for r in sel)}/{len(sel)} "
                f"| {sum(r.violations == 0 for r in sel)}/{len(sel)} "
                f"| {sum(r.plan_unassigned for r in sel)} "
                f"| {statistics.median(r.plan_wall for r in sel):.3f} / "
                f"{statistics.median(r.pyvrp_wall for r in sel):.3f} / "
                f"{statistics.median(r.vroom_wall for r in sel):.3f} "
                f"| {statistics.median(r.plan_cpu for r in sel):.3f} / "
                f"{statistics.median(r.pyvrp_cpu for r in sel):.3f} "
                f"| {_mean([r.load for r in sel]):.1f} |"
            )
    out.append("")
    out.append(
        "| budget | instance | planner gap % | winner | raw PyVRP gap % | raw VROOM gap % "
        "| wall s | viol | unassigned |"
    )
    out.append("|" + "---|" * 9)
    for r in rows:
        out.append(
            f"| {r.budget} | {r.instance} | {r.gap:.2f} | {r.engine} "
            f"| {r.gap_of(r.pyvrp_dist):.2f} | {r.gap_of(r.vroom_dist):.2f} "
            f"| {r.plan_wall:.3f} | {r.violations} | {r.plan_unassigned} |"
        )
    return "\n".join(out)


def run_scenario(repeats: int) -> str:
    from routing.scenario import bac_ninh_day, new_booking
    from routing.windows import offerable_windows

    lines = []
    start_workers()
    problem = bac_ninh_day(stops=300, couriers=15, seed=1)
    n_stops = len(problem.jobs) + 2 * len(problem.shipments)
    t0 = time.perf_counter()
    p = plan(problem, time_limit_s=10.0)
    wall = time.perf_counter() - t0
    viol = check_plan(problem, p)
    lines.append(
        f"scenario Bắc Ninh: {n_stops} stops, {len(problem.vehicles)} couriers, engine {p.engine}: "
        f"planned in {wall:.2f} s, {len(p.unassigned)} unassigned, {len(viol)} violations, "
        f"{p.vehicles_used} couriers used, total {p.distance / 1000:.1f} km, "
        f"{p.duration / 3600:.1f} courier-hours (load {os.getloadavg()[0]:.1f})"
    )
    # With breaks: the portfolio against VROOM alone (the planner's engine for breaks
    # before), same budgets, same run.
    for budget in (10.0, 2.0, 0.3):
        for engine in ("auto", "vroom"):
            if (budget, engine) == (10.0, "auto"):
                continue
            t0 = time.perf_counter()
            q = plan(problem, time_limit_s=budget, engine=engine)
            w = time.perf_counter() - t0
            lines.append(
                f"  same day at {budget} s, {engine}: engine {q.engine}, wall {w:.2f} s, "
                f"{len(q.unassigned)} unassigned, {len(check_plan(problem, q))} violations, "
                f"{q.distance / 1000:.1f} km, {q.duration / 3600:.1f} courier-hours"
            )
    from routing.scenario import biggest_ward_post_offices, province_day

    nobreak = province_day("24", biggest_ward_post_offices("24", 5), seed=1, breaks=False)
    for engine in ("auto", "vroom"):
        t0 = time.perf_counter()
        q = plan(nobreak, time_limit_s=10.0, engine=engine)
        w = time.perf_counter() - t0
        lines.append(
            f"  same day without breaks, engine {q.engine}: wall {w:.2f} s, "
            f"{len(q.unassigned)} unassigned, {len(check_plan(nobreak, q))} violations, "
            f"{q.distance / 1000:.1f} km, {q.duration / 3600:.1f} courier-hours"
        )
    times = []
    offered = []
    for k in range(repeats):
        extended, booking, candidates = new_booking(problem, seed=100 + k)
        t0 = time.perf_counter()
        ok = offerable_windows(extended, p, booking, candidates)
        times.append(time.perf_counter() - t0)
        offered.append(len(ok))
    lines.append(
        f"offerable_windows over {repeats} bookings: "
        f"median {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms; windows offered per booking: median "
        f"{statistics.median(offered)} of {len(candidates)}"
    )
    return "\n".join(lines)


def run_lunch(stops: int, couriers: int, budget: float, seeds: list[int]) -> str:
    """A province day (Bắc Ninh, ``routing.scenario``) with lunch on and off, and why each
    stop is left out: no courier could serve it even with an empty day (infeasible), it
    still fits the plan by insertion (the planner missed it), or neither (the day is full)."""
    from core.dispatch.service import repair
    from routing.model import Plan
    from routing.scenario import biggest_ward_post_offices, province_day
    from routing.windows import insertion_cost

    start_workers()
    offices = biggest_ward_post_offices("24", 5)
    lines = []
    for seed in seeds:
        for breaks in (True, False):
            problem = province_day("24", offices, stops=stops, couriers=couriers, seed=seed,
                                   breaks=breaks)  # fmt: skip
            t0 = time.perf_counter()
            p = plan(problem, time_limit_s=budget)
            wall = time.perf_counter() - t0
            ships = {sh.id: sh for sh in problem.shipments}
            empty = Plan((), (), "empty")
            alone = sum(insertion_cost(problem, empty, ships[u.task_id]) is None
                        for u in p.unassigned)  # fmt: skip
            fits = sum(insertion_cost(problem, p, ships[u.task_id]) is not None
                       for u in p.unassigned)  # fmt: skip
            # What the dispatch service keeps: its repair pass (exhaustive insertion, the break
            # at every place) after the planner, given up to 2 s here.
            repaired = repair(problem, p, deadline=time.perf_counter() + 2.0)
            lines.append(
                f"{stops} stops, {couriers} couriers, seed {seed}, "
                f"lunch {'on ' if breaks else 'off'}: "
                f"engine {p.engine}, wall {wall:.2f} s, {len(p.unassigned)} shipments unassigned "
                f"({alone} infeasible even alone, {fits} would fit by insertion, "
                f"{len(p.unassigned) - alone - fits} for lack of room; "
                f"{len(repaired.unassigned)} after the service's repair pass, "
                f"{len(check_plan(problem, repaired))} violations there), "
                f"{len(check_plan(problem, p))} violations, {p.duration / 3600:.1f} courier-hours "
                f"(load {os.getloadavg()[0]:.1f})"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, action="append", help="budget(s) in s")
    ap.add_argument(
        "--set",
        choices=["all", "100", "200", "quick"],
        default="all",
        help="all = 56 Solomon + 56 Li & Lim + the 200-customer ones; quick = 14",
    )
    ap.add_argument("--instances", help="comma list of instance names (overrides --set)")
    ap.add_argument("--part", choices=["all", "bench", "scenario", "lunch"], default="all")
    ap.add_argument("--lunch-stops", type=int, default=120, help="--part lunch: stops per day")
    ap.add_argument("--lunch-couriers", type=int, default=6, help="--part lunch: couriers")
    ap.add_argument("--lunch-seeds", default="1,2,3", help="--part lunch: comma list of seeds")
    ap.add_argument("--jsonl", type=Path, help="append each row here as it is measured")
    ap.add_argument("--summarise", type=Path, help="only print the tables of a --jsonl file")
    ap.add_argument("--bookings", type=int, default=30)
    args = ap.parse_args()
    if args.summarise:
        rows = [Row(**json.loads(line)) for line in args.summarise.read_text().splitlines()]
        print(summarise(rows))
        return
    budgets = args.time_limit or [0.3, 2.0]
    names = {
        "all": SOLOMON + LILIM + LARGE,
        "100": SOLOMON + LILIM,
        "200": LARGE,
        "quick": QUICK,
    }[args.set]
    if args.instances:
        names = args.instances.split(",")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, budgets {budgets}")
    if args.part in ("all", "bench"):
        rows = run_benchmark(budgets, names, args.jsonl)
        print(summarise(rows))
    if args.part in ("all", "scenario"):
        print(run_scenario(args.bookings))
    if args.part == "lunch":
        budget = args.time_limit[0] if args.time_limit else 2.0
        seeds = [int(x) for x in args.lunch_seeds.split(",")]
        print(run_lunch(args.lunch_stops, args.lunch_couriers, budget, seeds))


if __name__ == "__main__":
    main()
