"""Synthetic but geographically real days for one province, for benchmarks and demos.

Bookings are placed around real commune centroids (``routing.admin_units``) with a jitter
that grows with the commune's area, so a rural commune's homes spread further than a
town ward's. Couriers start at post offices given by the caller.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from routing.admin_units import Commune, communes_in_province
from routing.model import (
    Break,
    Location,
    Problem,
    Shipment,
    Stop,
    TimeWindow,
    Vehicle,
)
from routing.travel import great_circle_matrix, with_locations

PostOffice = tuple[str, float, float]

H = 3600
# Pickup slots a citizen can book; they mirror the half-day slots on the booking page.
BOOKING_SLOTS: tuple[TimeWindow, ...] = (
    TimeWindow(8 * H, 10 * H),
    TimeWindow(10 * H, 12 * H),
    TimeWindow(13 * H + 1800, 15 * H + 1800),
    TimeWindow(15 * H, 17 * H),
)
# One-stop offices receive and release dossiers in office hours (7:30-17:00).
OFFICE_HOURS = TimeWindow(7 * H + 1800, 17 * H)
SHIFT = TimeWindow(7 * H + 1800, 17 * H + 1800)


def biggest_ward_post_offices(province_code: str, count: int) -> list[PostOffice]:
    """Stand-in post offices at the centroids of the province's largest wards by area.

    Real post office coordinates are not in the repository yet; main post offices sit in
    the town centres, and the largest wards (phường) are the merged town centres after
    the 2025 reform, so their centroids are a plausible stand-in.
    """
    wards = [c for c in communes_in_province(province_code) if c.unit_type == "phường"]
    wards.sort(key=lambda c: c.area_km2, reverse=True)
    return [(f"Bưu cục {c.name}", c.lat, c.lon) for c in wards[:count]]


def _jitter(rng: random.Random, c: Commune) -> tuple[float, float]:
    # Homes within roughly a third of the commune's "radius" of its centroid.
    radius_km = math.sqrt(max(c.area_km2, 1.0) / math.pi) / 3
    dlat = rng.gauss(0, radius_km) / 111.0
    dlon = rng.gauss(0, radius_km) / (111.0 * math.cos(math.radians(c.lat)))
    return c.lat + dlat, c.lon + dlon


def province_day(
    province_code: str,
    post_offices: Sequence[PostOffice],
    *,
    stops: int = 300,
    couriers: int = 15,
    seed: int = 0,
    capacity: int = 25,
    breaks: bool = True,
    result_share: float = 0.4,
) -> Problem:
    """A day of ``stops // 2`` paired shipments in one province.

    A dossier shipment goes from a home to the commune's one-stop office (placed at the
    commune centroid); a result shipment goes the other way. Couriers are spread evenly
    over the post offices; each home is served from any of them (no zones).
    """
    rng = random.Random(seed)
    communes = list(communes_in_province(province_code))
    if not communes or not post_offices:
        raise ValueError("need communes and at least one post office")
    locations: list[Location] = [
        Location(name, lat, lon, "urban") for name, lat, lon in post_offices
    ]
    office_loc: dict[str, int] = {}
    # Urban wards are denser: weight communes by area, doubled for urban ones.
    weights = [c.area_km2 * (2.0 if c.area_type == "urban" else 1.0) for c in communes]
    shipments: list[Shipment] = []
    for k in range(stops // 2):
        c = rng.choices(communes, weights)[0]
        if c.code not in office_loc:
            office_loc[c.code] = len(locations)
            locations.append(Location(f"office {c.code}", c.lat, c.lon, c.area_type))
        lat, lon = _jitter(rng, c)
        home = len(locations)
        locations.append(Location(f"home {k}", lat, lon, c.area_type))
        slot = rng.choice(BOOKING_SLOTS)
        office = office_loc[c.code]
        if rng.random() < result_share:
            pickup = Stop(f"r{k}-p", office, "office_pickup", OFFICE_HOURS)
            drop = Stop(f"r{k}-d", home, "home_delivery", slot)
        else:
            pickup = Stop(f"d{k}-p", home, "home_pickup", slot)
            drop = Stop(f"d{k}-d", office, "office_drop", OFFICE_HOURS)
        shipments.append(Shipment(f"b{k}", pickup, drop, amount=1))

    vehicles = []
    for i in range(couriers):
        po = i % len(post_offices)
        vehicles.append(
            Vehicle(
                f"courier-{i + 1:02d}",
                start=po,
                end=po,
                shift=SHIFT,
                capacity=capacity,
                brk=Break(TimeWindow(11 * H + 1800, 13 * H), 45 * 60) if breaks else None,
            )
        )
    return Problem(
        tuple(locations),
        great_circle_matrix(locations),
        tuple(vehicles),
        shipments=tuple(shipments),
    )


def bac_ninh_day(*, stops: int = 300, couriers: int = 15, seed: int = 0) -> Problem:
    """Bắc Ninh (province code 24, after the 2025 merger) with five stand-in post offices."""
    return province_day(
        "24", biggest_ward_post_offices("24", 5), stops=stops, couriers=couriers, seed=seed
    )


def new_booking(problem: Problem, *, seed: int = 0) -> tuple[Problem, Shipment, list[TimeWindow]]:
    """One more dossier booking in the problem's area, for the booking-page check.

    Returns the problem extended by the new home's location, the shipment (its pickup
    window is to be chosen) and the candidate slots.
    """
    rng = random.Random(seed)
    offices = [i for i, loc in enumerate(problem.locations) if loc.id.startswith("office ")]
    office = rng.choice(offices)
    base = problem.locations[office]
    home = Location(
        f"home new-{seed}",
        base.lat + rng.gauss(0, 0.01),
        base.lon + rng.gauss(0, 0.01),
        base.area,
    )
    extended, (home_idx,) = with_locations(problem, [home])
    shipment = Shipment(
        f"new-{seed}",
        Stop(f"new-{seed}-p", home_idx, "home_pickup", None),
        Stop(f"new-{seed}-d", office, "office_drop", OFFICE_HOURS),
    )
    return extended, shipment, list(BOOKING_SLOTS)
