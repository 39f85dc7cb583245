"""OSRM and Valhalla clients against a fake router on 127.0.0.1 (no real network)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from routing.model import Location
from routing.road import RoadRouterConfig, road_matrix
from routing.travel import great_circle_matrix

LOCS = [
    Location("po", 21.18, 106.07, "urban"),
    Location("home", 21.20, 106.10, "rural"),
    Location("office", 21.15, 106.05, "urban"),
]
# made-up road figures, deliberately unlike the great-circle estimate
DIST: list[list[int | None]] = [[0, 5200, 4100], [5300, 0, 9000], [4000, None, 0]]


def _km(metres: int | None) -> float | None:
    return None if metres is None else metres / 1000


DUR: list[list[int | None]] = [[0, 700, 500], [710, 0, 1100], [520, None, 0]]


class _Router(BaseHTTPRequestHandler):
    mode = "ok"
    requests: list[str] = []

    def log_message(self, *args: Any) -> None:
        return

    def _send(self, code: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        _Router.requests.append(self.path)
        if _Router.mode == "error":
            self._send(500, {"message": "boom"})
        elif self.path.startswith("/table/v1/driving/"):
            coords = self.path.split("/table/v1/driving/")[1].split("?")[0].split(";")
            assert len(coords) == len(LOCS)
            # OSRM takes lon,lat
            assert coords[0] == "106.070000,21.180000"
            self._send(200, {"code": "Ok", "distances": DIST, "durations": DUR})
        else:
            self._send(404, {})

    def do_POST(self) -> None:
        _Router.requests.append(self.path)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if _Router.mode == "error" or self.path != "/sources_to_targets":
            self._send(500, {})
            return
        assert body["costing"] == "motor_scooter"
        assert body["sources"][1] == {"lat": 21.20, "lon": 106.10}
        rows = [
            [
                {
                    "from_index": i,
                    "to_index": j,
                    "distance": _km(DIST[i][j]),
                    "time": DUR[i][j],
                }
                for j in range(3)
            ]
            for i in range(3)
        ]
        self._send(200, {"sources_to_targets": rows, "units": "kilometers"})


@pytest.fixture
def router() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Router)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Router.mode = "ok"
    _Router.requests = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("kind", ["osrm", "valhalla"])
def test_router_matrix_used_and_gaps_filled(router: str, kind: str) -> None:
    cfg = RoadRouterConfig(kind=kind, base_url=router, enabled=True)  # type: ignore[arg-type]
    m = road_matrix(LOCS, cfg)
    assert m.source == kind
    assert m.distance[0, 1] == pytest.approx(5200)
    assert m.distance[1, 0] == pytest.approx(5300)
    assert m.duration[1, 2] == pytest.approx(1100)
    # the unreachable pair comes from the estimate, not from a zero or a crash
    est = great_circle_matrix(LOCS)
    assert m.distance[2, 1] == pytest.approx(est.distance[2, 1])
    assert len(_Router.requests) == 1


@pytest.mark.parametrize("kind", ["osrm", "valhalla"])
def test_router_error_falls_back_to_great_circle(router: str, kind: str) -> None:
    _Router.mode = "error"
    cfg = RoadRouterConfig(kind=kind, base_url=router, enabled=True)  # type: ignore[arg-type]
    m = road_matrix(LOCS, cfg)
    assert m.source.startswith("great_circle (fallback")
    est = great_circle_matrix(LOCS)
    assert (m.duration == est.duration).all()


def test_unreachable_router_falls_back_within_the_timeout() -> None:
    # port 9 on localhost: connection refused at once
    cfg = RoadRouterConfig(kind="osrm", base_url="http://127.0.0.1:9", enabled=True, timeout_s=1)
    assert road_matrix(LOCS, cfg).source.startswith("great_circle (fallback")


def test_disabled_router_is_not_called(router: str) -> None:
    cfg = RoadRouterConfig(kind="osrm", base_url=router, enabled=False)
    assert road_matrix(LOCS, cfg).source == "great_circle"
    assert _Router.requests == []
