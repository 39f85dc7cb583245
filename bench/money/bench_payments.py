"""Scans per second with and without payments recorded beside them at 50 per second.

Issue 14: recording a payment and its receipt at 50 per second beside the scan load must not
slow scans by more than 10%. Each round scans two equal sets of fresh items in batches through
the custody service (``record``, one transaction per batch, as the courier app's sync does):
one set with ``--payers`` other processes (other app workers) started and idle, the other
while they record cash payments with their receipts (``core.money.record_payment``, one
transaction each, as the door-step does) paced at ``--rate`` per second in all. The order of
the two phases alternates round by round, so a load swing on the shared machine does not
favour one side; the ratio (scans/s with payments ÷ scans/s alone) is taken per round and its
median quoted, with the CPU each payment cost and what the sessions waited on. That is the
saturation mode: it measures how much of the machine's CPU the payments take from a scan
loop that wants all of it. The open-loop mode (``open_loop.py``) offers the scans at the scan
load's rate instead (``--offered``, default docs/scaling.md's design peak of ~600 events/s)
and compares their latency per batch commit and the rate achieved, alone and beside the
payments; ``--mode both`` (the default) runs saturation, then the open loop.

    .venv/bin/python bench/money/bench_payments.py [--mode both|saturation|open] [--rounds 5]
        [--items 1500] [--batch 50] [--rate 50] [--payers 4]
        [--offered 600] [--seconds 6] [--scanners 2]

Uses ``HOSO_BENCH_DATABASE_URL`` when set (a fresh database is created on that server),
else an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
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
from open_loop import OpenPhase, offer_scans  # noqa: E402

from core.custody.parties import Actor  # noqa: E402
from core.db import make_sessionmaker, transaction  # noqa: E402
from core.identity.service import actor_for  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.money import charge_case, payment_state, record_payment  # noqa: E402
from core.places.service import load_admin_units  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.core.money.helpers import priced_case  # noqa: E402
from tests.factories import make_user  # noqa: E402
from vntime import VN  # noqa: E402


def _quoted_cases(factory: sessionmaker[Session], settings: Settings, count: int) -> list[int]:
    """Booked cases, each charged its quote as the booking service does when it is made (so
    the payment at the door posts the payment and its receipt, not the charge too)."""
    at = datetime.now(VN)
    with transaction(factory) as session:
        cases = [priced_case(session, settings).id for _ in range(count)]
        for case_id in cases:
            charge_case(session, case_id, at=at)
    return cases


TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of a PostgreSQL backend on this machine, from /proc; None
    where it cannot be read (a server elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def pay(url: str, cases: list[int], rate: float, stop: EventType, report: Queue) -> None:  # type: ignore[type-arg]
    """In a process of its own (as another app worker would be): one payment with its
    receipt every 1/rate seconds until stopped (none at rate 0: the worker is there, idle);
    reports (payments, seconds, its own CPU seconds, its backend's CPU seconds or None)."""
    engine = create_engine(url, pool_size=1, max_overflow=0,
                           connect_args={"application_name": "bench-payer"})  # fmt: skip
    factory = make_sessionmaker(engine)
    with factory() as session:
        backend = int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
        session.commit()
    done = 0
    started = due = time.perf_counter()
    cpu_before, backend_before = time.process_time(), backend_cpu_seconds(backend)
    for case_id in cases if rate > 0 else []:
        if stop.is_set():
            break
        with transaction(factory) as session:
            # As the door-step does: what is still due, then the cash with its receipt.
            state = payment_state(session, case_id)
            record_payment(session, case_id=case_id, method="cash", amount_vnd=state.due_vnd,
                           at=datetime.now(VN), actor_user_id=None, payer="Trần Thị Hoa",
                           reference="bench", idempotency_key=f"bench-pay-{case_id}",
                           read=state)  # fmt: skip
        done += 1
        due += 1.0 / rate
        pause = due - time.perf_counter()
        if pause > 0:
            stop.wait(pause)
    stop.wait()
    backend_after = backend_cpu_seconds(backend)
    server = None
    if backend_before is not None and backend_after is not None:
        server = backend_after - backend_before
    report.put((done, time.perf_counter() - started, time.process_time() - cpu_before, server))
    engine.dispose()


def watch_waits(url: str, stop: EventType, report: Queue) -> None:  # type: ignore[type-arg]
    """Five times a second: what is each active session of the bench database waiting for
    (a lock, the WAL, the disk, nothing: on the CPU)? Reports (samples, {"who: wait": n}),
    ``who`` being the scans or the payers (their application names). A scan queued behind a
    payment's lock would show as ``scans: Lock:…``."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    samples = 0
    waits: Counter[str] = Counter()
    with engine.connect() as connection:
        while not stop.wait(0.2):
            samples += 1
            for who, wait in connection.execute(text(
                "SELECT application_name, coalesce(wait_event_type || ':' || wait_event, 'CPU') "
                "FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
                "AND application_name IN ('bench-scans', 'bench-payer')"
            )):  # fmt: skip
                waits[f"{who.removeprefix('bench-')}: {wait}"] += 1
            connection.rollback()
    report.put((samples, dict(waits)))
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


@dataclass
class Phase:
    scans_per_second: float
    payments_per_second: float
    client_cpu_ms: float | None  # per payment, in the payers' processes
    server_cpu_ms: float | None  # per payment, in their PostgreSQL backends
    wait_samples: int
    waits: dict[str, int]  # "scans: CPU", "payer: LWLock:WALWrite", ... : times seen


class Beside:
    """``--payers`` processes (other app workers) and the wait sampler, running beside the
    scans: paying at ``rate`` in all, or started, connected and idle at rate 0."""

    def __init__(self, url: str, cases: list[int], payers: int, rate: float) -> None:
        self.stop, self.report, self.watched = Event(), Queue(), Queue()  # type: ignore[var-annotated]
        self.payers = payers
        share = rate / payers
        self.workers = [
            Process(target=pay, args=(url, cases[i::payers], share, self.stop, self.report))
            for i in range(payers)
        ]
        self.workers.append(Process(target=watch_waits, args=(url, self.stop, self.watched)))
        for worker in self.workers:
            worker.start()
        time.sleep(1.0)  # the payers' start-up (connection, first query) is not the load

    def finish(self, scans_per_second: float) -> Phase:
        self.stop.set()
        answers = [self.report.get(timeout=120) for _ in range(self.payers)]
        samples, waits = self.watched.get(timeout=60)
        for worker in self.workers:
            worker.join()
        done = sum(a[0] for a in answers)
        servers = [a[3] for a in answers]
        return Phase(
            scans_per_second=scans_per_second,
            payments_per_second=sum(a[0] / a[1] for a in answers if a[1]),
            client_cpu_ms=1000 * sum(a[2] for a in answers) / done if done else None,
            server_cpu_ms=(
                1000 * sum(s for s in servers if s is not None) / done
                if done and None not in servers
                else None
            ),
            wait_samples=samples,
            waits=waits,
        )


def _phase(
    url: str,
    factory: sessionmaker[Session],
    actor: Actor,
    codes: list[str],
    cases: list[int],
    args: argparse.Namespace,
    rate: float,
) -> Phase:
    """Scans per second while ``--payers`` processes pay at ``rate`` in all (0: they are
    started and connected, and wait), with what the payments achieved and cost."""
    beside = Beside(url, cases, args.payers, rate)
    return beside.finish(_scan_phase(factory, actor, codes, args.batch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--items", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rate", type=float, default=50.0)
    # Payments arrive through several app workers, as in production; each pays rate/payers.
    parser.add_argument("--payers", type=int, default=4)
    parser.add_argument("--mode", choices=("saturation", "open", "both"), default="both")
    # The open loop: scans offered at the scan load's rate (docs/scaling.md's design peak,
    # ~600 events/s, what one primary carries for the whole country) for --seconds a phase,
    # taken by --scanners app-worker processes.
    parser.add_argument("--offered", type=float, default=600.0)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--scanners", type=int, default=2)
    args = parser.parse_args()
    with scratch_database() as url:
        upgrade(url)
        engine = create_engine(url, pool_size=6,
                               connect_args={"application_name": "bench-scans"})  # fmt: skip
        factory = make_sessionmaker(engine)
        settings = Settings(environment="test", secret_key="bench", database_url=url)
        with transaction(factory) as session:
            load_admin_units(session)
            actor = actor_for(make_user(session, "courier"))
        if args.mode in ("saturation", "both"):
            _measure(url, factory, settings, actor, args)
        if args.mode in ("open", "both"):
            measure_open(url, factory, settings, actor, args)
        engine.dispose()


def _measure(
    url: str,
    factory: sessionmaker[Session],
    settings: Settings,
    actor: Actor,
    args: argparse.Namespace,
) -> None:
    """Saturation: scans as fast as they go, alone and beside the payments."""
    print(f"saturation (closed loop), load average {_load()}", flush=True)
    alone_rates, beside_rates, ratios, pay_rates = [], [], [], []
    client_cpu, server_cpu = [], []
    samples = {"alone": 0, "with payments": 0}
    waits: dict[str, Counter[str]] = {"alone": Counter(), "with payments": Counter()}
    for round_number in range(1, args.rounds + 1):
        alone_codes = _make_items(factory, settings, args.items)
        beside_codes = _make_items(factory, settings, args.items)
        # Enough quoted cases to pay at the rate for far longer than the phase lasts.
        cases = _quoted_cases(factory, settings, max(50, int(args.rate * args.items / 300)))
        with factory() as session:
            session.execute(text("ANALYZE"))
            session.commit()

        # The order alternates round by round: a load swing does not favour one side.
        if round_number % 2:
            without = _phase(url, factory, actor, alone_codes, cases, args, 0.0)
            with_payments = _phase(url, factory, actor, beside_codes, cases, args, args.rate)
        else:
            with_payments = _phase(url, factory, actor, beside_codes, cases, args, args.rate)
            without = _phase(url, factory, actor, alone_codes, cases, args, 0.0)
        ratio = with_payments.scans_per_second / without.scans_per_second
        alone_rates.append(without.scans_per_second)
        beside_rates.append(with_payments.scans_per_second)
        ratios.append(ratio)
        pay_rates.append(with_payments.payments_per_second)
        if with_payments.client_cpu_ms is not None:
            client_cpu.append(with_payments.client_cpu_ms)
        if with_payments.server_cpu_ms is not None:
            server_cpu.append(with_payments.server_cpu_ms)
        for name, phase in (("alone", without), ("with payments", with_payments)):
            samples[name] += phase.wait_samples
            waits[name].update(phase.waits)
        print(f"round {round_number}: scans alone {without.scans_per_second:7.0f}/s   with "
              f"payments {with_payments.scans_per_second:7.0f}/s   payments "
              f"{with_payments.payments_per_second:5.1f}/s   ratio {ratio:.2f}   load "
              f"{_load()}", flush=True)  # fmt: skip
    print(
        f"\nmedian over {args.rounds} rounds of {args.items} scans in batches of {args.batch}"
        f" ({args.payers} payer processes, idle in the 'alone' phase):"
        f"\n  scans alone           {statistics.median(alone_rates):7.0f} events/s"
        f"\n  scans with payments   {statistics.median(beside_rates):7.0f} events/s"
        f"\n  payments recorded     {statistics.median(pay_rates):7.1f} /s (target {args.rate:g})"
        f"\n  ratio                 {statistics.median(ratios):.2f}  (target >= 0.90)"
    )
    if client_cpu:
        print(f"  CPU per payment       {statistics.median(client_cpu):7.2f} ms in the payer, "
              + (f"{statistics.median(server_cpu):.2f} ms in its PostgreSQL backend"
                 if server_cpu else "backend not measurable"))  # fmt: skip
    for name in waits:
        print(f"  sessions seen active in {samples[name]} samples of pg_stat_activity, {name}:"
              + "".join(f"\n    {n:5d}  {q}" for q, n in sorted(waits[name].items())))  # fmt: skip


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (5-min {five:.1f})"


def measure_open(
    url: str,
    factory: sessionmaker[Session],
    settings: Settings,
    actor: Actor,
    args: argparse.Namespace,
) -> None:
    """Open loop: scans offered at ``--offered`` a second, alone and beside the payments;
    latency per batch commit and the scan rate achieved, per round and their ratios."""
    count = max(args.batch, int(args.offered * args.seconds) // args.batch * args.batch)
    print(f"\nopen loop: {count} scans a phase offered at {args.offered:g}/s in batches of "
          f"{args.batch} to {args.scanners} scanner processes, load average {_load()}",
          flush=True)  # fmt: skip
    ratios: dict[str, list[float]] = {"median": [], "p95": [], "p99": [], "achieved": []}
    pooled: dict[str, list[float]] = {"alone": [], "with payments": []}
    achieved: dict[str, list[float]] = {"alone": [], "with payments": []}
    pay_rates, loads = [], []
    for round_number in range(1, args.rounds + 1):
        alone_codes = _make_items(factory, settings, count)
        beside_codes = _make_items(factory, settings, count)
        # Enough quoted cases to pay at the rate for longer than the phase lasts.
        cases = _quoted_cases(factory, settings, int(args.rate * (args.seconds + 10)) + 20)
        with factory() as session:
            session.execute(text("ANALYZE"))
            session.commit()

        def run(codes: list[str], rate: float, cases: list[int] = cases) -> tuple[OpenPhase, Phase]:
            beside = Beside(url, cases, args.payers, rate)
            scans = offer_scans(url, actor, codes, args.batch, args.offered, args.scanners)
            return scans, beside.finish(scans.achieved_per_second)

        # The order alternates round by round: a load swing does not favour one side.
        if round_number % 2:
            alone, _ = run(alone_codes, 0.0)
            beside, payments = run(beside_codes, args.rate)
        else:
            beside, payments = run(beside_codes, args.rate)
            alone, _ = run(alone_codes, 0.0)
        ratios["median"].append(beside.median_ms / alone.median_ms)
        ratios["p95"].append(beside.percentile(0.95) / alone.percentile(0.95))
        ratios["p99"].append(beside.percentile(0.99) / alone.percentile(0.99))
        ratios["achieved"].append(beside.achieved_per_second / alone.achieved_per_second)
        for name, phase in (("alone", alone), ("with payments", beside)):
            pooled[name].extend(phase.latencies_ms)
            achieved[name].append(phase.achieved_per_second)
        pay_rates.append(payments.payments_per_second)
        loads.append(os.getloadavg()[0])
        print(f"round {round_number}: latency ms median/p95/p99 alone "
              f"{alone.median_ms:.0f}/{alone.percentile(0.95):.0f}/{alone.percentile(0.99):.0f}"
              f"  with payments {beside.median_ms:.0f}/{beside.percentile(0.95):.0f}/"
              f"{beside.percentile(0.99):.0f}   scans achieved {alone.achieved_per_second:.0f}"
              f" vs {beside.achieved_per_second:.0f}/s   payments "
              f"{payments.payments_per_second:.1f}/s   load {_load()}", flush=True)  # fmt: skip
    batches = len(pooled["alone"])
    print(f"\nopen loop, {args.rounds} rounds ({batches} batch commits a side):")
    for name in pooled:
        every = OpenPhase(pooled[name], statistics.median(achieved[name]), args.offered)
        print(f"  {name:14s} latency median {every.median_ms:6.1f} ms  p95 "
              f"{every.percentile(0.95):6.1f} ms  p99 {every.percentile(0.99):6.1f} ms   "
              f"scans achieved {every.achieved_per_second:6.0f}/s "
              f"(offered {args.offered:g})")  # fmt: skip
    print(f"  payments recorded {statistics.median(pay_rates):.1f}/s (target {args.rate:g});"
          f" load average after each round {', '.join(f'{x:.1f}' for x in loads)}")  # fmt: skip
    print(
        "  medians of per-round ratios (with payments ÷ alone; scans slowed by <= 10% means"
        " latency ratio <= 1.10 and achieved ratio >= 0.90):"
    )
    for key in ("median", "p95", "p99"):
        print(f"    latency {key:6s} ratio  {statistics.median(ratios[key]):.2f}   rounds "
              + ", ".join(f"{x:.2f}" for x in ratios[key]))  # fmt: skip
    print(f"    achieved scans ratio {statistics.median(ratios['achieved']):.2f}   rounds "
          + ", ".join(f"{x:.2f}" for x in ratios["achieved"]))  # fmt: skip


if __name__ == "__main__":
    main()
