"""Bookings per second through the HTTP API, and tracking latency, under local load.

A real uvicorn server (one worker process) runs the app against a fresh database; client
threads (httpx, one keep-alive connection each) drive it. Every phase is measured against a
reference run by the same threads on the same server in the same run: the ``/healthz``
round trip (one ``SELECT 1`` in a request transaction). So the figures are ratios that mean
something on a shared, noisy machine:

- bookings/s ÷ healthz requests/s — what a whole booking (validation, address parsing,
  capacity check under the post office's advisory lock, the case, the S10 item and its
  ``booked`` ledger event, the terms row, the SMS outbox row) costs against the cheapest
  request the app answers;
- tracking p50/p99 (``/api/v1/tracking/{id}`` JSON and ``/t/{id}`` page) ÷ healthz p50/p99.

Phases alternate over several rounds; medians are quoted.

    .venv/bin/python bench/booking/bench_booking.py [--rounds 3] [--seconds 5] [--threads 4]

Uses ``HOSO_BENCH_DATABASE_URL`` when set (a fresh database is created on that server),
else an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import httpx
from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.db import make_sessionmaker, scratch_database, transaction  # noqa: E402
from core.identity.service import issue_token  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.places.service import load_admin_units  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.core.booking.helpers import make_area  # noqa: E402
from tests.factories import make_user  # noqa: E402
from vntime import VN  # noqa: E402

SECRET = "bench-secret"
COMMUNE = "19813"  # Phường Thủy Xuân, Huế
ADDRESS = "12 Lê Ngô Cát, Phường Thủy Xuân, Huế"


def _bookable_day(now: datetime) -> date:
    day = now.astimezone(VN).date() + timedelta(days=2)
    return day + timedelta(days=1) if day.weekday() == 6 else day


def _seed(url: str, threads: int) -> tuple[dict[str, int], list[str]]:
    upgrade(url)
    engine = create_engine(url)
    settings = Settings(environment="test", secret_key=SECRET, database_url=url)
    with transaction(make_sessionmaker(engine)) as session:
        load_admin_units(session)
        area = make_area(session, COMMUNE, couriers=1)
        tokens = []
        for i in range(threads):
            citizen = make_user(session, "citizen", phone=f"0988{i:06d}", password=None)
            tokens.append(issue_token(session, settings, citizen, now=datetime.now(UTC)).token)
        ids = {"procedure": area.procedure.id, "office": area.office.id}
    engine.dispose()
    return ids, tokens


def _start_server(url: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "HOSO_SECRET_KEY": SECRET,
           "HOSO_ENVIRONMENT": "test", "HOSO_BOOKING_STOPS_PER_WINDOW": "10000000"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the server did not start")


def _load(
    base: str, threads: int, seconds: float, request: Callable[[httpx.Client, int], int]
) -> tuple[float, list[float], int]:
    """Run ``request`` in ``threads`` loops for ``seconds``: (requests/s, latencies, errors)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(index: int) -> None:
        mine: list[float] = []
        bad = 0
        with httpx.Client(base_url=base, timeout=30) as client:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                status = request(client, index)
                mine.append(time.perf_counter() - started)
                bad += status >= 400
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, errors[0]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with scratch_database(os.environ.get("HOSO_BENCH_DATABASE_URL"), "hoso_bench_") as url:
        _measure(url, args)


def _measure(url: str, args: argparse.Namespace) -> None:
    ids, tokens = _seed(url, args.threads)
    proc, base = _start_server(url)
    day = _bookable_day(datetime.now(UTC))
    window = datetime.combine(day, dtime(8, 0), VN).isoformat()
    body = {
        "service_option": "both", "procedure_id": ids["procedure"], "address": ADDRESS,
        "office_id": ids["office"], "pickup_window_start": window, "contact_name": "Trần Thị Hoa",
        "contact_phone": "0912345678", "cccd": "001190012345", "citizen_sex": "female",
        "citizen_birth_year": 1990, "payment_method": "vietqr", "pay_fee_on_behalf": True,
    }  # fmt: skip
    items: list[str] = []

    def book(client: httpx.Client, index: int) -> int:
        response = client.post("/api/v1/bookings", json=body,
                               headers={"Authorization": f"Bearer {tokens[index]}"})  # fmt: skip
        if response.status_code == 201:
            items.append(response.json()["legs"][0]["item_id"])
        return response.status_code

    def health(client: httpx.Client, index: int) -> int:
        return client.get("/healthz").status_code

    def track_json(client: httpx.Client, index: int) -> int:
        return client.get(
            f"/api/v1/tracking/{items[(index * 7919 + len(items)) % len(items)]}"
        ).status_code

    def track_page(client: httpx.Client, index: int) -> int:
        return client.get(f"/t/{items[(index * 7919) % len(items)]}").status_code

    rows = []
    try:
        _load(base, args.threads, 1.0, health)  # warm up connections and caches
        _load(base, args.threads, 1.0, book)
        for round_no in range(1, args.rounds + 1):
            row: dict[str, float] = {"round": round_no}
            phases = (("healthz", health), ("booking", book),
                      ("tracking_json", track_json), ("tracking_page", track_page))  # fmt: skip
            for name, fn in phases:
                rate, lat, errors = _load(base, args.threads, args.seconds, fn)
                if errors:
                    raise RuntimeError(f"{name}: {errors} failed requests")
                row[f"{name}_per_s"] = rate
                row[f"{name}_p50_ms"] = _pct(lat, 0.50)
                row[f"{name}_p99_ms"] = _pct(lat, 0.99)
            row["booking_ratio"] = row["booking_per_s"] / row["healthz_per_s"]
            for kind in ("tracking_json", "tracking_page"):
                row[f"{kind}_p50_ratio"] = row[f"{kind}_p50_ms"] / row["healthz_p50_ms"]
                row[f"{kind}_p99_ratio"] = row[f"{kind}_p99_ms"] / row["healthz_p99_ms"]
            rows.append(row)
            print(json.dumps({k: round(v, 3) for k, v in row.items()}), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    keys = [k for k in rows[0] if k != "round"]
    median = {k: round(statistics.median(r[k] for r in rows), 3) for k in keys}
    print(
        "median over", len(rows), "rounds,", args.threads, "threads,", f"{args.seconds:g} s each:"
    )
    print(json.dumps(median, indent=2))
    print(f"bookings made: {len(items)}")


if __name__ == "__main__":
    main()
