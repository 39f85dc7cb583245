"""Planner on small hand-made problems; every plan goes through the independent checker."""

from __future__ import annotations

import csv
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from routing.feasibility import check_plan
from routing.model import Break, Job, Plan, Problem, Shipment, TimeWindow
from routing.planner import PlanningError, plan, start_workers
from tests.routing.routing_cases import line_problem, stop, veh

# "auto" is the portfolio (both solvers side by side), the others one solver alone.
ENGINES = ["auto", "pyvrp", "vroom"]


def solve(problem: Problem, engine: str = "auto", limit: float = 0.3) -> Plan:
    result = plan(problem, time_limit_s=limit, engine=engine)
    assert check_plan(problem, result) == []
    return result


def order(result: Plan, vid: str) -> list[str]:
    route = result.route_of(vid)
    return [] if route is None else [v.stop_id for v in route.visits]


@pytest.mark.parametrize("engine", ENGINES)
def test_pairing_precedence_and_windows(engine: str) -> None:
    # two shipments whose windows force an interleaving: p1 p2 d1 d2
    ships = [
        Shipment("s1", stop("p1", 1, (100, 200)), stop("d1", 3, (300, 400))),
        Shipment("s2", stop("p2", 2, (150, 250)), stop("d2", 4, (450, 600))),
    ]
    prob = line_problem([0, 100, 150, 300, 450], [veh("a")], shipments=ships)
    result = solve(prob, engine)
    assert result.unassigned == ()
    assert order(result, "a") == ["p1", "p2", "d1", "d2"]
    visits = result.routes[0].visits
    assert [v.load_after for v in visits] == [1, 2, 1, 0]
    assert visits[0].start == pytest.approx(100)


@pytest.mark.parametrize("engine", ENGINES)
def test_capacity_splits_the_work(engine: str) -> None:
    jobs = [Job(stop(f"j{i}", i + 1), delivery=1) for i in range(4)]
    prob = line_problem(
        [0, 10, 20, 30, 40], [veh("a", capacity=2), veh("b", capacity=2)], jobs=jobs
    )
    result = solve(prob, engine)
    assert result.unassigned == ()
    assert sorted(len(r.visits) for r in result.routes) == [2, 2]


@pytest.mark.parametrize("engine", ENGINES)
def test_stop_beyond_shift_end_is_unassigned_with_reason(engine: str) -> None:
    jobs = [Job(stop("near", 1)), Job(stop("far", 2))]
    prob = line_problem([0, 100, 6000], [veh("a", shift=TimeWindow(0, 5000))], jobs=jobs)
    result = solve(prob, engine)
    assert order(result, "a") == ["near"]
    (u,) = result.unassigned
    assert u.task_id == "far" and "shift" in u.reason


@pytest.mark.parametrize("engine", ENGINES)
def test_conflicting_windows_leave_one_out_with_a_reason(engine: str) -> None:
    # both must be served at 1000 exactly, 500 s apart: one courier cannot do both
    jobs = [Job(stop("x", 1, (1000, 1000))), Job(stop("y", 2, (1000, 1000)))]
    prob = line_problem([0, 500, 1000], [veh("a")], jobs=jobs)
    result = solve(prob, engine)
    assert len(result.unassigned) == 1
    assert "no room" in result.unassigned[0].reason


@pytest.mark.parametrize("engine", ENGINES)
def test_break_is_planned_inside_its_window(engine: str) -> None:
    jobs = [Job(stop(f"j{i}", i + 1, (0, 5000), service=600)) for i in range(4)]
    brk = Break(TimeWindow(1200, 1500), 900)
    prob = line_problem([0, 50, 100, 150, 200], [veh("a", brk=brk)], jobs=jobs)
    result = solve(prob, engine)
    assert result.unassigned == ()
    breaks = [v for v in result.routes[0].visits if v.kind == "break"]
    assert len(breaks) == 1 and 1200 <= breaks[0].start <= 1500
    assert breaks[0].departure - breaks[0].start == 900


# One courier, lunch to start between 11:30 and 13:00, one result to take from an office
# (open from 7:30) to a home by 8:00-10:00: "pick up, deliver, lunch" is feasible, but
# pyvroom 1.15.2 will not make a courier wait for the break window after the last stop
# and leaves the shipment out (a single job with the same window it does place).
_MORNING_ONLY = line_problem(
    [0, 300, 600],
    [veh("a", shift=TimeWindow(7 * 3600, 17 * 3600), brk=Break(TimeWindow(41400, 46800), 2700))],
    shipments=[
        Shipment(
            "morning",
            stop("office", 1, (7 * 3600 + 1800, 17 * 3600)),
            stop("home", 2, (8 * 3600, 10 * 3600), service=300),
        )
    ],
)


@pytest.mark.parametrize("engine", ["auto", "pyvrp"])
def test_with_a_lunch_break_a_feasible_morning_stop_is_not_left_out(engine: str) -> None:
    result = solve(_MORNING_ONLY, engine)
    assert result.unassigned == ()
    assert result.engine == "pyvrp"
    kinds = [v.kind for v in result.routes[0].visits]
    assert kinds == ["pickup", "drop", "break"]


def test_vroom_alone_leaves_the_morning_stop_out_which_is_why_pyvrp_runs_beside_it() -> None:
    # The reason for the portfolio with breaks; if a pyvroom upgrade fixes this, the
    # comment above and docs/dispatch.md need updating.
    result = solve(_MORNING_ONLY, "vroom")
    assert [u.task_id for u in result.unassigned] == ["morning"]


def test_breaks_for_several_couriers_each_take_exactly_one() -> None:
    brk = Break(TimeWindow(3000, 4000), 600)
    jobs = [Job(stop(f"j{i}", i % 6 + 1, (0, 9000), service=300), delivery=1) for i in range(12)]
    vehicles = [veh(f"v{k}", capacity=5, brk=brk) for k in range(3)]
    prob = line_problem([0, 100, 200, 300, -100, -200, -300], vehicles, jobs=jobs)
    result = solve(prob, "auto", limit=1.0)
    assert result.unassigned == ()
    for route in result.routes:
        assert sum(v.kind == "break" for v in route.visits) == 1


def test_the_portfolio_keeps_the_best_checked_plan_of_both_solvers() -> None:
    jobs = [Job(stop(f"j{i}", i % 40 + 1, (0, 9000)), delivery=1) for i in range(50)]
    prob = line_problem(
        [0, *[(7 * i) % 500 for i in range(1, 41)]], [veh(f"v{k}") for k in range(6)], jobs=jobs
    )
    result = solve(prob, "auto", limit=1.0)
    assert result.unassigned == ()
    # Every candidate was checked; what came back is the cheapest clean one.
    costs = [
        float(line.rsplit("cost ", 1)[1]) for line in result.trace if "unassigned, cost" in line
    ]
    assert any(line.startswith("vroom:") for line in result.trace), result.trace
    assert any(line.startswith("pyvrp") for line in result.trace), result.trace
    assert result.duration == pytest.approx(min(costs), abs=0.01)


@pytest.mark.parametrize("engine", ENGINES)
def test_skills_send_the_job_to_the_courier_who_has_them(engine: str) -> None:
    # b is far away but the only one with the skill
    jobs = [Job(stop("bulky", 1), skills=frozenset({"cold-chain"})), Job(stop("plain", 3))]
    prob = line_problem(
        [0, 10, 900, -50],
        [veh("a", loc=0), veh("b", loc=2, skills=frozenset({"cold-chain"}))],
        jobs=jobs,
    )
    result = solve(prob, engine)
    assert "bulky" in order(result, "b")
    assert order(result, "a") == ["plain"]


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_skill_is_reported(engine: str) -> None:
    prob = line_problem([0, 10], [veh("a")], jobs=[Job(stop("j", 1), skills=frozenset({"x"}))])
    result = solve(prob, engine)
    assert result.unassigned[0].task_id == "j"
    assert "skill" in result.unassigned[0].reason


@pytest.mark.parametrize("engine", ENGINES)
def test_lock_pins_a_shipment_to_its_courier(engine: str) -> None:
    ships = [Shipment("s", stop("p", 1), stop("d", 2), locked_to="far")]
    prob = line_problem([0, 10, 20, 5000], [veh("near", loc=0), veh("far", loc=3)], shipments=ships)
    result = solve(prob, engine)
    assert order(result, "far") == ["p", "d"]
    assert result.route_of("near") is None


@pytest.mark.parametrize("engine", ENGINES)
def test_fixed_prefix_is_kept_and_the_rest_planned_after_it(engine: str) -> None:
    ships = [
        Shipment("s1", stop("p1", 3), stop("d1", 1)),  # picked up already, still on board
        Shipment("s2", stop("p2", 2), stop("d2", 4)),
    ]
    jobs = [Job(stop("j", 1))]
    # courier a has done j then p1, in that order, even though p1 is out of the way
    a = veh("a", fixed_prefix=("j", "p1"), available_at=2000)
    prob = line_problem([0, 100, 200, 900, 300], [a, veh("b", loc=0)], jobs=jobs, shipments=ships)
    result = solve(prob, engine)
    seq = order(result, "a")
    assert seq[:2] == ["j", "p1"]
    assert "d1" in seq  # the dossier on board can only be dropped by a
    rest = result.route_of("a")
    assert rest is not None
    after = [v for v in rest.visits if v.stop_id not in ("j", "p1")]
    assert all(v.start >= 2000 for v in after)
    assert result.unassigned == ()


def test_prefix_that_drops_before_pickup_is_rejected() -> None:
    ships = [Shipment("s", stop("p", 1), stop("d", 2))]
    prob = line_problem([0, 10, 20], [veh("a", fixed_prefix=("d",))], shipments=ships)
    with pytest.raises(PlanningError):
        plan(prob, time_limit_s=0.1)


def _many_jobs(capacity: int) -> Problem:
    jobs = [Job(stop(f"j{i}", i % 40 + 1, (0, 9000)), delivery=1) for i in range(120)]
    return line_problem(
        [0, *[(7 * i) % 500 for i in range(1, 41)]],
        [veh(f"v{k}", capacity=capacity) for k in range(6)],
        jobs=jobs,
    )


def test_time_limit_is_respected() -> None:
    # The VROOM child is started once per process (about half a second); a server starts
    # it at start-up, so it is not part of a plan's budget.
    start_workers()
    prob = _many_jobs(capacity=25)
    for engine in ENGINES:
        for limit in (0.3, 1.0):
            t0 = time.perf_counter()
            result = plan(prob, time_limit_s=limit, engine=engine)
            wall = time.perf_counter() - t0
            # VROOM alone: its construction phase is not timed and runs over on a loaded
            # machine (0.72 s for 0.3 s measured at load 20); the portfolio does not wait
            # for it.
            slack = 0.75 if engine == "vroom" else 0.25
            assert wall < limit + slack, (engine, limit, wall, result.trace)
            assert check_plan(prob, result) == []
            assert result.unassigned == ()


def test_an_over_full_day_gets_vroom_plan_of_what_fits_about_on_time() -> None:
    # 120 parcels, 60 places: PyVRP (every stop required) finds no plan; VROOM's, which
    # leaves stops out, is waited for a little past the deadline if its child is late.
    prob = _many_jobs(capacity=10)
    t0 = time.perf_counter()
    result = plan(prob, time_limit_s=0.5)
    assert time.perf_counter() - t0 < 0.5 + 0.5
    assert check_plan(prob, result) == []
    assert len(result.unassigned) == 60
    assert all("no room" in u.reason for u in result.unassigned)


def _data() -> Path | None:
    here = Path(__file__).resolve().parents[2]
    for p in (
        here.parent / "shared" / "bench" / "routing" / "data",
        Path(os.environ.get("HOSO_BENCH_DATA", "/nonexistent")),
    ):
        if p.is_dir():
            return p
    return None


def test_solomon_r101_within_a_few_percent_of_best_known() -> None:
    data = _data()
    if data is None:
        pytest.skip("benchmark data not available")
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "routing"))
    from instances import read_solomon

    prob = read_solomon(data / "solomon" / "R101.txt")
    with open(data / "bks_solomon.csv") as fh:
        bks = {r["instance"]: float(r["bks_dist_distance"]) for r in csv.DictReader(fh)}
    result = solve(prob, limit=1.0)
    assert result.unassigned == ()
    assert result.distance <= bks["R101"] * 1.03


@pytest.mark.parametrize("engine", ENGINES)
def test_courier_with_nothing_done_yet_starts_no_earlier_than_now(engine: str) -> None:
    # Re-planning at t=500 for a courier with no fixed prefix: the stop's window opened at
    # 0, but nothing may be planned before "now" (found when the dispatch service re-timed
    # a mid-morning re-plan from the start of the shift).
    ships = [Shipment("s", stop("p", 1, (0, 2000)), stop("d", 2))]
    prob = line_problem([0, 100, 200], [veh("a", available_at=500)], shipments=ships)
    result = solve(prob, engine)
    visits = result.routes[0].visits
    assert visits[0].start >= 500 + 100
    early = Plan(
        tuple(replace(r, visits=tuple(replace(v, start=v.start - 400) for v in r.visits))
              for r in result.routes),
        (), "edited",
    )  # fmt: skip
    assert any(v.kind == "shift" for v in check_plan(prob, early))
