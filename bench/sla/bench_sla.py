"""The service-quality dashboard over one province-year, and the time from a new ledger
event to its figure.

Builds a province-year of real rows (``province_year.py`` beside this file): ``--cases``
cases (default 1,000,000, about 10 events each in the hash-chained custody ledger) booked
over the 365 days up to now at 100 post offices with 10 couriers each, for 100 offices and
50 procedures, with desk hand-overs and ratings, and the roll-ups the real measure code makes
of them; then the real roll-up re-reads a sample from the tables and must change nothing.

Then, through a real HTTP server (uvicorn on 127.0.0.1), warm, alternating round by round:
- the reference: ``GET /healthz`` (a request with one trivial query);
- the dashboard page ``/sla`` as the province supervisor: the province today, this month and
  over the year, and one post office over the year;
and once: the new-event-to-figure latency: a real case is picked up through the ledger's
service while a worker thread runs the roll-up pass every second (as ``hoso worker`` does);
the time until the pickup is in today's figures.

    .venv/bin/python bench/sla/bench_sla.py [--cases 1000000] [--rounds 5]

Uses ``HOSO_BENCH_DATABASE_URL`` when set (a fresh database is created on that server and
dropped at the end), else an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "sla"))  # the generator beside this file

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from province_year import check_sample, generate  # noqa: E402

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


def _timed(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--parts", type=int, default=2, help="generator processes")
    args = parser.parse_args()
    # Progress lines reach a log file as they are printed (a long run is watched there).
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    # A stopped run still drops its scratch database (the context manager's exit runs).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
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
    started = time.perf_counter()
    print(f"{_clock()} building {args.cases:,} cases in {args.parts} processes;"
          f" {_load()}", flush=True)  # fmt: skip
    built = generate(engine, factory, settings, cases=args.cases, now=now, parts=args.parts)
    print(
        f"{_clock()} built a province-year in {time.perf_counter() - started:.0f} s:"
        f" {built.cases:,} cases ({built.open_cases:,} open), {built.events:,} ledger events,"
        f" {built.handovers:,} desk hand-overs, {built.ratings:,} ratings, {built.tickets:,}"
        f" counter queue tickets, {built.money_transactions:,} money transactions; {_load()}",
        flush=True,
    )
    with transaction(factory) as session:
        sizes = {t: session.scalar(text(f"SELECT count(*) FROM {t}"))
                 for t in ("custody_events", "sla_daily", "sla_facts", "counter_tickets",
                           "money_transactions", "money_postings",
                           "money_receipts")}  # fmt: skip
        first_post_office = session.scalar(text("SELECT min(post_office_id) FROM bookings"))
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in sizes.items()))
    checked, differ = check_sample(factory, settings, now=now)
    print(f"{_clock()} the real roll-up re-read {checked:,} sampled subjects: {differ} would"
          " change", flush=True)  # fmt: skip
    if differ:
        raise SystemExit("the generated roll-ups differ from what the roll-up computes")

    app = create_app(settings, url=url)
    year = f"range=custom&start={today - timedelta(days=364)}&end={today}"
    pages = {
        "today": f"/sla?level=province&id={PROVINCE}&range=today",
        "month": f"/sla?level=province&id={PROVINCE}&range=month",
        "year": f"/sla?level=province&id={PROVINCE}&{year}",
        "post office, year": f"/sla?level=post_office&id={first_post_office}&{year}",
    }
    times: dict[str, list[float]] = {"reference /healthz": [], **{k: [] for k in pages}}
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        client.cookies.set(SESSION_COOKIE, token)
        for page in pages.values():  # warm: the app, its templates, PostgreSQL's cache
            _timed(client, page)
        for _ in range(args.rounds):
            times["reference /healthz"].append(_timed(client, "/healthz"))
            for name, page in pages.items():
                times[name].append(_timed(client, page))
    server.should_exit = True
    serving.join()
    ref = statistics.median(times["reference /healthz"])
    print(f"\n{_clock()} {args.rounds} rounds; {_load()}")
    print(f"{'request':<22}{'median s':>10}{'x reference':>13}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<22}{med:>10.3f}{med / ref:>13.1f}")
    _parts(factory, today, args.rounds)
    _latency(factory, settings, today)
    print(f"{_clock()} done; {_load()}", flush=True)
    engine.dispose()


def _clock() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S UTC")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} (1, 5, 15 min)"


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
