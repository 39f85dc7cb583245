"""Scan events per second through ``POST /mobile/v1/scans``, against the core ledger.

A real uvicorn server (one process, as ``hoso serve`` runs it) on the same database; the
client sends pickups (full door-step details: checklist, seal, fees, signatures) over HTTP
with keep-alive, batch sizes 1, 50 and 500. The reference is the core ledger bench's batch
(``bench/ledger/bench_ledger.py``: ``record`` called in-process, one transaction per batch,
pickups carrying a seal number only) at the same batch sizes in the same run, so the ratio
shows what HTTP, JSON, token checks, per-event validation, the door-step checks and the
door-step details themselves cost. Mobile and core alternate batch by batch, so a load
swing on a shared machine hits both sides; request bodies, like the core's commands, are
built before the clock starts. Each round gives a rate per side and their ratio; medians of
rounds are quoted, and p99 latency per request over all rounds.

    .venv/bin/python bench/mobile/bench_scans.py [--rounds 5] [--scale 1.0]

Uses ``HOSO_BENCH_DATABASE_URL`` when set (a fresh database is created on that server),
else an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.custody.parties import Actor  # noqa: E402
from core.db import make_sessionmaker, transaction  # noqa: E402
from core.identity.service import actor_for  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.places.service import load_admin_units  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.factories import make_user  # noqa: E402
from tests.mobile_api.helpers import PASSWORD, PICKUP_DETAILS, PICKUP_EVIDENCE  # noqa: E402
from tests.mobile_api.server import free_port, start_server  # noqa: E402
from vntime import VN  # noqa: E402


def _ledger_bench() -> ModuleType:
    """The core ledger bench, reused as the reference (loaded by path: bench/ is no package)."""
    path = ROOT / "bench" / "ledger" / "bench_ledger.py"
    spec = importlib.util.spec_from_file_location("bench_ledger", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ledger = _ledger_bench()
scratch_database = ledger.scratch_database
_make_items = ledger._make_items
_service_batch = ledger.service_batch

# Events per round at each batch size: enough requests for a rate, few enough for 2 cores.
EVENTS = {1: 100, 50: 1000, 500: 1500}


def _event(code: str) -> dict[str, Any]:
    return {
        "client_event_id": str(uuid.uuid4()),
        "kind": "picked_up",
        "code": code,
        "occurred_at": datetime.now(VN).isoformat(),
        "lat": 21.18,
        "lon": 106.07,
        "gps_accuracy_m": 12.0,
        "details": PICKUP_DETAILS,
        "evidence": PICKUP_EVIDENCE,
    }


def _bodies(codes: list[str], batch: int) -> list[bytes]:
    return [
        orjson.dumps({"events": [_event(code) for code in codes[start : start + batch]]})
        for start in range(0, len(codes), batch)
    ]


def _send(http: httpx.Client, headers: dict[str, str], body: bytes) -> float:
    sent = time.perf_counter()
    response = http.post("/mobile/v1/scans", content=body, headers=headers)
    seconds = time.perf_counter() - sent
    response.raise_for_status()
    results = orjson.loads(response.content)["results"]
    assert all(r["outcome"] == "accepted" for r in results), results[0]
    return seconds


def _round(
    http: httpx.Client,
    headers: dict[str, str],
    factory: sessionmaker[Session],
    actor: Actor,
    settings: Settings,
    events: int,
    batch: int,
) -> tuple[float, float, list[float]]:
    """Seconds through the API and through the core for ``events`` pickups each, batch by
    batch in turn, and the API's per-request latencies."""
    bodies = _bodies(_make_items(factory, settings, events), batch)
    core_codes = _make_items(factory, settings, events)
    mobile_seconds = core_seconds = 0.0
    latencies = []
    for index, body in enumerate(bodies):
        latencies.append(_send(http, headers, body))
        mobile_seconds += latencies[-1]
        chunk = core_codes[index * batch : (index + 1) * batch]
        core_seconds += _service_batch(factory, actor, chunk)[0]
    return mobile_seconds, core_seconds, latencies


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="events per round, times this (smoke runs)"
    )
    args = parser.parse_args()
    events = {batch: max(batch, round(count * args.scale)) for batch, count in EVENTS.items()}
    with scratch_database() as url:
        _measure(url, args.rounds, events)


def _measure(url: str, rounds: int, events: dict[int, int]) -> None:
    upgrade(url)
    engine = create_engine(url, pool_size=4)
    factory: sessionmaker[Session] = make_sessionmaker(engine)
    settings = Settings(environment="test", secret_key="bench", database_url=url)
    with transaction(factory) as session:
        load_admin_units(session)
        # Couriers and bookings share the factories' post office: unassigned items are theirs.
        courier = make_user(session, "courier")
        actor = actor_for(courier)
    port = free_port()
    server = start_server(url, port, settings.secret_key)
    rates: dict[str, dict[int, list[float]]] = {"mobile": {}, "core": {}, "ratio": {}}
    latencies: dict[int, list[float]] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            login = http.post("/mobile/v1/auth/login", json={
                "username": courier.username, "password": PASSWORD,
                "device": {"install_id": "bench-phone-1", "name": "bench", "platform": "android"},
            })  # fmt: skip
            headers = {
                "Authorization": f"Bearer {login.json()['token']}",
                "Content-Type": "application/json",
            }
            # One short warm-up so the first round does not pay for imports and connections.
            _round(http, headers, factory, actor, settings, 50, 50)
            for round_number in range(1, rounds + 1):
                for batch, count in events.items():
                    seconds, core_seconds, lat = _round(
                        http, headers, factory, actor, settings, count, batch
                    )
                    latencies.setdefault(batch, []).extend(lat)
                    rates["mobile"].setdefault(batch, []).append(count / seconds)
                    rates["core"].setdefault(batch, []).append(count / core_seconds)
                    rates["ratio"].setdefault(batch, []).append(core_seconds / seconds)
                    print(
                        f"round {round_number} batch {batch:3d}: mobile {count / seconds:7.0f} "
                        f"events/s  core {count / core_seconds:7.0f} events/s  "
                        f"ratio {core_seconds / seconds:.2f}  p99 {1000 * _p99(lat):7.1f} ms",
                        flush=True,
                    )
    finally:
        server.kill()
        server.wait()
        engine.dispose()

    print(f"\nmedians over {rounds} rounds (events per round: {events}):")
    print("  batch   mobile ev/s   core ev/s   ratio (median of rounds)   p99 latency")
    for batch in events:
        mobile = statistics.median(rates["mobile"][batch])
        core = statistics.median(rates["core"][batch])
        ratio = statistics.median(rates["ratio"][batch])
        print(
            f"  {batch:5d}   {mobile:11.0f}   {core:9.0f}   {ratio:24.2f}   "
            f"{1000 * _p99(latencies[batch]):8.1f} ms  (n={len(latencies[batch])})"
        )
    print("  goal: ratio >= 0.5 at batch 50")


if __name__ == "__main__":
    main()
