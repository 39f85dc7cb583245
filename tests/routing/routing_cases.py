"""Small hand-made problems on a line, with times in seconds and distance = time."""

from __future__ import annotations

from collections.abc import Sequence

from routing.model import Job, Location, Problem, Shipment, Stop, TimeWindow, Vehicle
from routing.travel import euclidean_matrix

DAY = TimeWindow(0, 10_000)


def line_problem(
    xs: Sequence[float],
    vehicles: Sequence[Vehicle],
    *,
    jobs: Sequence[Job] = (),
    shipments: Sequence[Shipment] = (),
) -> Problem:
    """Locations at x = xs[i] seconds from the origin, all with zero service by default."""
    locs = tuple(Location(f"L{i}", 0.0, float(x)) for i, x in enumerate(xs))
    return Problem(
        locs,
        euclidean_matrix(list(xs), [0.0] * len(xs)),
        tuple(vehicles),
        jobs=tuple(jobs),
        shipments=tuple(shipments),
        service_by_kind=dict.fromkeys(
            ("home_pickup", "office_drop", "office_pickup", "home_delivery", "other"), 0
        ),
    )


def stop(sid: str, loc: int, window: tuple[int, int] | None = None, service: int = 0) -> Stop:
    return Stop(sid, loc, "other", TimeWindow(*window) if window else None, service)


def veh(
    vid: str, *, loc: int = 0, capacity: int = 10, shift: TimeWindow = DAY, **kw: object
) -> Vehicle:
    return Vehicle(vid, loc, loc, shift, capacity, **kw)  # type: ignore[arg-type]
