"""What a replayed batch costs on a long chain, against recording the same batch first time.

A phone whose answer was lost sends its batch again; the items stay locked while the batch
is answered. One item is given a chain of ``--chain`` events, then a batch of ``--batch``
new notes on it is recorded (the reference) and sent again (the replay), ``--rounds`` times
on the growing chain; medians are quoted, with the replay's time over the original's.

    .venv/bin/python bench/ledger/bench_replay.py [--chain 2000] [--batch 500] [--rounds 3]

Uses ``HOSO_BENCH_DATABASE_URL`` when set (a fresh database is created on that server),
else an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.custody.parties import Actor  # noqa: E402
from core.custody.service import ScanCommand, record  # noqa: E402
from core.db import make_sessionmaker, transaction  # noqa: E402
from core.db import scratch_database as core_scratch_database  # noqa: E402
from core.identity.service import actor_for  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.places.service import load_admin_units  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.factories import dossier_of, make_case, make_user  # noqa: E402
from vntime import VN  # noqa: E402


def scratch_database() -> AbstractContextManager[str]:
    """A fresh database for one bench run on ``HOSO_BENCH_DATABASE_URL``'s server, or on an
    embedded PostgreSQL; dropped afterwards (a shared server keeps none)."""
    return core_scratch_database(os.environ.get("HOSO_BENCH_DATABASE_URL"), "hoso_bench_")


def notes(code: str, count: int) -> list[ScanCommand]:
    return [
        ScanCommand(kind="damage_noted", code=code, client_event_id=uuid.uuid4(),
                    occurred_at=datetime.now(VN), details={"reason_code": "wet"})
        for _ in range(count)
    ]  # fmt: skip


def send(factory: sessionmaker[Session], actor: Actor, commands: list[ScanCommand]) -> float:
    started = time.perf_counter()
    with transaction(factory) as session:
        results = record(session, actor, commands)
    seconds = time.perf_counter() - started
    assert all(r.outcome == "accepted" for r in results), results[0]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with scratch_database() as url:
        _measure(url, args)


def _measure(url: str, args: argparse.Namespace) -> None:
    upgrade(url)
    engine = create_engine(url, pool_size=2)
    factory = make_sessionmaker(engine)
    settings = Settings(environment="test", secret_key="bench", database_url=url)
    with transaction(factory) as session:
        load_admin_units(session)
        actor = actor_for(make_user(session, "courier"))
        code = dossier_of(session, make_case(session, settings)).code
        (pickup,) = record(session, actor, [
            ScanCommand(kind="picked_up", code=code, client_event_id=uuid.uuid4(),
                        occurred_at=datetime.now(VN), details={"seal_number": "S-1"})
        ])  # fmt: skip
        assert pickup.outcome == "accepted", pickup
    for start in range(2, args.chain, 500):
        send(factory, actor, notes(code, min(500, args.chain - start)))

    originals, replays, ratios = [], [], []
    for round_number in range(1, args.rounds + 1):
        batch = notes(code, args.batch)
        originals.append(send(factory, actor, batch))
        replays.append(send(factory, actor, batch))
        ratios.append(replays[-1] / originals[-1])
        print(f"round {round_number}: original {originals[-1]:.3f} s   replay "
              f"{replays[-1]:.3f} s   replay/original {ratios[-1]:.2f}", flush=True)  # fmt: skip
    print(
        f"\nmedian over {args.rounds} rounds, batches of {args.batch} on one item's chain of "
        f"{args.chain}+ events:"
        f"\n  original {statistics.median(originals):.3f} s"
        f"\n  replay   {statistics.median(replays):.3f} s"
        f"\n  ratio    {statistics.median(ratios):.2f}  (replay / original)"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
