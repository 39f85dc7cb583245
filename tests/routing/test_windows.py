from __future__ import annotations

import statistics
import time
from dataclasses import replace

from routing.feasibility import check_plan
from routing.model import Job, Plan, Problem, Shipment, TimeWindow
from routing.planner import plan
from routing.scenario import bac_ninh_day, new_booking
from routing.windows import insertion_cost, offerable_windows
from tests.routing.routing_cases import line_problem, stop, veh

MORNING = TimeWindow(1000, 2000)
NOON = TimeWindow(4000, 5000)
EVENING = TimeWindow(9000, 9500)


def small_day() -> tuple[Problem, Plan, Shipment]:
    # one courier, shift 0-8000, busy at x=500 from 4000 to 5000 (a long fixed service)
    jobs = [Job(stop("busy", 1, (4000, 4000), service=1000))]
    prob = line_problem([0, 500, 100, 50], [veh("a", shift=TimeWindow(0, 8000))], jobs=jobs)
    current = plan(prob, time_limit_s=0.2)
    assert check_plan(prob, current) == []
    booking = Shipment("new", stop("np", 2, service=300), stop("nd", 3, service=60))
    return prob, current, booking


def test_offers_only_windows_that_fit() -> None:
    prob, current, booking = small_day()
    ok = offerable_windows(prob, current, booking, [MORNING, NOON, EVENING])
    # noon collides with the busy stop, evening is after the shift
    assert ok == [MORNING]


def test_offered_windows_are_confirmed_by_the_planner() -> None:
    prob, current, booking = small_day()
    for w in (MORNING, NOON, EVENING):
        sh = replace(booking, pickup=replace(booking.pickup, window=w))
        bigger = replace(prob, shipments=(sh,))
        result = plan(bigger, time_limit_s=0.2)
        assert check_plan(bigger, result) == []
        fits = not result.unassigned
        assert fits == (insertion_cost(prob, current, sh) is not None), w


def test_booking_page_speed_on_a_300_stop_day() -> None:
    problem = bac_ninh_day(stops=300, couriers=15, seed=3)
    current = plan(problem, time_limit_s=1.0)
    times = []
    offered = 0
    for k in range(7):
        extended, booking, candidates = new_booking(problem, seed=k)
        t0 = time.perf_counter()
        offered += len(offerable_windows(extended, current, booking, candidates))
        times.append(time.perf_counter() - t0)
    assert statistics.median(times) < 0.3
    assert offered > 0
