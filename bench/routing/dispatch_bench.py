"""The full dispatch path through the database against the raw planner, same problem, same run.

A scratch database is created on the server named by ``HOSO_BENCH_DATABASE_URL`` (or
``HOSO_TEST_DATABASE_URL``), migrated, and filled with one post office, 15 couriers and the
Bắc Ninh scenario's 150 bookings (``routing.scenario.bac_ninh_day``: 300 stops) as real
bookings, cases and registered results. Then, interleaved, ``--repeats`` times:

* service: ``core.dispatch.service.plan_day`` re-planning the day — read bookings, ledger
  states, stop rows and couriers, sync the rows, travel matrix, plan, independent
  feasibility check, save rows, case couriers and the plan header (flushed; rolled back
  after each repeat). The day's first plan, which also creates the rows, is timed once;
* raw: ``routing.planner.plan`` on the very problem ``build_day`` produced, same budget;

and the booking page's window check, through the database
(``core.dispatch.service.offerable_windows``) and raw (``routing.windows.offerable_windows``
on the same saved plan). Medians and the ratio service / raw are printed. The database is
dropped at the end.

    HOSO_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/routing/dispatch_bench.py --time-limit 10 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from core.cases.service import BookingRequest, open_case, register_result
from core.custody.parties import Actor
from core.db import make_sessionmaker, scratch_database
from core.dispatch.day import build_day
from core.dispatch.service import current_plan, offerable_windows, plan_day
from core.identity.service import create_user
from core.migrate import upgrade
from core.places.models import Office, PostOffice, Procedure
from core.places.service import load_admin_units
from core.settings import Settings
from routing.admin_units import communes_in_province
from routing.feasibility import check_plan
from routing.model import Location, Shipment, Stop, TimeWindow
from routing.planner import plan as raw_plan
from routing.scenario import bac_ninh_day, biggest_ward_post_offices
from routing.travel import with_locations
from routing.windows import offerable_windows as raw_windows
from vntime import VN

DAY = date(2031, 3, 4)
MORNING = datetime(2031, 3, 4, 6, 0, tzinfo=VN)


WindowOf = Callable[[int, Stop], tuple[datetime, datetime]]


def fill_day(
    session: Session,
    settings: Settings,
    couriers: int,
    *,
    booked_at: datetime,
    results: bool = True,
    window_of: WindowOf | None = None,
) -> int:
    """The scenario's 150 shipments as real bookings at one post office; its id.

    With ``results``, a shipment from an office is a receive-only booking whose result is
    registered (the planner's day); without, every shipment is a dossier pickup (the day
    the booking page meets the evening before). ``window_of(n, home_stop)`` picks the n-th
    booking's window; by default the scenario's own. Shared by ``bench/booking``."""
    problem = bac_ninh_day(stops=300, couriers=couriers, seed=1)
    name, lat, lon = biggest_ward_post_offices("24", 1)[0]
    commune_at = {(round(c.lat, 6), round(c.lon, 6)): c for c in communes_in_province("24")}
    ward = commune_at[(round(lat, 6), round(lon, 6))]
    post = PostOffice(code="BENCH-PO", name=name, province_code="24", commune_code=ward.code,
                      address=name, lat=lat, lon=lon, position_source="bench")  # fmt: skip
    procedure = Procedure(slug="bench", name_vi="Thủ tục thử", name_en="Bench procedure",
                          level="commune", agency="UBND", processing_days=3, fee_vnd=0,
                          legal_basis="-", documents=[], sources=[])  # fmt: skip
    session.add_all([post, procedure])
    session.flush()
    for i in range(couriers):
        create_user(session, username=f"bench-courier-{i}", full_name=f"Bưu tá {i + 1:02d}",
                    role="courier", password=None, post_office_id=post.id)  # fmt: skip
    offices: dict[int, Office] = {}
    midnight = datetime(DAY.year, DAY.month, DAY.day, tzinfo=VN)

    def scenario_window(_: int, stop: Stop) -> tuple[datetime, datetime]:
        assert stop.window is not None
        return (midnight + timedelta(seconds=stop.window.start),
                midnight + timedelta(seconds=stop.window.end))  # fmt: skip

    window = window_of or scenario_window
    for n, sh in enumerate(problem.shipments):
        dossier = sh.pickup.kind == "home_pickup"
        home_stop, office_stop = (sh.pickup, sh.drop) if dossier else (sh.drop, sh.pickup)
        office_loc = problem.locations[office_stop.location]
        code = office_loc.id.split()[-1]
        if office_stop.location not in offices:
            office = Office(code=f"BENCH-{code}", name_vi=f"Một cửa {code}", name_en=code,
                            kind="commune_centre", province_code="24", commune_code=code,
                            address=code, lat=office_loc.lat, lon=office_loc.lon,
                            position_source="bench")  # fmt: skip
            session.add(office)
            session.flush()
            offices[office_stop.location] = office
        home = problem.locations[home_stop.location]
        receive = results and not dossier
        start, end = window(n, home_stop)
        case = open_case(
            session,
            settings,
            Actor.system(),
            BookingRequest(
                service_option="receive" if receive else "send",
                procedure_id=procedure.id, office_id=offices[office_stop.location].id,
                post_office_id=post.id, contact_name="Khách", contact_phone="0900000000",
                address_text=f"{home.id}, Tỉnh Bắc Ninh", commune_code=code,
                lat=home.lat, lon=home.lon, position_source="gps", position_accuracy_m=20.0,
                pickup_window_start=start, pickup_window_end=end,
            ),
            now=booked_at,
        )  # fmt: skip
        if receive:
            register_result(session, settings, Actor.system(), case, now=MORNING)
    session.flush()
    return post.id


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--couriers", type=int, default=15)
    ap.add_argument("--bookings", type=int, default=30, help="window checks to time")
    ap.add_argument("--break-minutes", type=int, default=None,
                    help="courier break (0 = none; default: the setting, 45)")  # fmt: skip
    args = ap.parse_args()
    # A scratch database on the configured server, else on an embedded PostgreSQL.
    server = os.environ.get("HOSO_BENCH_DATABASE_URL") or os.environ.get("HOSO_TEST_DATABASE_URL")
    with scratch_database(server, "hoso_dispatch_bench_") as url:
        _measure(url, args)


def _measure(url: str, args: argparse.Namespace) -> None:
    settings = Settings(environment="test", secret_key="bench", database_url=url)
    if args.break_minutes is not None:
        settings = settings.model_copy(update={"dispatch_break_minutes": args.break_minutes})
    engine = create_engine(url)
    try:
        upgrade(url)
        factory = make_sessionmaker(engine)
        with factory.begin() as session:
            load_admin_units(session)
            post_id = fill_day(
                session, settings, args.couriers, booked_at=MORNING - timedelta(days=1)
            )
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, budget "
              f"{args.time_limit} s, {args.couriers} couriers, "
              f"break {settings.dispatch_break_minutes} min")  # fmt: skip
        # The day's first plan creates its 300 stop rows; later plans of the day update them.
        with factory.begin() as session:
            t0 = time.perf_counter()
            first = plan_day(session, settings, post_office_id=post_id, day=DAY, now=MORNING,
                             time_limit_s=args.time_limit)  # fmt: skip
            wall = time.perf_counter() - t0
            print(f"first plan of the day (creates the stop rows): {wall:.2f} s, "
                  f"solver {first.wall_time_s:.2f} s")  # fmt: skip
        service_s: list[float] = []
        raw_s: list[float] = []
        for k in range(args.repeats):
            with factory() as session:
                t0 = time.perf_counter()
                summary = plan_day(session, settings, post_office_id=post_id, day=DAY,
                                   now=MORNING, time_limit_s=args.time_limit)  # fmt: skip
                service_s.append(time.perf_counter() - t0)
                session.rollback()
            with factory() as session:
                day = build_day(session, settings, post_office_id=post_id, day=DAY, now=MORNING)
                n_stops = len(day.problem.jobs) + 2 * len(day.problem.shipments)
                t0 = time.perf_counter()
                result = raw_plan(day.problem, time_limit_s=args.time_limit)
                raw_s.append(time.perf_counter() - t0)
                violations = check_plan(day.problem, result)
                session.rollback()
            print(f"  repeat {k + 1}: service {service_s[-1]:.2f} s ({summary.engine}, "
                  f"{summary.stops_assigned} routed, {len(summary.unassigned)} unassigned) | "
                  f"raw {raw_s[-1]:.2f} s ({result.engine}, {len(result.unassigned)} tasks "
                  f"unassigned, {len(violations)} violations)")  # fmt: skip
        ms, mr = statistics.median(service_s), statistics.median(raw_s)
        print(f"plan {n_stops} stops: service median {ms:.2f} s, raw planner median {mr:.2f} s, "
              f"ratio {ms / mr:.3f}")  # fmt: skip

        # The booking page: one new booking against the saved plan, through the database and raw.
        rng = random.Random(7)
        communes = list(communes_in_province("24"))
        db_ms: list[float] = []
        raw_ms: list[float] = []
        offered: list[int] = []
        for _ in range(args.bookings):
            c = rng.choice(communes)
            lat, lon = c.lat + rng.gauss(0, 0.01), c.lon + rng.gauss(0, 0.01)
            with factory() as session:
                t0 = time.perf_counter()
                ok = offerable_windows(session, post_office_id=post_id, lat=lat, lon=lon,
                                       day=DAY, now=MORNING, settings=settings)  # fmt: skip
                db_ms.append((time.perf_counter() - t0) * 1000)
                offered.append(len(ok))
                day = build_day(session, settings, post_office_id=post_id, day=DAY,
                                now=MORNING, assigned_only=True)  # fmt: skip
                saved = current_plan(session, day)
                problem, (home,) = with_locations(day.problem, [Location("new", lat, lon)])
                booking = Shipment("new", Stop("new:p", home, "home_pickup", None, 300),
                                   Stop("new:d", 0, "office_drop", None, 120))  # fmt: skip
                slots = [TimeWindow(h * 3600, (h + 2) * 3600) for h in (8, 10)] + [
                    TimeWindow(13 * 3600 + 1800, 15 * 3600 + 1800),
                    TimeWindow(15 * 3600, 17 * 3600),
                ]
                t0 = time.perf_counter()
                raw_windows(problem, saved, replace(booking), slots)
                raw_ms.append((time.perf_counter() - t0) * 1000)
                session.rollback()
        md, mr2 = statistics.median(db_ms), statistics.median(raw_ms)
        print(f"window check, {args.bookings} bookings: service median {md:.0f} ms "
              f"(max {max(db_ms):.0f}), raw median {mr2:.1f} ms, ratio {md / mr2:.1f}; "
              f"windows offered median {statistics.median(offered)} of 4")  # fmt: skip
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
