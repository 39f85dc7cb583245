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

from routing.feasibility import check_plan  # noqa: E402
from routing.model import Problem  # noqa: E402
from routing.planner import plan  # noqa: E402

SOLOMON = (
    [f"C1{i:02d}" for i in range(1, 10)]
    + [f"R1{i:02d}" for i in range(1, 13)]
    + [f"RC1{i:02d}" for i in range(1, 9)]
)
LILIM = (
    [f"lc1{i:02d}" for i in range(1, 10)]
    + [f"lr1{i:02d}" for i in range(1, 13)]
    + [f"lrc1{i:02d}" for i in range(1, 9)]
)
QUICK_SOLOMON = ["C101", "C105", "R101", "R105", "R109", "RC101", "RC105"]
QUICK_LILIM = ["lc101", "lc105", "lr101", "lr105", "lr109", "lrc101", "lrc105"]


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
    family: str
    budget: float
    engine: str
    plan_dist: float
    plan_veh: int
    plan_wall: float
    plan_unassigned: int
    violations: int
    raw_dist: float
    raw_veh: int
    raw_wall: float
    bks_dist: float
    bks_veh: int
    bks_hier_dist: float
    bks_hier_veh: int

    @property
    def gap(self) -> float:
        return 100.0 * (self.plan_dist / self.bks_dist - 1.0)

    @property
    def raw_gap(self) -> float:
        return 100.0 * (self.raw_dist / self.bks_dist - 1.0)

    @property
    def gap_hier(self) -> float:
        return 100.0 * (self.plan_dist / self.bks_hier_dist - 1.0)


# ---------------------------------------------------------------- raw solver calls


def _float_route_distance(dist: np.ndarray, locs: list[int]) -> float:
    path = [0, *locs, 0]
    return float(sum(dist[a, b] for a, b in zip(path, path[1:], strict=False)))


def raw_pyvrp(problem: Problem, budget: float, seed: int = 0) -> tuple[float, int, float]:
    """PyVRP on the same data with no adapter: ProblemData from arrays, solve, read back."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    t0 = time.perf_counter()
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
    res = pyvrp.solve(data, stop=MaxRuntime(budget), seed=seed, collect_stats=False)
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


def raw_vroom(problem: Problem, budget: float) -> tuple[float, int, float]:
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
    sol = inp.solve(exploration_level=5, nb_threads=2, timeout=timedelta(seconds=budget))
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


def load_bks(data: Path) -> dict[str, tuple[float, int, float, int]]:
    """instance -> (distance-only ref, its vehicles, hierarchical BKS distance, vehicles)."""
    out: dict[str, tuple[float, int, float, int]] = {}
    with open(data / "bks_solomon.csv") as fh:
        for r in csv.DictReader(fh):
            out[r["instance"]] = (
                float(r["bks_dist_distance"]),
                int(r["bks_dist_vehicles"]),
                float(r["bks_hier_distance"]),
                int(r["bks_hier_vehicles"]),
            )
    with open(data / "lilim" / "bks_lilim.csv") as fh:
        for r in csv.DictReader(fh):
            out[r["instance"]] = (
                float(r["distref_distance"]),
                int(r["distref_vehicles"]),
                float(r["bks_hier_distance"]),
                int(r["bks_hier_vehicles"]),
            )
    return out


def run_benchmark(budgets: list[float], quick: bool, engines: list[str]) -> list[Row]:
    data = data_dir()
    bks = load_bks(data)
    names = [(n, "solomon") for n in (QUICK_SOLOMON if quick else SOLOMON)] + [
        (n, "lilim") for n in (QUICK_LILIM if quick else LILIM)
    ]
    rows: list[Row] = []
    for budget in budgets:
        for name, kind in names:
            if kind == "solomon":
                prob = read_solomon(data / "solomon" / f"{name}.txt")
                family = name.rstrip("0123456789")
            else:
                prob = read_lilim(data / "lilim" / "li_lim_100" / f"{name}.txt")
                family = name.rstrip("0123456789").upper() + "1"
            for engine in engines:
                p = plan(prob, time_limit_s=budget, engine=engine)
                viol = check_plan(prob, p)
                if p.engine == "pyvrp":
                    rd, rv, rw = raw_pyvrp(prob, budget)
                else:
                    rd, rv, rw = raw_vroom(prob, budget)
                b = bks[name]
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
                    rd,
                    rv,
                    rw,
                    b[0],
                    b[1],
                    b[2],
                    b[3],
                )
                rows.append(row)
                print(
                    f"{budget:>4} {name:7} {p.engine:5} dist {p.distance:9.2f}"
                    f" veh {p.vehicles_used:2} gap {row.gap:6.2f}%"
                    f" unassigned {len(p.unassigned)} viol {len(viol)}"
                    f" wall {p.wall_time_s:.3f} | raw {rd:9.2f} gap {row.raw_gap:6.2f}%"
                    f" wall {rw:.3f}",
                    file=sys.stderr,
                    flush=True,
                )
    return rows


def summarise(rows: list[Row]) -> str:
    out = []
    keys = sorted({(r.budget, r.engine) for r in rows}, key=lambda k: (-k[0], k[1]))
    out.append(
        "| budget s | engine | set | n | mean gap % (dist ref) | max gap % | raw mean gap % "
        "| mean gap % vs hier. BKS | veh (ours/hier BKS) | feasible | unassigned "
        "| median wall planner s | median wall raw s | median overhead ratio |"
    )
    out.append("|" + "---|" * 14)
    for budget, engine in keys:
        for set_name, pred in (
            ("Solomon C1/R1/RC1", lambda r: not r.instance.startswith("l")),
            ("Li&Lim LC1/LR1/LRC1", lambda r: r.instance.startswith("l")),
        ):
            sel = [r for r in rows if r.budget == budget and r.engine == engine and pred(r)]
            if not sel:
                continue
            out.append(
                f"| {budget} | {engine} | {set_name} | {len(sel)} "
                f"| {statistics.mean(r.gap for r in sel):.2f} | {max(r.gap for r in sel):.2f} "
                f"| {statistics.mean(r.raw_gap for r in sel):.2f} "
                f"| {statistics.mean(r.gap_hier for r in sel):.2f} "
                f"| {sum(r.plan_veh for r in sel)}/{sum(r.bks_hier_veh for r in sel)} "
                f"| {sum(r.violations == 0 for r in sel)}/{len(sel)} "
                f"| {sum(r.plan_unassigned for r in sel)} "
                f"| {statistics.median(r.plan_wall for r in sel):.3f} "
                f"| {statistics.median(r.raw_wall for r in sel):.3f} "
                f"| {statistics.median(r.plan_wall / r.raw_wall for r in sel):.3f} |"
            )
    out.append("")
    out.append(
        "| budget | engine | instance | dist | veh | gap % | gap % hier | raw dist | raw gap % "
        "| wall s | raw wall s | viol |"
    )
    out.append("|" + "---|" * 12)
    for r in rows:
        out.append(
            f"| {r.budget} | {r.engine} | {r.instance} | {r.plan_dist:.2f} | {r.plan_veh} "
            f"| {r.gap:.2f} | {r.gap_hier:.2f} | {r.raw_dist:.2f} | {r.raw_gap:.2f} "
            f"| {r.plan_wall:.3f} | {r.raw_wall:.3f} | {r.violations} |"
        )
    return "\n".join(out)


def run_scenario(repeats: int) -> str:
    from routing.scenario import bac_ninh_day, new_booking
    from routing.windows import offerable_windows

    lines = []
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
        f"{p.duration / 3600:.1f} courier-hours"
    )
    for budget in (2.0, 0.3):
        t0 = time.perf_counter()
        q = plan(problem, time_limit_s=budget)
        w = time.perf_counter() - t0
        lines.append(
            f"  same day at {budget} s: engine {q.engine}, wall {w:.2f} s, {len(q.unassigned)} "
            f"unassigned, {len(check_plan(problem, q))} violations, {q.distance / 1000:.1f} km"
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, action="append", help="budget(s) in s")
    ap.add_argument("--quick", action="store_true", help="7+7 instances instead of 29+29")
    ap.add_argument("--part", choices=["all", "bench", "scenario"], default="all")
    ap.add_argument(
        "--engines", default="auto", help="comma list of planner engines: auto,pyvrp,vroom"
    )
    ap.add_argument("--json", type=Path, help="write per-instance rows here")
    ap.add_argument("--bookings", type=int, default=30)
    args = ap.parse_args()
    budgets = args.time_limit or [2.0, 0.3]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, budgets {budgets}")
    if args.part in ("all", "bench"):
        rows = run_benchmark(budgets, args.quick, args.engines.split(","))
        print(summarise(rows))
        if args.json:
            args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=1))
    if args.part in ("all", "scenario"):
        print(run_scenario(args.bookings))


if __name__ == "__main__":
    main()
