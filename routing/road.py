"""Optional road-router matrices (OSRM ``/table``, Valhalla ``/sources_to_targets``).

Off by default: most post offices have no router of their own, and planning must never
fail because one is down. Any error (timeout, HTTP status, malformed body) falls back to
the great-circle estimate and says so in ``TravelMatrix.source``; a single unreachable
pair (null in the answer) is filled from the estimate for that pair only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import numpy as np
import numpy.typing as npt

from routing.model import Location, TravelMatrix
from routing.travel import great_circle_matrix

RouterKind = Literal["osrm", "valhalla"]


@dataclass(frozen=True, slots=True)
class RoadRouterConfig:
    kind: RouterKind
    base_url: str
    enabled: bool = False
    timeout_s: float = 5.0
    # Valhalla's costing for a motorbike; OSRM's profile is fixed by the server build.
    valhalla_costing: str = "motor_scooter"


class RouterError(Exception):
    """The router answered, but not with a usable matrix."""


def _fill_missing(
    values: npt.NDArray[np.float64], fallback: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    out = np.where(np.isnan(values), fallback, values)
    out.setflags(write=False)
    return out


def _as_matrix(rows: Any, n: int, what: str) -> npt.NDArray[np.float64]:
    if not isinstance(rows, list) or len(rows) != n:
        raise RouterError(f"{what}: expected {n} rows")
    out = np.full((n, n), np.nan)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != n:
            raise RouterError(f"{what}: row {i} does not have {n} entries")
        for j, v in enumerate(row):
            if v is not None:
                out[i, j] = float(v)
    return out


def _osrm(
    client: httpx.Client, cfg: RoadRouterConfig, locs: Sequence[Location]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    coords = ";".join(f"{loc.lon:.6f},{loc.lat:.6f}" for loc in locs)
    url = f"{cfg.base_url.rstrip('/')}/table/v1/driving/{coords}"
    resp = client.get(url, params={"annotations": "duration,distance"})
    resp.raise_for_status()
    body = resp.json()
    if body.get("code") != "Ok":
        raise RouterError(f"osrm code {body.get('code')!r}")
    n = len(locs)
    return _as_matrix(body.get("distances"), n, "distances"), _as_matrix(
        body.get("durations"), n, "durations"
    )


def _valhalla(
    client: httpx.Client, cfg: RoadRouterConfig, locs: Sequence[Location]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    points = [{"lat": loc.lat, "lon": loc.lon} for loc in locs]
    payload = {"sources": points, "targets": points, "costing": cfg.valhalla_costing}
    resp = client.post(f"{cfg.base_url.rstrip('/')}/sources_to_targets", json=payload)
    resp.raise_for_status()
    body = resp.json()
    rows = body.get("sources_to_targets")
    n = len(locs)
    if not isinstance(rows, list) or len(rows) != n:
        raise RouterError("valhalla: sources_to_targets missing or wrong size")
    dist = np.full((n, n), np.nan)
    dur = np.full((n, n), np.nan)
    for row in rows:
        if not isinstance(row, list) or len(row) != n:
            raise RouterError("valhalla: row of wrong size")
        for cell in row:
            i, j = int(cell["from_index"]), int(cell["to_index"])
            # Valhalla reports kilometres by default.
            if cell.get("distance") is not None:
                dist[i, j] = float(cell["distance"]) * 1000.0
            if cell.get("time") is not None:
                dur[i, j] = float(cell["time"])
    return dist, dur


def road_matrix(
    locations: Sequence[Location],
    config: RoadRouterConfig | None,
    *,
    client: httpx.Client | None = None,
) -> TravelMatrix:
    """Matrix from the configured router, or the great-circle estimate if off or failing."""
    estimate = great_circle_matrix(locations)
    if config is None or not config.enabled or len(locations) < 2:
        return estimate
    own = client is None
    http = client or httpx.Client(timeout=config.timeout_s)
    try:
        fetch = _osrm if config.kind == "osrm" else _valhalla
        dist, dur = fetch(http, config, locations)
    except (httpx.HTTPError, RouterError, ValueError, KeyError, TypeError) as exc:
        return TravelMatrix(
            distance=estimate.distance,
            duration=estimate.duration,
            source=f"great_circle (fallback: {config.kind} failed: {type(exc).__name__})",
        )
    finally:
        if own:
            http.close()
    return TravelMatrix(
        distance=_fill_missing(dist, estimate.distance),
        duration=_fill_missing(dur, estimate.duration),
        source=config.kind,
    )
