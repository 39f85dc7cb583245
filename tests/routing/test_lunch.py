"""Lunch on (the default of ``core.settings``): 45 minutes starting 11:30-13:00, and no
feasible stop is left out for it, by the planner, the insertion or the booking-window check.

Times are seconds from midnight; distance = time on the line (``routing_cases``).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from routing.feasibility import check_plan
from routing.model import Break, Plan, Problem, Shipment, TimeWindow
from routing.planner import BREAK, plan, schedule_routes
from routing.scenario import biggest_ward_post_offices, new_booking, province_day
from routing.windows import insertion_cost, offerable_windows
from tests.routing.routing_cases import line_problem, stop, veh

H = 3600
SHIFT = TimeWindow(7 * H + 1800, 17 * H + 1800)
LUNCH = Break(TimeWindow(11 * H + 1800, 13 * H), 45 * 60)
OFFICE = (7 * H + 1800, 17 * H)
MORNING = (8 * H, 10 * H)
STRADDLING = (11 * H, 14 * H)  # open before, through and after lunch
AT_NOON = (12 * H, 13 * H + 1800)  # opens while the courier would be at lunch
AFTERNOON = (13 * H + 1800, 15 * H + 1800)


def _ship(name: str, home: int, window: tuple[int, int]) -> Shipment:
    # a dossier: picked up at a home in the citizen's window, dropped at the office (x=0 side)
    return Shipment(
        name,
        stop(f"{name}-p", home, window, service=300),
        stop(f"{name}-d", 1, OFFICE, service=240),
    )


def lunch_day(couriers: int, brk: Break | None = LUNCH) -> Problem:
    homes = [600, 900, 1200, 1500, 1800, 2100, 2400, 2700]
    windows = [MORNING, MORNING, AFTERNOON, AFTERNOON, STRADDLING, STRADDLING, AT_NOON, MORNING]
    ships = [_ship(f"s{i}", i + 2, w) for i, w in enumerate(windows)]
    vehicles = [veh(f"c{k}", shift=SHIFT, capacity=25, brk=brk) for k in range(couriers)]
    return line_problem([0, 300, *homes], vehicles, shipments=ships)


def breaks_of(result: Plan) -> dict[str, list[float]]:
    return {r.vehicle_id: [v.start for v in r.visits if v.kind == "break"] for r in result.routes}


@pytest.mark.parametrize("couriers", [1, 2])
@pytest.mark.parametrize("engine", ["auto", "pyvrp"])
def test_a_day_with_lunch_plans_every_feasible_stop(couriers: int, engine: str) -> None:
    problem = lunch_day(couriers)
    result = plan(problem, time_limit_s=0.5, engine=engine)
    assert check_plan(problem, result) == []
    assert result.unassigned == ()
    for route in result.routes:
        lunch = [v for v in route.visits if v.kind == "break"]
        assert len(lunch) == 1
        assert LUNCH.window.start <= lunch[0].start <= LUNCH.window.end
        assert lunch[0].departure - lunch[0].start == pytest.approx(45 * 60)
        # nobody is served during lunch
        for v in route.visits:
            if v.kind != "break":
                assert v.departure <= lunch[0].start + 1e-6 or v.start >= lunch[0].departure - 1e-6


def test_the_checker_refuses_a_day_that_skips_lunch_or_takes_it_late() -> None:
    problem = lunch_day(1)
    result = plan(problem, time_limit_s=0.3)
    seq = [v.stop_id for v in result.routes[0].visits]
    no_lunch = schedule_routes(problem, {"c0": [s for s in seq if s != BREAK]})
    assert "break" in {v.kind for v in check_plan(problem, no_lunch)}
    late = schedule_routes(problem, {"c0": [*[s for s in seq if s != BREAK], BREAK]})
    assert "break" in {v.kind for v in check_plan(problem, late)}


def _exhaustive(problem: Problem, current: Plan, sh: Shipment) -> bool:
    """Whether any courier's route takes ``sh`` at some pair of positions (the break kept,
    or placed anywhere on an empty route) with the independent checker passing."""
    bigger = replace(problem, shipments=(*problem.shipments, sh))
    base = {r.vehicle_id: [v.stop_id for v in r.visits] for r in current.routes}
    for courier in problem.vehicles:
        seq = base.get(courier.id, [])
        if not seq and courier.brk is not None:
            seq = [BREAK]
        for i, j in itertools.combinations_with_replacement(range(len(seq) + 1), 2):
            trial = seq[:i] + [sh.pickup.id] + seq[i:j] + [sh.drop.id] + seq[j:]
            tries = [trial]
            if seq == [BREAK]:
                plain = [s for s in trial if s != BREAK]
                tries = [plain[:k] + [BREAK] + plain[k:] for k in range(len(plain) + 1)]
            for t in tries:
                candidate = schedule_routes(
                    bigger, {**base, courier.id: t}, unassigned=current.unassigned
                )
                if not check_plan(bigger, candidate):
                    return True
    return False


def test_booking_windows_around_lunch_are_offered_and_a_window_through_lunch_is_not() -> None:
    # One courier, a fixed-time stop 11:30-12:30 and another at 13:15 at the same place: lunch
    # can only be 12:30-13:15 between them. A new pickup there at 12:30-13:15 fits only by
    # working through lunch; 10:00-11:00 (before) and 13:30-15:30 (after) fit.
    def day(brk: Break | None) -> tuple[Problem, Plan]:
        jobs_ships = [
            Shipment("busy", stop("b-p", 2, (11 * H + 1800, 11 * H + 1800), service=H),
                     stop("b-d", 2, (12 * H + 1800 - 1, 12 * H + 1800), service=0)),
            Shipment("next", stop("n-p", 2, (13 * H + 900, 13 * H + 900), service=300),
                     stop("n-d", 1, OFFICE, service=240)),
        ]  # fmt: skip
        problem = line_problem([0, 300, 900], [veh("c0", shift=SHIFT, brk=brk)],
                               shipments=jobs_ships)  # fmt: skip
        lunch = [BREAK] if brk is not None else []
        current = schedule_routes(problem, {"c0": ["b-p", "b-d", *lunch, "n-p", "n-d"]})
        assert check_plan(problem, current) == []
        return problem, current

    booking = Shipment("new", stop("new-p", 2, service=300), stop("new-d", 1, OFFICE, service=240))
    before = TimeWindow(10 * H, 11 * H)
    through = TimeWindow(12 * H + 1800, 13 * H + 900)
    after = TimeWindow(13 * H + 1800, 15 * H + 1800)
    problem, current = day(LUNCH)
    assert offerable_windows(problem, current, booking, [before, through, after]) == [before, after]
    for w, fits in ((before, True), (through, False), (after, True)):
        sh = replace(booking, pickup=replace(booking.pickup, window=w))
        assert _exhaustive(problem, current, sh) is fits, w
    # Without lunch the middle window fits: the lunch is what keeps it from being offered.
    problem, current = day(None)
    assert through in offerable_windows(problem, current, booking, [before, through, after])


def test_a_stop_fits_just_before_lunch_which_then_moves_to_it() -> None:
    # The route is "morning shipment, lunch, afternoon shipment". A new pickup in 10:00-12:00
    # can only go between the morning drop (due by 9:15) and lunch (after lunch is 12:15 or
    # later): the break is then taken where the new drop leaves the courier.
    ships = [
        Shipment(
            "am",
            stop("am-p", 2, (9 * H, 9 * H), service=300),
            stop("am-d", 1, (9 * H, 9 * H + 900)),
        ),
        Shipment("pm", stop("pm-p", 2, AFTERNOON, service=300), stop("pm-d", 1, OFFICE)),
    ]
    problem = line_problem([0, 300, 900, 1200], [veh("c0", shift=SHIFT, brk=LUNCH)],
                           shipments=ships)  # fmt: skip
    current = schedule_routes(problem, {"c0": ["am-p", "am-d", BREAK, "pm-p", "pm-d"]})
    assert check_plan(problem, current) == []
    sh = Shipment("new", stop("new-p", 3, (10 * H, 12 * H), service=300), stop("new-d", 1, OFFICE))
    assert insertion_cost(problem, current, sh) is not None
    assert _exhaustive(problem, current, sh)
    bigger = replace(problem, shipments=(*problem.shipments, sh))
    moved = schedule_routes(
        bigger, {"c0": ["am-p", "am-d", "new-p", "new-d", BREAK, "pm-p", "pm-d"]}
    )
    assert check_plan(bigger, moved) == []


def test_on_an_empty_day_lunch_is_planned_around_the_new_stop() -> None:
    problem = line_problem([0, 300, 900], [veh("c0", shift=SHIFT, brk=LUNCH)])
    empty = Plan((), (), "empty")
    windows = [TimeWindow(*w) for w in (MORNING, (10 * H, 12 * H), AFTERNOON)]
    booking = Shipment("new", stop("new-p", 2, service=300), stop("new-d", 1, OFFICE, service=240))
    assert offerable_windows(problem, empty, booking, windows) == windows


def test_what_insertion_offers_on_a_lunch_day_is_feasible_with_the_break() -> None:
    # A smaller Bắc Ninh day (routing.scenario, lunch on): every window the insertion check
    # offers is confirmed by re-timing a route with the booking and checking it.
    problem = province_day("24", biggest_ward_post_offices("24", 2), stops=40, couriers=3, seed=4)
    current = plan(problem, time_limit_s=0.5)
    assert check_plan(problem, current) == []
    offered = 0
    for k in range(4):
        extended, booking, candidates = new_booking(problem, seed=k)
        for w in offerable_windows(extended, current, booking, candidates):
            offered += 1
            sh = replace(booking, pickup=replace(booking.pickup, window=w))
            assert _exhaustive(extended, current, sh), (k, w)
    assert offered > 0
