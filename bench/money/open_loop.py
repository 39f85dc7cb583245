"""The open-loop half of the money bench: scans offered at the scan load's rate, not as fast
as they go, and their latency with and without payments beside them.

The saturation mode (``bench_payments.py``) scans as fast as it can, so every bit of CPU the
payments take shows as fewer scans per second: on a 2-core machine that measures the CPU
there is, not the scan load. Here batches of scans arrive on a fixed schedule (``--offered``
scans per second in batches of ``--batch``, as phones sync), whether or not earlier ones are
done; ``--scanners`` processes (app workers) take them from a queue. A batch's latency runs
from its scheduled arrival to its commit, so time spent queued behind a slow batch counts
(no coordinated omission). The phase reports the latency per batch commit (median, p95,
p99) and the scan rate achieved (scans ÷ time from the first arrival to the last commit).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from multiprocessing import Process, Queue

from bench_ledger import service_batch
from sqlalchemy import create_engine, text

from core.custody.parties import Actor
from core.db import make_sessionmaker


def scanner(url: str, actor: Actor, arrivals: Queue, done: Queue) -> None:  # type: ignore[type-arg]
    """In a process of its own (an app worker): each batch taken from ``arrivals`` (its
    scheduled arrival on ``time.monotonic()``, one clock for every process on the machine,
    and its codes; None: stop) is recorded (one transaction, as the sync endpoint does);
    reports (scheduled, committed, scans) per batch, then None when told to stop."""
    engine = create_engine(url, pool_size=1, max_overflow=0,
                           connect_args={"application_name": "bench-scans"})  # fmt: skip
    factory = make_sessionmaker(engine)
    with factory() as session:  # connect before the clock: start-up is not the load
        session.execute(text("SELECT 1"))
        session.commit()
    done.put("ready")
    while (arrival := arrivals.get()) is not None:
        scheduled, codes = arrival
        service_batch(factory, actor, codes)
        done.put((scheduled, time.monotonic(), len(codes)))
    done.put(None)
    engine.dispose()


@dataclass
class OpenPhase:
    latencies_ms: list[float]  # per batch: scheduled arrival → commit
    achieved_per_second: float
    offered_per_second: float

    def percentile(self, share: float) -> float:
        """The latency below which ``share`` of the batches committed (nearest rank)."""
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies_ms)


def offer_scans(
    url: str, actor: Actor, codes: list[str], batch: int, offered: float, scanners: int
) -> OpenPhase:
    """Offers ``codes`` in batches of ``batch`` at ``offered`` scans a second to ``scanners``
    worker processes and measures what they achieved. The caller starts whatever runs beside
    (payers, or payers left idle) before and stops it after."""
    arrivals, done = Queue(), Queue()  # type: ignore[var-annotated]
    workers = [Process(target=scanner, args=(url, actor, arrivals, done)) for _ in range(scanners)]
    for worker in workers:
        worker.start()
    for _ in workers:
        assert done.get(timeout=120) == "ready"
    batches = [codes[i : i + batch] for i in range(0, len(codes), batch)]
    start = time.monotonic()
    for number, codes_of_batch in enumerate(batches):
        scheduled = start + number * batch / offered
        pause = scheduled - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        arrivals.put((scheduled, codes_of_batch))
    for _ in workers:
        arrivals.put(None)
    latencies, last_commit, scans, stopped = [], start, 0, 0
    while stopped < scanners:
        answer = done.get(timeout=600)
        if answer is None:
            stopped += 1
            continue
        scheduled, committed, count = answer
        latencies.append(1000 * (committed - scheduled))
        last_commit = max(last_commit, committed)
        scans += count
    for worker in workers:
        worker.join()
    # The last batch is offered at (n-1)·batch/offered; a system that keeps up commits it a
    # latency later. Counting the full span of offers keeps "achieved" comparable to offered.
    span = max(last_commit - start, len(batches) * batch / offered)
    return OpenPhase(
        latencies_ms=latencies, achieved_per_second=scans / span, offered_per_second=offered
    )
