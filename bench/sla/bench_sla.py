"""The service-quality dashboard over one province-year, and the time from a new ledger
event to its figure.

Builds the roll-ups a province holds after a year: ``--cases`` cases (default 1,000,000)
spread over 365 days, 100 post offices, 100 offices, 10 couriers per post office and 50
procedures, each with the contributions a finished case makes (pickup, door to desk, result,
first attempt, returns, rating response, satisfaction; desk hand-overs of 10 items each).
The per-case rows are COPYed into a scratch table and summed into ``sla_daily`` grain by
grain in SQL, as the roll-up would have summed them one by one; 2 % of cases are left open
past their target in ``sla_facts`` for the late list. The ledger itself is not generated
(bench/ledger/bench_verify.py builds ledgers; the dashboard never reads it).

Then, alternating round by round:
- the reference: ``GET /healthz`` through the same app (a request with one trivial query);
- the province dashboard page ``/sla`` for today, for the month and for the whole year,
  as the province supervisor;
and once: the new-event-to-figure latency: a real case is picked up through the ledger's
service while a worker thread runs the roll-up pass every second (as ``hoso worker`` does);
the time until the pickup is in today's province figures.

    .venv/bin/python bench/sla/bench_sla.py [--cases 1000000] [--rounds 5]

Uses ``HOSO_BENCH_DATABASE_URL`` when set (a fresh database is created on that server),
else an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from core.access import SlaReach  # noqa: E402
from core.admin.users import Binding  # noqa: E402
from core.custody.service import record_one  # noqa: E402
from core.db import make_sessionmaker, transaction  # noqa: E402
from core.db import scratch_database as core_scratch_database  # noqa: E402
from core.identity.service import actor_for, issue_token  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.seed import seed_reference  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.sla.measures import GRAINS, MONTHLY  # noqa: E402
from core.sla.report import Period, figures  # noqa: E402
from core.sla.rollup import sla_pass  # noqa: E402
from edge.security import SESSION_COOKIE  # noqa: E402
from tests.core.admin.helpers import staff  # noqa: E402
from tests.core.custody.helpers import PICKUP_DETAILS, scan  # noqa: E402
from tests.factories import (  # noqa: E402
    dossier_of,
    make_case,
    make_office,
    make_post_office,
    make_user,  # noqa: E402
)
from vntime import VN  # noqa: E402

PROVINCE = "24"


def _base_rows(cases: int, year_start: date, seed: int = 7) -> io.StringIO:
    """Per-case contribution rows (tab-separated, as COPY reads them)."""
    rnd = random.Random(seed)
    out = io.StringIO()
    for i in range(cases):
        day = year_start + timedelta(days=i * 365 // cases)
        po = rnd.randrange(1, 101)
        office = rnd.randrange(1, 101)
        courier = po * 100 + rnd.randrange(10)
        procedure = rnd.randrange(1, 51)
        d1 = day + timedelta(days=1)
        d9 = day + timedelta(days=9)
        stars = rnd.choice((5, 5, 5, 4, 4, 3, 2)) if rnd.random() < 0.6 else 0
        first = rnd.random() < 0.85
        rows = [
            ("pickup_on_time", day, courier, 1, int(rnd.random() < 0.9), 0),
            ("door_to_desk", d1, courier, 1, int(rnd.random() < 0.92), rnd.randrange(3, 40) * 3600),
            ("result_on_time", d9, courier, 1, int(rnd.random() < 0.88), 0),
            ("first_attempt", d9, courier, 1, int(first), 0),
            ("returns", d9, courier, 1, int(not first and rnd.random() < 0.2), 0),
            ("rating_response", d9, courier, 1, int(stars > 0), 0),
        ]
        if stars:
            rows.append(("satisfaction", d9, courier, 1, int(stars >= 4), stars))
        if i % 10 == 0:
            rows.append(("desk_handover", d1, courier, 1, int(rnd.random() < 0.8),
                         rnd.randrange(5, 60) * 60))  # fmt: skip
        for measure, on, c, total, hits, value in rows:
            proc = 0 if measure == "desk_handover" else procedure
            out.write(f"{measure}\t{on}\t{po}\t{office}\t{c}\t{proc}\t{total}\t{hits}\t{value}\n")
    out.seek(0)
    return out


def build(engine_url: str, cases: int, today: date) -> float:
    """Fill sla_daily for the year up to ``today``; returns seconds taken."""
    started = time.perf_counter()
    engine = create_engine(engine_url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            "CREATE UNLOGGED TABLE sla_bench_base (measure text, day date, po int, office int,"
            " courier int, procedure int, total int, hits int, value bigint)"
        )
        # A bulk load: the secondary indexes are built once at the end, not row by row.
        for name in ("ix_sla_daily_post_office", "ix_sla_daily_office", "ix_sla_daily_courier"):
            cursor.execute(f"DROP INDEX {name}")
        with cursor.copy("COPY sla_bench_base FROM STDIN") as copy:
            for line in _base_rows(cases, today - timedelta(days=364)):
                copy.write(line)
        for grain, dims in GRAINS.items():
            cols = {d: (d.split("_id")[0] if d != "post_office_id" else "po") for d in dims}
            pick = ", ".join(
                cols[d] if d in dims else "0"
                for d in ("post_office_id", "office_id", "courier_id", "procedure_id")
            )
            group = ", ".join(["measure", "day", *(cols[d] for d in dims)])
            for suffix, day in (("", "day"), (MONTHLY, "date_trunc('month', day)::date")):
                cursor.execute(
                    "INSERT INTO sla_daily (grain, province_code, day, measure, post_office_id,"
                    " office_id, courier_id, procedure_id, total, hits, value_sum)"
                    f" SELECT '{grain}{suffix}', '{PROVINCE}', {day}, measure, {pick},"
                    f" sum(total), sum(hits), sum(value) FROM sla_bench_base"
                    f" GROUP BY {group.replace('day', day, 1)}"
                )
        cursor.execute(
            "INSERT INTO sla_facts (subject, subject_id, province_code, post_office_id,"
            " office_id, courier_id, procedure_id, open_stage, due_at, contributions,"
            " updated_at) SELECT 'case', 10000000 + g, %s, 1 + g %% 100, 1 + g %% 100,"
            " 100 + g %% 1000, 1, 'door_to_desk', now() - (g || ' minutes')::interval, '[]',"
            " now() FROM generate_series(1, %s) AS g",
            (PROVINCE, cases // 50),
        )
        for name, column in (("post_office", "post_office_id"), ("office", "office_id"),
                             ("courier", "courier_id")):  # fmt: skip
            cursor.execute(f"CREATE INDEX ix_sla_daily_{name} ON sla_daily (grain, {column}, day)")
        cursor.execute("DROP TABLE sla_bench_base")
        cursor.execute("ANALYZE sla_daily")
        cursor.execute("ANALYZE sla_facts")
        raw.commit()
        cursor.execute("SELECT count(*) FROM sla_daily")
        rows = cursor.fetchone()
        print(f"sla_daily rows: {rows[0] if rows else '?'}")
    finally:
        raw.close()
        engine.dispose()
    return time.perf_counter() - started


def _timed(client: TestClient, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with core_scratch_database(os.environ.get("HOSO_BENCH_DATABASE_URL"), "hoso_bench_") as url:
        _measure(url, args)


def _measure(url: str, args: argparse.Namespace) -> None:
    settings = Settings(environment="test", secret_key="bench", database_url=url)
    upgrade(url)
    engine = create_engine(url, pool_size=4)
    factory = make_sessionmaker(engine)
    now = datetime.now(UTC)
    today = now.astimezone(VN).date()
    with transaction(factory) as session:
        seed_reference(session)
        boss = staff(session, "province_supervisor", Binding(province_code=PROVINCE))
        token = issue_token(session, settings, boss, now=now).token
    seconds = build(url, args.cases, today)
    print(f"built a province-year of roll-ups from {args.cases:,} cases in {seconds:.0f} s")

    app = create_app(settings, url=url)
    year = f"range=custom&start={today - timedelta(days=364)}&end={today}"
    pages = {
        "today": f"/sla?level=province&id={PROVINCE}&range=today",
        "month": f"/sla?level=province&id={PROVINCE}&range=month",
        "year": f"/sla?level=province&id={PROVINCE}&{year}",
        "post office, year": f"/sla?level=post_office&id=1&{year}",
    }
    times: dict[str, list[float]] = {"reference /healthz": [], **{k: [] for k in pages}}
    with TestClient(app) as client:
        client.cookies.set(SESSION_COOKIE, token)
        _timed(client, pages["today"])  # warm the app
        for _ in range(args.rounds):
            times["reference /healthz"].append(_timed(client, "/healthz"))
            for name, page in pages.items():
                times[name].append(_timed(client, page))
    ref = statistics.median(times["reference /healthz"])
    print(f"\n{'request':<22}{'median s':>10}{'x reference':>13}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<22}{med:>10.3f}{med / ref:>13.1f}")
    _parts(factory, today, args.rounds)
    _latency(factory, settings, today)
    engine.dispose()


def _parts(factory: object, today: date, rounds: int) -> None:
    """Where the year page's time goes: each query of core.sla.report, medians."""
    from sqlalchemy.orm import sessionmaker

    from core.sla.report import breakdown, late_now, trends

    assert isinstance(factory, sessionmaker)
    reach = SlaReach("province", province_code=PROVINCE)
    year = Period(today - timedelta(days=364), today)
    parts: dict[str, Callable[[Session], object]] = {
        "figures": lambda s: figures(s, reach, year),
        "trends": lambda s: trends(s, reach, year),
        "by post office": lambda s: breakdown(s, reach, year, "post_office"),
        "by office": lambda s: breakdown(s, reach, year, "office"),
        "by procedure": lambda s: breakdown(s, reach, year, "procedure"),
        "late now": lambda s: late_now(s, reach, now=datetime.now(UTC)),
    }
    print(f"\n{'province-year query':<22}{'median s':>10}")
    with transaction(factory) as session:
        for name, run in parts.items():
            taken = []
            for _ in range(rounds):
                started = time.perf_counter()
                run(session)
                taken.append(time.perf_counter() - started)
            print(f"{name:<22}{statistics.median(taken):>10.3f}")


def _latency(factory: object, settings: Settings, today: date, samples: int = 5) -> None:
    """Pick cases up while a worker thread runs the pass every second (hoso worker's poll):
    the time from each pickup's commit until today's figure counts it."""
    from sqlalchemy.orm import sessionmaker

    from core.identity.models import User

    assert isinstance(factory, sessionmaker)
    with transaction(factory) as session:
        post_office = make_post_office(session, code="PO-LAT")
        office = make_office(session)
        courier = make_user(session, "courier", post_office_id=post_office.id)
        codes = [
            dossier_of(session, make_case(session, settings, post_office=post_office,
                                          office=office)).code
            for _ in range(samples)
        ]  # fmt: skip
        courier_id = courier.id
    reach = SlaReach("post_office", province_code=PROVINCE, ident=post_office.id)
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            sla_pass(factory, settings, now=datetime.now(UTC))
            stop.wait(1.0)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    taken = []
    try:
        time.sleep(1.5)  # the worker has caught up with the bookings
        for n, code in enumerate(codes, start=1):
            # The generated places share ids with real ones: wait for the figure to move by
            # one from what it was, not for an absolute value.
            with transaction(factory) as session:
                before = {f.measure.key: f.total
                          for f in figures(session, reach, Period(today, today))}  # fmt: skip
            with transaction(factory) as session:
                user = session.get(User, courier_id)
                assert user is not None
                record_one(session, actor_for(user),
                           scan("picked_up", code, details=PICKUP_DETAILS))  # fmt: skip
            committed = time.perf_counter()
            while True:
                with transaction(factory) as session:
                    got = {f.measure.key: f.total
                           for f in figures(session, reach, Period(today, today))}  # fmt: skip
                if got["pickup_on_time"] > before["pickup_on_time"]:
                    break
                if time.perf_counter() - committed > 120:
                    raise SystemExit("a pickup did not show within 2 minutes")
                time.sleep(0.05)
            taken.append(time.perf_counter() - committed)
            time.sleep(0.37 * n % 1)  # commit at different points of the poll cycle
    finally:
        stop.set()
        thread.join()
    print(
        f"\nnew event → today's figure over {samples} pickups: median "
        f"{statistics.median(taken):.2f} s, max {max(taken):.2f} s (worker polling every 1 s)"
    )


if __name__ == "__main__":
    main()
