from __future__ import annotations

from routing.admin_units import communes_in_province, province_extents
from routing.feasibility import check_plan
from routing.planner import plan
from routing.scenario import bac_ninh_day, biggest_ward_post_offices


def test_bac_ninh_day_is_real_and_plannable() -> None:
    problem = bac_ninh_day(stops=60, couriers=4, seed=2)
    assert len(problem.shipments) == 30 and len(problem.vehicles) == 4
    ext = province_extents()["24"]
    assert all(ext.contains(loc.lat, loc.lon, margin_deg=0.05) for loc in problem.locations)
    offices = {(c.lat, c.lon) for c in communes_in_province("24")}
    for sh in problem.shipments:
        office = sh.drop if sh.pickup.kind == "home_pickup" else sh.pickup
        loc = problem.locations[office.location]
        assert (loc.lat, loc.lon) in offices
    result = plan(problem, time_limit_s=1.0)
    assert check_plan(problem, result) == []
    assert len(result.unassigned) < len(problem.shipments) // 2


def test_post_offices_are_the_largest_wards() -> None:
    pos = biggest_ward_post_offices("24", 3)
    wards = sorted(
        (c for c in communes_in_province("24") if c.unit_type == "phường"),
        key=lambda c: -c.area_km2,
    )
    assert [(lat, lon) for _, lat, lon in pos] == [(c.lat, c.lon) for c in wards[:3]]
