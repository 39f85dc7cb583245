"""The booking page's window check on a day of 300 stops, before and after the day's plan.

A scratch database (on ``HOSO_BENCH_DATABASE_URL`` or ``HOSO_TEST_DATABASE_URL``) is migrated
and filled with one post office, 15 couriers and the Bắc Ninh scenario's 150 shipments
(``routing.scenario.bac_ninh_day``: 300 stops) as real bookings for one day, made the evening
before. Then:

1. the live plan inserts them into the day's *draft* routes (``core.dispatch.live.update_day``:
   the day has no plan yet), as the worker does when they arrive;
2. ``--checks`` window checks for a new booking at random places in the province, through the
   booking page's function (``core.booking.slots.offerable_windows``: capacity rule, day
   read and synced from the database, insertion into the routes), interleaved with the
   reference: ``routing.windows.offerable_windows`` on the same routes and slots, in memory;
3. the day is planned (``plan_day``) and the checks are timed again on the live plan.

Medians, the ratio to the reference and the maximum are printed; the database is dropped.

    HOSO_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/booking/bench_windows.py --checks 30
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "routing"))
from dispatch_bench import DAY, fill_day  # noqa: E402  (the dispatch bench's day)

from core.booking.slots import offerable_windows
from core.db import make_sessionmaker, scratch_database
from core.dispatch.day import build_day
from core.dispatch.live import update_day
from core.dispatch.service import booking_slots, current_plan, plan_day
from core.migrate import upgrade
from core.places.service import load_admin_units
from core.settings import Settings
from routing.admin_units import communes_in_province
from routing.model import Location, Shipment, Stop, TimeWindow
from routing.travel import with_locations
from routing.windows import offerable_windows as raw_windows
from vntime import VN

EVENING = datetime(2031, 3, 3, 19, 0, tzinfo=VN)
MORNING = datetime(2031, 3, 4, 6, 0, tzinfo=VN)


def _fill(session: Session, settings: Settings, couriers: int) -> int:
    """The scenario's 150 shipments as dossier bookings made the evening before, in the
    booking page's own windows (the dispatch bench's day, ``fill_day``); the post office id."""
    slots = booking_slots(settings, DAY)
    return fill_day(session, settings, couriers, booked_at=EVENING - timedelta(hours=2),
                    results=False, window_of=lambda n, _: slots[n % len(slots)])  # fmt: skip


def _checks(
    factory: sessionmaker[Session],
    settings: Settings,
    post_id: int,
    now: datetime,
    n: int,
    label: str,
) -> None:
    rng = random.Random(7)
    communes = list(communes_in_province("24"))
    page_ms: list[float] = []
    raw_ms: list[float] = []
    offered: list[int] = []
    midnight = datetime(DAY.year, DAY.month, DAY.day, tzinfo=VN)
    slots = [
        TimeWindow(int((s - midnight).total_seconds()), int((e - midnight).total_seconds()))
        for s, e in booking_slots(settings, DAY)
    ]
    for _ in range(n):
        c = rng.choice(communes)
        lat, lon = c.lat + rng.gauss(0, 0.01), c.lon + rng.gauss(0, 0.01)
        with factory() as session:
            t0 = time.perf_counter()
            ok = offerable_windows(session, post_office_id=post_id, lat=lat, lon=lon, day=DAY,
                                   now=now, settings=settings)  # fmt: skip
            page_ms.append((time.perf_counter() - t0) * 1000)
            offered.append(len(ok))
            # The reference: the same insertion on the same routes, in memory.
            day = build_day(session, settings, post_office_id=post_id, day=DAY, now=now,
                            assigned_only=True)  # fmt: skip
            saved = current_plan(session, day)
            problem, (home,) = with_locations(day.problem, [Location("new", lat, lon)])
            booking = Shipment("new", Stop("new:p", home, "home_pickup", None, 300),
                               Stop("new:d", 0, "office_drop", None, 120))  # fmt: skip
            t0 = time.perf_counter()
            raw_windows(problem, saved, booking, slots)
            raw_ms.append((time.perf_counter() - t0) * 1000)
            session.rollback()
    mp, mr = statistics.median(page_ms), statistics.median(raw_ms)
    print(f"{label}: booking page median {mp:.0f} ms (max {max(page_ms):.0f}), reference "
          f"median {mr:.1f} ms, ratio {mp / mr:.1f}; windows offered median "
          f"{statistics.median(offered)} of {len(slots)}")  # fmt: skip


def _measure(url: str, args: argparse.Namespace) -> None:
    settings = Settings(environment="test", secret_key="bench", database_url=url)
    engine = create_engine(url)
    try:
        upgrade(url)
        factory = make_sessionmaker(engine)
        with factory.begin() as session:
            load_admin_units(session)
            post_id = _fill(session, settings, args.couriers)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {args.couriers} "
              f"couriers, 150 bookings (300 stops) on {DAY}")  # fmt: skip
        with factory.begin() as session:
            t0 = time.perf_counter()
            draft = update_day(session, settings, post_office_id=post_id, day=DAY, now=EVENING,
                               insertion_budget_s=600)  # fmt: skip
            print(f"draft routes by insertion (the day's plan not started): "
                  f"{time.perf_counter() - t0:.1f} s, {draft.stops_assigned} stops routed, "
                  f"{len(draft.unassigned)} unassigned")  # fmt: skip
        _checks(factory, settings, post_id, EVENING, args.checks, "draft day, the evening before")
        with factory.begin() as session:
            planned = plan_day(session, settings, post_office_id=post_id, day=DAY, now=MORNING,
                               time_limit_s=args.time_limit)  # fmt: skip
            routed, left = planned.stops_assigned, len(planned.unassigned)
            print(f"day planned at 06:00 ({planned.engine}, {args.time_limit} s): "
                  f"{routed} routed, {left} unassigned")  # fmt: skip
        _checks(factory, settings, post_id, MORNING, args.checks, "planned day, 06:00")
    finally:
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checks", type=int, default=30, help="window checks to time per phase")
    ap.add_argument("--couriers", type=int, default=15)
    ap.add_argument("--time-limit", type=float, default=5.0, help="the day's plan budget")
    args = ap.parse_args()
    server = os.environ.get("HOSO_BENCH_DATABASE_URL") or os.environ.get("HOSO_TEST_DATABASE_URL")
    with scratch_database(server, "hoso_windows_bench_") as url:
        _measure(url, args)


if __name__ == "__main__":
    main()
