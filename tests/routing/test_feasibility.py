"""The checker catches each kind of violation on deliberately broken plans."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from routing.feasibility import Violation, check_plan
from routing.model import Break, Job, Plan, Problem, Shipment, TimeWindow, Unassigned
from routing.planner import schedule_routes
from tests.routing.routing_cases import line_problem, stop, veh


def kinds(violations: list[Violation]) -> set[str]:
    return {v.kind for v in violations}


def base(**vehicle_kw: Any) -> Problem:
    ships = [
        Shipment("s1", stop("p1", 1, (0, 500)), stop("d1", 2, (0, 1000))),
        Shipment("s2", stop("p2", 3, (0, 2000)), stop("d2", 4, (0, 3000))),
    ]
    jobs = [Job(stop("j", 1, service=60), delivery=2)]
    return line_problem(
        [0, 100, 200, 300, 400],
        [veh("a", capacity=3, **vehicle_kw), veh("b", capacity=3)],
        jobs=jobs,
        shipments=ships,
    )


GOOD = {"a": ["j", "p1", "d1", "p2", "d2"]}


def test_good_plan_is_clean() -> None:
    prob = base()
    assert check_plan(prob, schedule_routes(prob, GOOD)) == []


def test_time_window_and_reported_times() -> None:
    prob = base()
    good = schedule_routes(prob, GOOD)
    late = replace(prob, jobs=(Job(stop("j", 1, (0, 50), service=60), delivery=2),))
    assert "time_window" in kinds(check_plan(late, good))
    # a plan claiming to reach a stop faster than the matrix allows
    r = good.routes[0]
    fast = replace(r.visits[2], arrival=r.visits[1].departure, start=r.visits[1].departure)
    tampered = replace(good, routes=(replace(r, visits=(*r.visits[:2], fast, *r.visits[3:])),))
    assert "travel_time" in kinds(check_plan(prob, tampered))


def test_capacity() -> None:
    prob = base()
    plan = schedule_routes(prob, {"a": ["j", "p1", "p2", "d1", "d2"]})
    # 2 on board from the start (delivery j) is delivered at j, then 2 pickups: fine at 3
    assert check_plan(prob, plan) == []
    plan = schedule_routes(prob, {"a": ["p1", "p2", "j", "d1", "d2"]})
    assert "capacity" in kinds(check_plan(prob, plan))


def test_pairing_and_precedence() -> None:
    prob = base()
    split = schedule_routes(prob, {"a": ["j", "p1", "p2", "d2"], "b": ["d1"]})
    assert "pairing" in kinds(check_plan(prob, split))
    backwards = schedule_routes(prob, {"a": ["j", "d1", "p1", "p2", "d2"]})
    assert "precedence" in kinds(check_plan(prob, backwards))


def test_shift_end() -> None:
    prob = base()
    plan = schedule_routes(prob, GOOD)
    short = replace(
        prob, vehicles=(veh("a", capacity=3, shift=TimeWindow(0, 500)), prob.vehicles[1])
    )
    assert "shift" in kinds(check_plan(short, plan))


def test_break_missing_and_outside_window() -> None:
    prob = base(brk=Break(TimeWindow(300, 400), 100))
    assert "break" in kinds(check_plan(prob, schedule_routes(prob, GOOD)))
    with_break = schedule_routes(prob, {"a": ["j", "p1", "break", "d1", "p2", "d2"]})
    assert check_plan(prob, with_break) == []
    too_late = schedule_routes(prob, {"a": ["j", "p1", "d1", "p2", "d2", "break"]})
    assert "break" in kinds(check_plan(prob, too_late))


def test_skills_and_lock() -> None:
    prob = base()
    skilled = replace(
        prob, jobs=(Job(stop("j", 1, service=60), delivery=2, skills=frozenset({"x"})),)
    )
    assert "skills" in kinds(check_plan(skilled, schedule_routes(skilled, GOOD)))
    locked = replace(prob, jobs=(Job(stop("j", 1, service=60), delivery=2, locked_to="b"),))
    assert "lock" in kinds(check_plan(locked, schedule_routes(locked, GOOD)))


def test_each_stop_once_and_every_stop_accounted_for() -> None:
    prob = base()
    twice = schedule_routes(prob, {"a": ["j", "p1", "d1", "p2", "d2"], "b": ["j"]})
    assert "duplicate_stop" in kinds(check_plan(prob, twice))
    missing = schedule_routes(prob, {"a": ["j", "p1", "d1"]})
    assert "missing" in kinds(check_plan(prob, missing))
    explained = replace(missing, unassigned=(Unassigned("s2", ("p2", "d2"), "too far"),))
    assert check_plan(prob, explained) == []
    unexplained = replace(missing, unassigned=(Unassigned("s2", ("p2", "d2"), " "),))
    assert "no_reason" in kinds(check_plan(prob, unexplained))


def test_fixed_prefix_must_lead_the_route() -> None:
    prob = base(fixed_prefix=("p1",))
    assert "prefix" in kinds(check_plan(prob, schedule_routes(prob, GOOD)))
    ok = schedule_routes(prob, {"a": ["p1", "j", "d1", "p2", "d2"]})
    assert "prefix" not in kinds(check_plan(prob, ok))


def test_service_time_and_distance_reports() -> None:
    prob = base()
    good = schedule_routes(prob, GOOD)
    r = good.routes[0]
    cut = replace(r.visits[0], departure=r.visits[0].start + 1)
    plan = replace(good, routes=(replace(r, visits=(cut, *r.visits[1:])),))
    assert "service_time" in kinds(check_plan(prob, plan))
    wrong = replace(good, routes=(replace(r, distance=r.distance - 50),))
    assert "distance" in kinds(check_plan(prob, wrong))


@pytest.mark.parametrize("vid", ["ghost"])
def test_unknown_vehicle(vid: str) -> None:
    prob = base()
    good = schedule_routes(prob, GOOD)
    plan = Plan((replace(good.routes[0], vehicle_id=vid),), (), "test")
    assert "unknown_vehicle" in kinds(check_plan(prob, plan))
