"""Where one payment with its receipt spends its time, as the bench's payers record it.

Pays ``--payments`` quoted cases one after the other, each in its own transaction, as the
door-step does (``payment_state`` for what is due, then ``core.money.record_payment`` with
the state that read returned), after a warm-up that lets the driver prepare its statements.
Reports the statements one payment sends (counted with SQLAlchemy's cursor events) with the
median wall time of each (client to server and back), and per payment: the payer's CPU
(``time.process_time``), its PostgreSQL backend's CPU (``/proc/<pid>/stat``, the server on
this machine) and the wall time, measured over payments sent without the statement
listeners. ``--profile`` adds the payer's cProfile (CPU time), by cumulative time
(``--sort tottime``: by time in the function itself).

    .venv/bin/python bench/money/profile_payment.py [--payments 300] [--profile]
        [--sort cumulative|tottime]

Uses ``HOSO_BENCH_DATABASE_URL`` when set (a fresh database is created on that server),
else an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "ledger"))

from bench_ledger import scratch_database  # noqa: E402
from bench_payments import _quoted_cases, backend_cpu_seconds  # noqa: E402

from core.db import make_sessionmaker, transaction  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.money import payment_state, record_payment  # noqa: E402
from core.places.service import load_admin_units  # noqa: E402
from core.settings import Settings  # noqa: E402
from vntime import VN  # noqa: E402

WARM_UP = 20
TIMED = 50  # payments whose statements are listed and timed, before the measured ones


def _statements(
    factory: sessionmaker[Session], engine: Engine, cases: list[int]
) -> tuple[list[str], dict[str, list[float]]]:
    """The statements the first payment sends, and each statement's wall times (client to
    server and back) over all ``cases``' payments."""
    sent: list[str] = []
    walls: dict[str, list[float]] = defaultdict(list)
    started = [0.0]
    done = False  # the first payment is done: its statements are listed

    def before(*args: Any) -> None:
        if not done:
            sent.append(" ".join(str(args[2]).split())[:90])
        started[0] = time.perf_counter()

    def after(*args: Any) -> None:
        walls[" ".join(str(args[2]).split())[:90]].append(time.perf_counter() - started[0])

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        for case_id in cases:
            pay(factory, case_id)
            done = True
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return sent, walls


def pay(factory: sessionmaker[Session], case_id: int) -> None:
    with transaction(factory) as session:
        state = payment_state(session, case_id)
        record_payment(session, case_id=case_id, method="cash", amount_vnd=state.due_vnd,
                       at=datetime.now(VN), actor_user_id=None, payer="Trần Thị Hoa",
                       reference="bench", idempotency_key=f"bench-pay-{case_id}",
                       read=state)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", choices=("cumulative", "tottime"),
                        help="the profile's order")  # fmt: skip
    args = parser.parse_args()
    with scratch_database() as url:
        upgrade(url)
        engine = create_engine(url, pool_size=1, max_overflow=0)
        factory = make_sessionmaker(engine)
        settings = Settings(environment="test", secret_key="bench", database_url=url)
        with transaction(factory) as session:
            load_admin_units(session)
        runs = 2 if args.profile else 1
        cases = _quoted_cases(factory, settings, WARM_UP + TIMED + runs * args.payments)
        with factory() as session:
            session.execute(text("ANALYZE"))
            backend = int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
            session.commit()
        for case_id in cases[:WARM_UP]:
            pay(factory, case_id)
        sent, walls = _statements(factory, engine, cases[WARM_UP : WARM_UP + TIMED])
        print(f"statements per payment: {len(sent)} (and the commit)")
        for statement in sent:
            print(f"  {1000 * statistics.median(walls[statement]):6.2f} ms  {statement}")
        # CPU and wall without the statement listeners (their own work is the payer's CPU).
        todo = cases[WARM_UP + TIMED : WARM_UP + TIMED + args.payments]
        cpu, server, wall = time.process_time(), backend_cpu_seconds(backend), time.perf_counter()
        for case_id in todo:
            pay(factory, case_id)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        server_after = backend_cpu_seconds(backend)
        print(f"per payment over {len(todo)}: payer CPU {1000 * cpu / len(todo):.2f} ms, "
              + (f"backend CPU {1000 * (server_after - server) / len(todo):.2f} ms, "
                 if server is not None and server_after is not None else "")
              + f"wall {1000 * wall / len(todo):.2f} ms")  # fmt: skip
        if args.profile:
            profile = cProfile.Profile(time.process_time)  # CPU, not time spent waiting
            profile.enable()
            for case_id in cases[WARM_UP + TIMED + args.payments :]:
                pay(factory, case_id)
            profile.disable()
            pstats.Stats(profile).sort_stats(args.sort).print_stats(30)
        engine.dispose()


if __name__ == "__main__":
    main()
