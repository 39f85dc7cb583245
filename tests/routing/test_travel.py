from __future__ import annotations

import numpy as np
import pytest

from routing.model import Location
from routing.travel import great_circle_matrix, haversine_matrix, with_locations
from tests.routing.routing_cases import line_problem, veh

ONE_DEGREE_M = 111_195.080  # 2*pi*6371008.8 / 360, by hand


def test_one_degree_of_latitude() -> None:
    d = haversine_matrix([0.0, 1.0], [105.0, 105.0])
    assert d[0, 1] == pytest.approx(ONE_DEGREE_M, abs=0.01)
    assert d[1, 0] == d[0, 1]
    assert d[0, 0] == 0.0


def test_one_degree_of_longitude_at_60_north() -> None:
    # 2R asin(cos 60 * sin 0.5deg), computed by hand: 55 597.011 m (not half of 1 degree
    # of latitude, because the great circle bows towards the pole)
    d = haversine_matrix([60.0, 60.0], [10.0, 11.0])
    assert d[0, 1] == pytest.approx(55_597.011, abs=0.01)


def test_duration_uses_detour_and_speed_by_area() -> None:
    locs = [
        Location("a", 21.0, 106.0, "urban"),
        Location("b", 21.01, 106.0, "urban"),
        Location("c", 21.0, 106.01, "rural"),
        Location("d", 21.01, 106.01, "rural"),
    ]
    m = great_circle_matrix(locs)
    crow_ab = 0.01 * ONE_DEGREE_M
    assert m.distance[0, 1] == pytest.approx(crow_ab * 1.3, rel=1e-6)
    assert m.duration[0, 1] == pytest.approx(crow_ab * 1.3 / (18 / 3.6), rel=1e-6)
    assert m.distance[2, 3] == pytest.approx(crow_ab * 1.4, rel=1e-6)
    assert m.duration[2, 3] == pytest.approx(crow_ab * 1.4 / (30 / 3.6), rel=1e-6)
    # an urban-rural leg takes the mean of both ends' factors
    crow_ac = haversine_matrix([21.0, 21.0], [106.0, 106.01])[0, 1]
    assert m.distance[0, 2] == pytest.approx(crow_ac * 1.35, rel=1e-9)
    assert m.duration[0, 2] == pytest.approx(crow_ac * 1.35 / (24 / 3.6), rel=1e-9)
    np.testing.assert_allclose(m.duration, m.duration.T)


def test_cache_hits_on_coordinates_equal_after_rounding() -> None:
    a = [Location("a", 21.123451, 106.0), Location("b", 21.2, 106.1)]
    b = [Location("x", 21.1234512, 106.0), Location("y", 21.2, 106.1)]
    c = [Location("x", 21.1236, 106.0), Location("y", 21.2, 106.1)]
    assert great_circle_matrix(a) is great_circle_matrix(b)
    assert great_circle_matrix(a) is not great_circle_matrix(c)


def test_with_locations_matches_a_full_rebuild() -> None:
    base = [Location("a", 21.0, 106.0, "urban"), Location("b", 21.1, 106.2, "rural")]
    new = [Location("c", 21.05, 106.1, "rural"), Location("d", 21.2, 106.0, "urban")]
    prob = line_problem([0, 1], [veh("v")])
    prob = type(prob)(tuple(base), great_circle_matrix(base), prob.vehicles)
    ext, idx = with_locations(prob, new)
    assert idx == [2, 3]
    full = great_circle_matrix(base + new)
    np.testing.assert_allclose(ext.matrix.distance, full.distance, rtol=1e-12)
    np.testing.assert_allclose(ext.matrix.duration, full.duration, rtol=1e-12)
