"""Where a stop is: GPS pin, else a geocoder, else the commune centroid — with its accuracy.

The planner needs a point for every stop, and the dispatcher needs to know how much to
trust it. A citizen's pin is best; a geocoder (off by default, since it needs the network
and Vietnamese street data is patchy after the 2025 renaming) is next; the commune
centroid always exists, and its accuracy is the radius of a circle of the commune's area.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal, Protocol

from geopy.exc import GeopyError

from routing.address import ParsedAddress
from routing.admin_units import VIETNAM_BBOX, Commune, commune_by_code

log = logging.getLogger(__name__)

Source = Literal["gps", "geocoder", "centroid"]

# Browsers may omit the accuracy of a fix; 50 m is a cautious figure for a phone fix.
DEFAULT_GPS_ACCURACY_M = 50.0
# geopy gives no accuracy; a house-number hit from Nominatim/ArcGIS is street-level at best.
GEOCODER_ACCURACY_M = 250.0
GEOCODER_TIMEOUT_S = 5.0


class GeoPoint(Protocol):
    @property
    def latitude(self) -> float: ...

    @property
    def longitude(self) -> float: ...


class Geocoder(Protocol):
    """The part of a geopy geocoder (``geopy.geocoders.Nominatim`` etc.) we use."""

    def geocode(self, query: str, *, exactly_one: bool, timeout: float) -> GeoPoint | None: ...


class PositionError(ValueError):
    """A position that cannot be used (outside Vietnam, malformed, or nothing to go on)."""


@dataclass(frozen=True, slots=True)
class Position:
    lat: float
    lon: float
    source: Source
    accuracy_m: float


def commune_radius_m(commune: Commune) -> float:
    """Radius of a circle with the commune's area: the error of using its centroid."""
    return math.sqrt(commune.area_km2 / math.pi) * 1000.0


def _gps(gps: tuple[float, float, float | None]) -> Position:
    lat, lon, accuracy = gps
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise PositionError(f"GPS position is not a number: {lat!r}, {lon!r}")
    if not VIETNAM_BBOX.contains(lat, lon):
        raise PositionError(
            f"Vị trí GPS ({lat:.5f}, {lon:.5f}) nằm ngoài Việt Nam / "
            f"GPS position is outside Vietnam (lat {VIETNAM_BBOX.min_lat}–{VIETNAM_BBOX.max_lat}, "
            f"lon {VIETNAM_BBOX.min_lon}–{VIETNAM_BBOX.max_lon}); latitude and longitude swapped?"
        )
    if accuracy is None:
        accuracy = DEFAULT_GPS_ACCURACY_M
    elif not math.isfinite(accuracy) or accuracy < 0:
        raise PositionError(f"GPS accuracy must be a non-negative number of metres: {accuracy!r}")
    return Position(lat, lon, "gps", float(accuracy))


def _geocoded(geocoder: Geocoder, address: ParsedAddress, commune: Commune) -> Position | None:
    query = f"{address.display}, Việt Nam"
    try:
        hit = geocoder.geocode(query, exactly_one=True, timeout=GEOCODER_TIMEOUT_S)
    except (GeopyError, OSError) as exc:
        log.warning("geocode.failed", extra={"commune": commune.code, "error": repr(exc)})
        return None
    if hit is None:
        return None
    lat, lon = float(hit.latitude), float(hit.longitude)
    # Geocoders often answer with a same-named place elsewhere, or the old (pre-2025) unit;
    # a point far outside the commune is worse than the centroid, so it is discarded.
    if _distance_m(lat, lon, commune.lat, commune.lon) > 3 * commune_radius_m(commune) + 2000:
        log.warning("geocode.outside_commune", extra={"commune": commune.code})
        return None
    return Position(lat, lon, "geocoder", GEOCODER_ACCURACY_M)


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def resolve_position(
    *,
    gps: tuple[float, float, float | None] | None,
    address: ParsedAddress | None,
    commune_code: str | None,
    geocoder: Geocoder | None,
) -> Position:
    """The best position available for a stop.

    ``gps`` is (lat, lon, reported accuracy in metres or None). A GPS pin outside Vietnam
    raises ``PositionError`` rather than falling back: it is usually swapped coordinates or
    a test pin, and silently using the centroid would hide that from the citizen.
    """
    if gps is not None:
        return _gps(gps)
    code = commune_code or (address.commune_code if address else None)
    if code is None:
        raise PositionError("no GPS position, address or commune code to locate the stop")
    try:
        commune = commune_by_code(code)
    except KeyError as exc:
        raise PositionError(str(exc.args[0])) from None
    if geocoder is not None and address is not None:
        found = _geocoded(geocoder, address, commune)
        if found is not None:
            return found
    return Position(commune.lat, commune.lon, "centroid", commune_radius_m(commune))
