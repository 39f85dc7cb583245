"""Scans per second with and without payments recorded beside them at 50 per second.

Issue 14: recording a payment and its receipt at 50 per second beside the scan load must not
slow scans by more than 10%. Each round scans two equal sets of fresh items in batches through
the custody service (``record``, one transaction per batch, as the courier app's sync does):
one set alone, the other while ``--payers`` other processes (other app workers) record cash
payments with their receipts
(``core.money.record_payment``, one transaction each, as the door-step does) paced at
``--rate`` per second. The order of the two phases alternates round by round, so a load swing
on the shared machine does not favour one side; the ratio (scans/s with payments ÷ scans/s
alone) is taken per round and its median quoted.

    .venv/bin/python bench/money/bench_payments.py [--rounds 5] [--items 1500] [--batch 50]
        [--rate 50] [--payers 4]

Uses ``HOSO_BENCH_DATABASE_URL`` when set (a fresh database is created on that server),
else an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from multiprocessing import Event, Process, Queue
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "ledger"))  # the scan batch is the ledger bench's own

from bench_ledger import _make_items, scratch_database, service_batch  # noqa: E402

from core.custody.parties import Actor  # noqa: E402
from core.db import make_sessionmaker, transaction  # noqa: E402
from core.identity.service import actor_for  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.money import payment_state, record_payment  # noqa: E402
from core.places.service import load_admin_units  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.core.money.helpers import priced_case  # noqa: E402
from tests.factories import make_user  # noqa: E402
from vntime import VN  # noqa: E402


def _quoted_cases(factory: sessionmaker[Session], settings: Settings, count: int) -> list[int]:
    with transaction(factory) as session:
        return [priced_case(session, settings).id for _ in range(count)]


def pay(url: str, cases: list[int], rate: float, stop: EventType, report: Queue) -> None:  # type: ignore[type-arg]
    """In a process of its own (as another app worker would be): one payment with its
    receipt every 1/rate seconds until stopped; reports (payments, seconds)."""
    engine = create_engine(url, pool_size=1)
    factory = make_sessionmaker(engine)
    interval = 1.0 / rate
    done = 0
    started = due = time.perf_counter()
    for case_id in cases:
        if stop.is_set():
            break
        with transaction(factory) as session:
            amount = payment_state(session, case_id).due_vnd
            record_payment(session, case_id=case_id, method="cash", amount_vnd=amount,
                           at=datetime.now(VN), actor_user_id=None, payer="Trần Thị Hoa",
                           reference="bench", idempotency_key=f"bench-pay-{case_id}")  # fmt: skip
        done += 1
        due += interval
        pause = due - time.perf_counter()
        if pause > 0:
            stop.wait(pause)
    report.put((done, time.perf_counter() - started))
    engine.dispose()


def _scan_phase(
    factory: sessionmaker[Session], actor: Actor, codes: list[str], batch: int
) -> float:
    """Scans per second over the phase (the time inside the scan transactions)."""
    seconds = 0.0
    for start in range(0, len(codes), batch):
        spent, _ = service_batch(factory, actor, codes[start : start + batch])
        seconds += spent
    return len(codes) / seconds


def _beside(
    url: str,
    factory: sessionmaker[Session],
    actor: Actor,
    codes: list[str],
    cases: list[int],
    args: argparse.Namespace,
) -> tuple[float, float]:
    """Scans per second while the payers pay; and the payments per second they achieved."""
    stop, report = Event(), Queue()  # type: ignore[var-annotated]
    share = args.rate / args.payers
    payers = [
        Process(target=pay, args=(url, cases[i :: args.payers], share, stop, report))
        for i in range(args.payers)
    ]
    for payer in payers:
        payer.start()
    time.sleep(1.0)  # the payers' start-up (connection, first query) is not the load
    rate = _scan_phase(factory, actor, codes, args.batch)
    stop.set()
    answers = [report.get(timeout=120) for _ in payers]
    for payer in payers:
        payer.join()
    return rate, sum(done / seconds for done, seconds in answers if seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--items", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rate", type=float, default=50.0)
    # Payments arrive through several app workers, as in production; each pays rate/payers.
    parser.add_argument("--payers", type=int, default=4)
    args = parser.parse_args()
    with scratch_database() as url:
        _measure(url, args)


def _measure(url: str, args: argparse.Namespace) -> None:
    upgrade(url)
    engine = create_engine(url, pool_size=6)
    factory = make_sessionmaker(engine)
    settings = Settings(environment="test", secret_key="bench", database_url=url)
    with transaction(factory) as session:
        load_admin_units(session)
        actor = actor_for(make_user(session, "courier"))
    alone_rates, beside_rates, ratios, pay_rates = [], [], [], []
    for round_number in range(1, args.rounds + 1):
        alone_codes = _make_items(factory, settings, args.items)
        beside_codes = _make_items(factory, settings, args.items)
        # Enough quoted cases to pay at the rate for far longer than the phase lasts.
        cases = _quoted_cases(factory, settings, max(50, int(args.rate * args.items / 300)))
        with factory() as session:
            session.execute(text("ANALYZE"))
            session.commit()

        if round_number % 2:
            alone = _scan_phase(factory, actor, alone_codes, args.batch)
            with_payments, paid = _beside(url, factory, actor, beside_codes, cases, args)
        else:
            with_payments, paid = _beside(url, factory, actor, beside_codes, cases, args)
            alone = _scan_phase(factory, actor, alone_codes, args.batch)
        alone_rates.append(alone)
        beside_rates.append(with_payments)
        ratios.append(with_payments / alone)
        pay_rates.append(paid)
        print(f"round {round_number}: scans alone {alone:7.0f}/s   with payments "
              f"{with_payments:7.0f}/s   payments {paid:5.1f}/s   ratio "
              f"{with_payments / alone:.2f}", flush=True)  # fmt: skip
    print(
        f"\nmedian over {args.rounds} rounds of {args.items} scans in batches of {args.batch}:"
        f"\n  scans alone           {statistics.median(alone_rates):7.0f} events/s"
        f"\n  scans with payments   {statistics.median(beside_rates):7.0f} events/s"
        f"\n  payments recorded     {statistics.median(pay_rates):7.1f} /s (target {args.rate:g})"
        f"\n  ratio                 {statistics.median(ratios):.2f}  (target >= 0.90)"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
