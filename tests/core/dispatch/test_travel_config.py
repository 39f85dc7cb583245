"""Geocoder and road-router configuration through Settings; a fake OSRM on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from geopy.geocoders import Nominatim
from pydantic import ValidationError

from core.dispatch.day import make_geocoder, travel_matrix
from core.settings import Settings
from routing.model import Location

LOCS = [Location("po", 21.18, 106.07), Location("a", 21.20, 106.10), Location("b", 21.15, 106.05)]


class _Osrm(BaseHTTPRequestHandler):
    calls = 0

    def log_message(self, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        _Osrm.calls += 1
        n = len(LOCS)
        body = json.dumps({
            "code": "Ok",
            "distances": [[0 if i == j else 1000 * (i + j) for j in range(n)] for i in range(n)],
            "durations": [[0 if i == j else 100 * (i + j) for j in range(n)] for i in range(n)],
        }).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def osrm() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Osrm)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Osrm.calls = 0
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_road_router_table_is_used_and_cached(settings: Settings, osrm: str) -> None:
    configured = settings.model_copy(update={"road_router": "osrm", "road_router_url": osrm})
    first = travel_matrix(configured, LOCS)
    assert first.source == "osrm" and first.duration[0, 1] == 100
    again = travel_matrix(configured, LOCS)
    assert again is first and _Osrm.calls == 1


def test_unreachable_router_falls_back_and_is_not_cached(settings: Settings) -> None:
    down = settings.model_copy(update={"road_router": "osrm",
                                       "road_router_url": "http://127.0.0.1:9",
                                       "road_router_timeout_s": 0.5})  # fmt: skip
    matrix = travel_matrix(down, LOCS)
    assert matrix.source.startswith("great_circle (fallback")
    assert travel_matrix(down, LOCS) is not matrix  # asked again next time


def test_router_off_by_default_uses_great_circle(settings: Settings) -> None:
    assert travel_matrix(settings, LOCS).source == "great_circle"


def test_router_without_url_is_refused() -> None:
    with pytest.raises(ValidationError, match="HOSO_ROAD_ROUTER_URL"):
        Settings(environment="test", road_router="valhalla")


def test_geocoder_off_by_default_and_built_from_settings(settings: Settings) -> None:
    assert make_geocoder(settings) is None
    configured = settings.model_copy(update={"geocoder": "nominatim",
                                             "geocoder_domain": "nominatim.internal:8080",
                                             "geocoder_scheme": "http"})  # fmt: skip
    geocoder = make_geocoder(configured)
    assert isinstance(geocoder, Nominatim)
    assert geocoder.domain == "nominatim.internal:8080" and geocoder.scheme == "http"


def test_bad_booking_slots_are_refused() -> None:
    with pytest.raises(ValidationError, match="dispatch_booking_slots"):
        Settings(environment="test", dispatch_booking_slots="08:00-07:00")
