"""Travel matrices from great-circle distance when no road router is configured.

Road distance is estimated as the haversine distance times a detour ("circuity") factor,
and time as that distance over a motorbike speed for the kind of area. The factors are
deliberately simple and per leg the average of the two ends, so the matrix stays
symmetric and a courier's ETA does not depend on which end of a leg is the town.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from routing.model import AreaType, Location, Problem, TravelMatrix

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius

# Why 1.3 / 1.4: network-to-straight-line ratios measured in many countries cluster at
# about 1.2-1.3 inside towns with a dense street grid and 1.4 or more where the network is
# sparse. In the Red River delta the rural network follows dykes, canals and field
# boundaries and crosses rivers only at bridges, so rural legs detour more than urban ones.
DEFAULT_DETOUR: Mapping[AreaType, float] = MappingProxyType({"urban": 1.3, "rural": 1.4})

# Average motorbike speeds door to door, including junctions and parking: town traffic is
# slow (about 18 km/h), commune roads are emptier but narrow (about 30 km/h).
DEFAULT_SPEED_KMH: Mapping[AreaType, float] = MappingProxyType({"urban": 18.0, "rural": 30.0})

_CACHE_SIZE = 16
# Rounding to 5 decimals (about 1 m) lets a re-plan with the same stops reuse the matrix
# even if coordinates were re-parsed with a last-digit difference.
_COORD_DECIMALS = 5
_cache: OrderedDict[tuple[object, ...], TravelMatrix] = OrderedDict()


def haversine_matrix(
    lats: npt.ArrayLike, lons: npt.ArrayLike, *, radius_m: float = EARTH_RADIUS_M
) -> npt.NDArray[np.float64]:
    """Great-circle distances in metres between every pair of points."""
    lat = np.radians(np.asarray(lats, dtype=np.float64))
    lon = np.radians(np.asarray(lons, dtype=np.float64))
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    # clip guards against a > 1 from rounding for antipodal points
    out: npt.NDArray[np.float64] = 2 * radius_m * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return out


def great_circle_matrix(
    locations: Sequence[Location],
    *,
    detour: Mapping[AreaType, float] = DEFAULT_DETOUR,
    speed_kmh: Mapping[AreaType, float] = DEFAULT_SPEED_KMH,
) -> TravelMatrix:
    """Distance (m) and duration (s) estimated from coordinates; cached by rounded coords."""
    key = (
        tuple(
            (round(loc.lat, _COORD_DECIMALS), round(loc.lon, _COORD_DECIMALS), loc.area)
            for loc in locations
        ),
        tuple(sorted(detour.items())),
        tuple(sorted(speed_kmh.items())),
    )
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit

    crow = haversine_matrix([loc.lat for loc in locations], [loc.lon for loc in locations])
    det = np.array([detour[loc.area] for loc in locations], dtype=np.float64)
    speed_ms = np.array([speed_kmh[loc.area] / 3.6 for loc in locations], dtype=np.float64)
    leg_detour = (det[:, None] + det[None, :]) / 2
    leg_speed = (speed_ms[:, None] + speed_ms[None, :]) / 2
    distance = crow * leg_detour
    duration = distance / leg_speed
    distance.setflags(write=False)
    duration.setflags(write=False)
    matrix = TravelMatrix(distance=distance, duration=duration, source="great_circle")

    _cache[key] = matrix
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return matrix


def euclidean_matrix(
    xs: npt.ArrayLike, ys: npt.ArrayLike, *, source: str = "euclidean"
) -> TravelMatrix:
    """Plane distances with time equal to distance, as in the Solomon/Li & Lim benchmarks."""
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    d.setflags(write=False)
    return TravelMatrix(distance=d, duration=d, source=source)


def with_locations(
    problem: Problem,
    new: Sequence[Location],
    *,
    detour: Mapping[AreaType, float] = DEFAULT_DETOUR,
    speed_kmh: Mapping[AreaType, float] = DEFAULT_SPEED_KMH,
) -> tuple[Problem, list[int]]:
    """The problem with ``new`` locations appended, and their indices.

    Only the new rows and columns are estimated (great-circle), so a booking-page check
    does not rebuild a matrix that may have come from a road router.
    """
    if not new:
        return problem, []
    n = len(problem.locations)
    allp = list(problem.locations) + list(new)
    lats = np.array([loc.lat for loc in allp])
    lons = np.array([loc.lon for loc in allp])
    crow = haversine_matrix(lats[n:], lons[n:])  # new x new
    lat_n, lon_n = np.radians(lats[n:])[:, None], np.radians(lons[n:])[:, None]
    lat_a, lon_a = np.radians(lats)[None, :], np.radians(lons)[None, :]
    a = (
        np.sin((lat_n - lat_a) / 2) ** 2
        + np.cos(lat_n) * np.cos(lat_a) * np.sin((lon_n - lon_a) / 2) ** 2
    )
    cross = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))  # new x all
    cross[:, n:] = crow
    det = np.array([detour[loc.area] for loc in allp])
    spd = np.array([speed_kmh[loc.area] / 3.6 for loc in allp])
    leg_det = (det[n:, None] + det[None, :]) / 2
    leg_spd = (spd[n:, None] + spd[None, :]) / 2
    new_dist = cross * leg_det
    new_dur = new_dist / leg_spd

    m = len(allp)
    dist = np.empty((m, m))
    dur = np.empty((m, m))
    dist[:n, :n] = problem.matrix.distance
    dur[:n, :n] = problem.matrix.duration
    dist[n:, :] = new_dist
    dist[:, n:] = new_dist.T
    dur[n:, :] = new_dur
    dur[:, n:] = new_dur.T
    dist.setflags(write=False)
    dur.setflags(write=False)
    matrix = TravelMatrix(dist, dur, problem.matrix.source + "+great_circle")
    return replace(problem, locations=tuple(allp), matrix=matrix), list(range(n, m))
