"""Readers for the Solomon (VRPTW) and Li & Lim (PDPTW) text formats into ``Problem``.

Travel time equals Euclidean distance, as in the literature; ``precision=1000`` keeps
three decimals of every distance in the solvers' integer arithmetic.
"""

from __future__ import annotations

from pathlib import Path

from routing.model import Job, Location, Problem, Shipment, Stop, TimeWindow, Vehicle
from routing.travel import euclidean_matrix

PRECISION = 1000


def _rows(lines: list[str]) -> list[list[float]]:
    out = []
    for line in lines:
        parts = line.split()
        if parts and all(_is_num(p) for p in parts):
            out.append([float(p) for p in parts])
    return out


def _is_num(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _problem(
    rows: list[list[float]], fleet: int, capacity: int
) -> tuple[tuple[Location, ...], Problem]:
    locs = tuple(Location(str(int(r[0])), r[2], r[1]) for r in rows)
    matrix = euclidean_matrix([r[1] for r in rows], [r[2] for r in rows])
    depot = rows[0]
    shift = TimeWindow(int(depot[4]), int(depot[5]))
    vehicles = tuple(Vehicle(f"v{k}", 0, 0, shift, capacity) for k in range(fleet))
    return locs, Problem(locs, matrix, vehicles, objective="distance", precision=PRECISION)


def read_solomon(path: Path) -> Problem:
    lines = path.read_text().splitlines()
    idx = next(i for i, line in enumerate(lines) if "NUMBER" in line and "CAPACITY" in line)
    fleet, capacity = (int(x) for x in lines[idx + 1].split())
    rows = _rows(lines[idx + 2 :])
    rows = [r for r in rows if len(r) == 7]
    _, base = _problem(rows, fleet, capacity)
    jobs = tuple(
        Job(
            Stop(str(int(r[0])), i, "other", TimeWindow(int(r[4]), int(r[5])), int(r[6])),
            delivery=int(r[3]),
        )
        for i, r in enumerate(rows)
        if i > 0
    )
    return Problem(
        base.locations,
        base.matrix,
        base.vehicles,
        jobs=jobs,
        objective="distance",
        precision=PRECISION,
    )


def read_lilim(path: Path) -> Problem:
    lines = path.read_text().splitlines()
    fleet, capacity = (int(float(x)) for x in lines[0].split()[:2])
    rows = _rows(lines[1:])
    _, base = _problem(rows, fleet, capacity)
    by_id = {int(r[0]): (i, r) for i, r in enumerate(rows)}
    shipments = []
    for i, r in enumerate(rows):
        if i == 0 or r[3] <= 0:
            continue
        j, d = by_id[int(r[8])]
        shipments.append(
            Shipment(
                f"s{int(r[0])}",
                Stop(str(int(r[0])), i, "other", TimeWindow(int(r[4]), int(r[5])), int(r[6])),
                Stop(str(int(d[0])), j, "other", TimeWindow(int(d[4]), int(d[5])), int(d[6])),
                amount=int(r[3]),
            )
        )
    return Problem(
        base.locations,
        base.matrix,
        base.vehicles,
        shipments=tuple(shipments),
        objective="distance",
        precision=PRECISION,
    )
