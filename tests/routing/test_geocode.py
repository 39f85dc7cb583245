"""Position resolution: GPS, then geocoder, then commune centroid. No network."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from geopy.exc import GeocoderTimedOut, GeocoderUnavailable

from routing.address import parse_address
from routing.admin_units import commune_by_code
from routing.geocode import (
    DEFAULT_GPS_ACCURACY_M,
    GEOCODER_ACCURACY_M,
    GeoPoint,
    PositionError,
    resolve_position,
)

KINH_BAC = "09187"


@dataclass
class _Point:
    latitude: float
    longitude: float


class _FakeGeocoder:
    def __init__(self, answer: GeoPoint | None = None, error: Exception | None = None) -> None:
        self.answer = answer
        self.error = error
        self.queries: list[str] = []

    def geocode(self, query: str, *, exactly_one: bool, timeout: float) -> GeoPoint | None:
        self.queries.append(query)
        if self.error is not None:
            raise self.error
        return self.answer


def test_gps_wins_with_reported_accuracy() -> None:
    geocoder = _FakeGeocoder(_Point(21.18, 106.07))
    pos = resolve_position(
        gps=(21.1861, 106.0763, 8.5),
        address=parse_address("Phường Kinh Bắc, Bắc Ninh"),
        commune_code=KINH_BAC,
        geocoder=geocoder,
    )
    assert (pos.lat, pos.lon, pos.source, pos.accuracy_m) == (21.1861, 106.0763, "gps", 8.5)
    assert geocoder.queries == []


def test_gps_without_accuracy_gets_the_cautious_default() -> None:
    pos = resolve_position(
        gps=(10.7769, 106.7009, None), address=None, commune_code=None, geocoder=None
    )
    assert pos.accuracy_m == DEFAULT_GPS_ACCURACY_M


@pytest.mark.parametrize(
    "gps",
    [
        (106.07, 21.18, 10.0),  # swapped
        (48.85, 2.35, 10.0),  # Paris
        (0.0, 0.0, None),
        (float("nan"), 106.0, None),
    ],
)
def test_gps_outside_vietnam_is_rejected(gps: tuple[float, float, float | None]) -> None:
    with pytest.raises(PositionError):
        resolve_position(gps=gps, address=None, commune_code=KINH_BAC, geocoder=None)


def test_gps_outside_vietnam_message_is_clear() -> None:
    with pytest.raises(PositionError, match="ngoài Việt Nam.*outside Vietnam"):
        resolve_position(gps=(106.07, 21.18, 5.0), address=None, commune_code=None, geocoder=None)


def test_negative_accuracy_rejected() -> None:
    with pytest.raises(PositionError, match="accuracy"):
        resolve_position(gps=(21.0, 105.8, -1.0), address=None, commune_code=None, geocoder=None)


def test_geocoder_used_when_configured() -> None:
    address = parse_address("Số 12 Nguyễn Gia Thiều, Phường Kinh Bắc, Tỉnh Bắc Ninh")
    geocoder = _FakeGeocoder(_Point(21.1840, 106.0700))
    pos = resolve_position(gps=None, address=address, commune_code=None, geocoder=geocoder)
    assert (pos.source, pos.lat, pos.lon, pos.accuracy_m) == (
        "geocoder",
        21.1840,
        106.0700,
        GEOCODER_ACCURACY_M,
    )
    assert geocoder.queries == ["Số 12 Nguyễn Gia Thiều, Phường Kinh Bắc, Tỉnh Bắc Ninh, Việt Nam"]


@pytest.mark.parametrize(
    "geocoder",
    [
        _FakeGeocoder(error=GeocoderTimedOut("slow")),
        _FakeGeocoder(error=GeocoderUnavailable("down")),
        _FakeGeocoder(error=ConnectionResetError()),
        _FakeGeocoder(answer=None),
        # A same-named place in another province: far from the commune, so not trusted.
        _FakeGeocoder(_Point(10.77, 106.70)),
    ],
)
def test_geocoder_failures_fall_back_to_centroid(geocoder: _FakeGeocoder) -> None:
    address = parse_address("Phường Kinh Bắc, Bắc Ninh")
    pos = resolve_position(gps=None, address=address, commune_code=None, geocoder=geocoder)
    commune = commune_by_code(KINH_BAC)
    assert (pos.source, pos.lat, pos.lon) == ("centroid", commune.lat, commune.lon)
    assert geocoder.queries


def test_centroid_accuracy_is_radius_of_commune_area() -> None:
    pos = resolve_position(gps=None, address=None, commune_code="00070", geocoder=None)
    hoan_kiem = commune_by_code("00070")
    assert pos.source == "centroid"
    assert pos.accuracy_m == pytest.approx(math.sqrt(hoan_kiem.area_km2 / math.pi) * 1000)
    # Hoàn Kiếm is ~1.9 km², so under a kilometre; a mountain commune is several km.
    assert 500 < pos.accuracy_m < 1000
    big = resolve_position(gps=None, address=None, commune_code="19147", geocoder=None)
    assert big.accuracy_m > 3000


def test_commune_code_taken_from_address_when_not_given() -> None:
    address = parse_address("45 Lê Lợi, P. Bến Thành, Q.1, TP.HCM")
    pos = resolve_position(gps=None, address=address, commune_code=None, geocoder=None)
    assert (pos.lat, pos.lon) == (commune_by_code("26743").lat, commune_by_code("26743").lon)


def test_nothing_to_go_on_or_unknown_commune_raises() -> None:
    with pytest.raises(PositionError, match="no GPS"):
        resolve_position(gps=None, address=None, commune_code=None, geocoder=None)
    with pytest.raises(PositionError, match="annex"):
        resolve_position(gps=None, address=None, commune_code="99999", geocoder=None)
