"""Public tracking reads against ``/healthz`` on the same server, in one run.

A real uvicorn server (one process, as ``hoso serve`` runs it) on a scratch database holding
``--cases`` booked cases, half of them picked up (a timeline of two events), a quarter on a
courier's run sheet today with a location ping (so the page computes an ETA). Two measures,
each against ``/healthz`` (one ``SELECT 1`` through the same middleware) in the same run:

1. Closed loop: ``--connections`` keep-alive connections send requests back to back;
   ``/healthz`` and tracking alternate in half-second slices for ``--seconds`` per side, so
   a load swing on the shared machine hits both. The rate ratio per round, median of
   ``--rounds``.
2. Open loop: requests are started on a fixed schedule at ``--offered`` per second for
   ``--seconds``; latency is measured from each request's scheduled start (a slow answer
   delays nobody's clock), so a queue building up shows in the p99.

Tracking requests cycle through every case's item ID, so a per-item cache is hit only as
often as the same label is read again within its lifetime, not on every request.

The client is plain asyncio sockets (HTTP/1.1, keep-alive), cheap enough to share the two
cores with the server. The rate limit is raised for the run (one address sends it all).

    .venv/bin/python bench/tracking/bench_tracking.py [--path /t/{id}] [--rounds 5]

Uses ``HOSO_BENCH_DATABASE_URL`` when set (a fresh database on that server, dropped at the
end), else an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from itertools import cycle
from pathlib import Path
from types import ModuleType

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.courier.pings import Fix, record_pings  # noqa: E402
from core.custody.models import Item  # noqa: E402
from core.db import make_sessionmaker, transaction  # noqa: E402
from core.identity.service import actor_for  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.places.service import load_admin_units  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.factories import make_case, make_user, todays_stop  # noqa: E402
from tests.mobile_api.server import free_port, start_server  # noqa: E402
from vntime import VN  # noqa: E402


def _ledger_bench() -> ModuleType:
    path = ROOT / "bench" / "ledger" / "bench_ledger.py"
    spec = importlib.util.spec_from_file_location("bench_ledger", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ledger = _ledger_bench()
# Closed-loop measuring alternates /healthz and tracking in slices this long.
SLICE_S = 0.5


def _seed(factory: sessionmaker[Session], settings: Settings, count: int) -> list[str]:
    """``count`` cases: every other one picked up; every fourth on a courier's sheet today."""
    now = datetime.now(VN)
    with transaction(factory) as session:
        load_admin_units(session)
        courier = make_user(session, "courier")
        cases = [make_case(session, settings) for _ in range(count)]
        codes = list(
            session.scalars(
                select(Item.code)
                .where(Item.id.in_([c.dossier_item_id for c in cases]))
                .order_by(Item.id)
            )
        )
        for index, case in enumerate(cases[::4]):
            todays_stop(session, courier, kind="home_pickup", sequence=index + 1,
                        start=now - timedelta(minutes=30), case_id=case.id,
                        eta=now + timedelta(minutes=10 * index))  # fmt: skip
        fix = Fix(fixed_at=now, lat=21.18, lon=106.07, accuracy_m=10)
        record_pings(session, courier.id, None, [fix], now=now)
        actor = actor_for(courier)
    ledger.service_batch(factory, actor, codes[1::2])
    with factory() as session:
        session.execute(text("ANALYZE"))
        session.commit()
    return codes


class Connection:
    """One keep-alive HTTP/1.1 connection: GET, read the status and a Content-Length body."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def get(self, path: str) -> int:
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: bench\r\nAccept-Language: vi\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(
            int(value) for name, _, value in (line.partition(":") for line in lines[1:])
            if name.lower() == "content-length"
        )  # fmt: skip
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def closed_loop(port: int, paths: cycle[str], connections: int, seconds: float) -> float:
    """Requests per second with ``connections`` clients sending back to back."""
    pool = [await Connection.open(port) for _ in range(connections)]
    done = 0
    deadline = time.perf_counter() + seconds

    async def client(conn: Connection) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            status = await conn.get(next(paths))
            assert status == 200, status
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in pool))
    elapsed = time.perf_counter() - started
    for conn in pool:
        conn.close()
    return done / elapsed


async def open_loop(
    port: int, paths: cycle[str], offered: float, seconds: float
) -> tuple[list[float], float, int]:
    """Latencies (from each request's scheduled start) at ``offered`` requests per second,
    the rate actually answered, and how many answers were not 200 (a server pushed past what
    it can take queues requests until its database pool gives up: they count, not crash)."""
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(64):
        idle.put_nowait(await Connection.open(port))
    latencies: list[float] = []
    failed = 0
    total = int(offered * seconds)
    start = time.perf_counter() + 0.05

    async def one(scheduled: float, path: str) -> None:
        nonlocal failed
        conn = await idle.get()
        status = await conn.get(path)
        latencies.append(time.perf_counter() - scheduled)
        idle.put_nowait(conn)
        failed += status != 200

    tasks = []
    for index in range(total):
        scheduled = start + index / offered
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled, next(paths))))
    await asyncio.gather(*tasks)
    answered = total / (time.perf_counter() - start)
    while not idle.empty():
        idle.get_nowait().close()
    return latencies, answered, failed


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/t/{id}", help="tracking path, {id} the item ID")
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--offered", type=float, default=300.0)
    args = parser.parse_args()
    with ledger.scratch_database() as url:
        asyncio.run(_measure(url, args))


async def _measure(url: str, args: argparse.Namespace) -> None:
    upgrade(url)
    engine = create_engine(url, pool_size=2)
    factory: sessionmaker[Session] = make_sessionmaker(engine)
    settings = Settings(environment="test", secret_key="bench", database_url=url)
    codes = _seed(factory, settings, args.cases)
    engine.dispose()
    # One address sends everything: the per-address limit would measure itself.
    os.environ["HOSO_PUBLIC_RATE_LIMIT_SCALE"] = "100000"
    port = free_port()
    server = start_server(url, port, settings.secret_key)
    tracking = cycle([args.path.format(id=code) for code in codes])
    health = cycle(["/healthz"])
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    try:
        warm = await Connection.open(port)  # warm-up: every item read once
        for code in codes:
            await warm.get(args.path.format(id=code))
        warm.close()
        await closed_loop(port, health, args.connections, 0.5)
        ratios, track_rates, health_rates = [], [], []
        for number in range(1, args.rounds + 1):
            # Short slices in turn, so a swing of the shared machine's load hits both sides.
            slices = max(1, round(args.seconds / SLICE_S))
            h = t = 0.0
            for _ in range(slices):
                h += await closed_loop(port, health, args.connections, SLICE_S) / slices
                t += await closed_loop(port, tracking, args.connections, SLICE_S) / slices
            ratios.append(t / h)
            track_rates.append(t)
            health_rates.append(h)
            print(f"round {number}: /healthz {h:6.0f}/s  tracking {t:6.0f}/s  ratio {t / h:.2f}",
                  flush=True)  # fmt: skip
        open_health = await open_loop(port, health, args.offered, args.seconds)
        open_track = await open_loop(port, tracking, args.offered, args.seconds)
    finally:
        server.kill()
        server.wait()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\nclosed loop, {args.connections} connections, {args.seconds:g} s per side, "
          f"medians of {args.rounds} rounds ({args.path}, {len(codes)} items):")  # fmt: skip
    print(f"  /healthz {statistics.median(health_rates):6.0f}/s   "
          f"tracking {statistics.median(track_rates):6.0f}/s   "
          f"ratio {statistics.median(ratios):.2f}  (goal >= 0.5)")  # fmt: skip
    print(f"open loop, {args.offered:g} requests/s offered for {args.seconds:g} s:")
    for name, (lat, answered, failed) in (("/healthz", open_health), ("tracking", open_track)):
        print(f"  {name:9s} answered {answered:5.0f}/s  p50 {1000 * statistics.median(lat):6.1f} ms"
              f"  p99 {1000 * p99(lat):6.1f} ms  (n={len(lat)}, not 200: {failed})")  # fmt: skip
    print("  goal: tracking p99 <= 50 ms")


if __name__ == "__main__":
    main()
