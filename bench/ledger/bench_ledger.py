"""Scan events recorded per second through the core service, against plain INSERTs.

Both run in the same process against the same database, alternating batch by batch (or
round by round, ``--alternate round``), over several rounds; medians are quoted. The
reference inserts the very rows the service wrote (read back from ``custody_events``) into a
copy of the table with the same indexes (but not its foreign keys), with the same batch size
and one transaction per batch, so the ratio isolates what the service adds: locking the
items, replay lookup, the state machine, hashing, the foreign-key checks and the projection
update.

    .venv/bin/python bench/ledger/bench_ledger.py [--rounds 5] [--items 2000] [--batch 100]
        [--alternate batch|round] [--signing compare]

``--signing compare``: no plain INSERTs; each round records ``--items`` pickups as the
service runs (every event signed by the server's key, its signature written in the batch's
statement) and as many with the signing swapped out in this process only (a signer that
signs nothing, and the batch statement without the signatures' part), batch by batch in
turn; the medians of both and of the rounds' signed/unsigned rate ratios are printed.

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
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from pathlib import Path

from sqlalchemy import MetaData, Table, create_engine, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.custody.models import CustodyEvent, Item  # noqa: E402
from core.custody.parties import Actor  # noqa: E402
from core.custody.service import ScanCommand, record  # noqa: E402
from core.db import make_sessionmaker, transaction  # noqa: E402
from core.db import scratch_database as core_scratch_database  # noqa: E402
from core.identity.service import actor_for  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.places.service import load_admin_units  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.factories import make_case, make_user  # noqa: E402
from vntime import VN  # noqa: E402


def scratch_database() -> AbstractContextManager[str]:
    """A fresh database for one bench run on ``HOSO_BENCH_DATABASE_URL``'s server, or on an
    embedded PostgreSQL; dropped afterwards (a shared server keeps none)."""
    return core_scratch_database(os.environ.get("HOSO_BENCH_DATABASE_URL"), "hoso_bench_")


def _make_items(factory: sessionmaker[Session], settings: Settings, count: int) -> list[str]:
    with transaction(factory) as session:
        cases = [make_case(session, settings) for _ in range(count)]
        ids = [c.dossier_item_id for c in cases]
        codes = list(session.scalars(select(Item.code).where(Item.id.in_(ids))))
    with factory() as session:
        # Statistics as autovacuum keeps them on a live database. Without them the planner
        # of a freshly filled bench database takes these tables for empty and scans them
        # whole on every batch, a cost that grows with each round and no deployment pays.
        session.execute(text("ANALYZE items, cases, bookings, item_states, custody_events, "
                             "scan_receipts"))  # fmt: skip
        session.commit()
    return codes


def _round(
    factory: sessionmaker[Session], actor: Actor, codes: list[str], batch: int, alternate: str
) -> tuple[float, float]:
    """Seconds spent by the service, and by plain INSERTs of the same rows.

    ``alternate="batch"`` (the default): each batch goes through the service, then its rows
    (read back, untimed) are inserted plainly, before the next batch. On a shared machine
    whose load swings from second to second both sides then see the same load.
    ``alternate="round"``: every batch through the service, then every batch plainly, as
    the figures before 2026-11-22 were measured; one side can catch a quiet spell the other
    does not.
    """
    core_seconds = plain_seconds = 0.0
    pending: list[list[uuid.UUID | None]] = []
    for start in range(0, len(codes), batch):
        seconds, client_ids = service_batch(factory, actor, codes[start : start + batch])
        core_seconds += seconds
        pending.append(client_ids)
        if alternate == "batch":
            plain_seconds += _plain_batch(factory, pending.pop())
    if alternate == "round":
        for client_ids in pending:
            plain_seconds += _plain_batch(factory, client_ids)
    return core_seconds, plain_seconds


def service_batch(
    factory: sessionmaker[Session], actor: Actor, codes: list[str]
) -> tuple[float, list[uuid.UUID | None]]:
    """One batch of pickups through ``record`` in one transaction: its seconds (the commands
    are built before the clock starts) and the client event IDs it recorded."""
    commands = [
        ScanCommand(kind="picked_up", code=code, client_event_id=uuid.uuid4(),
                    occurred_at=datetime.now(VN), lat=21.18, lon=106.07,
                    gps_accuracy_m=12.0, details={"seal_number": "S-1"})
        for code in codes
    ]  # fmt: skip
    started = time.perf_counter()
    with transaction(factory) as session:
        results = record(session, actor, commands)
    seconds = time.perf_counter() - started
    assert all(r.outcome == "accepted" for r in results), results[0]
    return seconds, [c.client_event_id for c in commands]


class _NoSigner:
    """What ``event_row`` signs with in the bench's unsigned half: nothing."""

    key_id = ""
    vkey = ""

    def sign(self, canonical: bytes) -> str:
        return ""


@contextmanager
def unsigned() -> Iterator[None]:
    """Record without server signatures, in this process only (the bench's reference for
    what signing costs): no Ed25519, and the batch statement without its signatures."""
    from core.custody import rows

    # Swapped in the module's namespace: ``event_row`` and ``write_batch`` look both up
    # there on every call.
    names = vars(rows)
    saved = {name: names[name] for name in ("event_signer", "_write_batch_sql")}
    sql: str = saved["_write_batch_sql"]()
    start, end = sql.index("), new_signatures AS ("), sql.index("), new_receipts AS (")
    assert "new_keys" in sql[start:end] and "new_signatures" not in sql[end:]
    plain_sql = sql[:start] + sql[end:]
    none = _NoSigner()
    names.update(event_signer=lambda settings=None: none, _write_batch_sql=lambda: plain_sql)
    try:
        yield
    finally:
        names.update(saved)


def _plain_batch(factory: sessionmaker[Session], client_ids: list[uuid.UUID | None]) -> float:
    rows = _rows_written(factory, client_ids)
    started = time.perf_counter()
    with transaction(factory) as session:
        session.execute(insert(_plain_table()), rows)
    return time.perf_counter() - started


def _rows_written(
    factory: sessionmaker[Session], client_ids: list[uuid.UUID | None]
) -> list[dict[str, object]]:
    columns = [c.name for c in CustodyEvent.__table__.columns if c.name != "id"]
    with transaction(factory) as session:
        rows = [
            {name: getattr(event, name) for name in columns}
            for event in session.scalars(
                select(CustodyEvent).where(CustodyEvent.client_event_id.in_(client_ids))
            )
        ]
    for row in rows:
        row["event_id"] = uuid.uuid4()  # the copy table keeps the unique index
    return rows


def _plain_table() -> Table:
    from core.db import Base

    source = Base.metadata.tables["custody_events"]
    return Table("bench_plain_events", MetaData(), *[c._copy() for c in source.columns])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--alternate", choices=("batch", "round"), default="batch")
    parser.add_argument("--signing", choices=("on", "compare"), default="on")
    args = parser.parse_args()
    with scratch_database() as url:
        _measure(url, args)


def _measure(url: str, args: argparse.Namespace) -> None:
    upgrade(url)
    engine = create_engine(url, pool_size=4)
    factory = make_sessionmaker(engine)
    settings = Settings(environment="test", secret_key="bench", database_url=url)
    with transaction(factory) as session:
        load_admin_units(session)
        session.execute(
            text(
                "CREATE TABLE bench_plain_events (LIKE custody_events INCLUDING DEFAULTS "
                "INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING INDEXES)"
            )
        )
        # The factories put couriers and bookings at one shared post office, so this courier
        # may pick up every unassigned item the rounds create.
        actor = actor_for(make_user(session, "courier"))

    if args.signing == "compare":
        _compare_signing(factory, settings, actor, args)
        engine.dispose()
        return
    core_rates, plain_rates, ratios = [], [], []
    for round_number in range(1, args.rounds + 1):
        codes = _make_items(factory, settings, args.items)
        core_seconds, plain_seconds = _round(factory, actor, codes, args.batch, args.alternate)
        core_rate, plain_rate = args.items / core_seconds, args.items / plain_seconds
        core_rates.append(core_rate)
        plain_rates.append(plain_rate)
        ratios.append(core_rate / plain_rate)
        print(
            f"round {round_number}: core {core_rate:8.0f} events/s   plain INSERT "
            f"{plain_rate:8.0f} rows/s   ratio {core_rate / plain_rate:.2f}",
            flush=True,
        )
    print(
        f"\nmedian over {args.rounds} rounds of {args.items} events in batches of {args.batch}"
        f" (alternating by {args.alternate}):"
        f"\n  core service   {statistics.median(core_rates):8.0f} events/s"
        f"\n  plain INSERT   {statistics.median(plain_rates):8.0f} rows/s"
        f"\n  ratio          {statistics.median(ratios):.2f}  (target >= 0.40; core >= 1500/s)"
    )
    engine.dispose()


def _compare_signing(
    factory: sessionmaker[Session], settings: Settings, actor: Actor, args: argparse.Namespace
) -> None:
    """Each round: ``--items`` pickups signed and as many unsigned, batch by batch in turn
    (which goes first alternates), so both sides see the same load from second to second."""
    seconds = {"signed": [0.0] * args.rounds, "unsigned": [0.0] * args.rounds}
    for r in range(args.rounds):
        codes = {"signed": _make_items(factory, settings, args.items),
                 "unsigned": _make_items(factory, settings, args.items)}  # fmt: skip
        for number, start in enumerate(range(0, args.items, args.batch)):
            order = ("signed", "unsigned") if (r + number) % 2 == 0 else ("unsigned", "signed")
            for side in order:
                with unsigned() if side == "unsigned" else nullcontext():
                    spent, _ = service_batch(
                        factory, actor, codes[side][start : start + args.batch]
                    )
                seconds[side][r] += spent
        print(
            f"round {r + 1}: signed {args.items / seconds['signed'][r]:8.0f} events/s   "
            f"unsigned {args.items / seconds['unsigned'][r]:8.0f} events/s   signed/unsigned "
            f"{seconds['unsigned'][r] / seconds['signed'][r]:.3f}",
            flush=True,
        )
    # The switch did what it says: exactly the unsigned side's pickups carry no signature.
    with transaction(factory) as session:
        unsigned_events = session.scalar(text(
            "SELECT count(*) FROM custody_events e WHERE NOT EXISTS "
            "(SELECT 1 FROM event_server_signatures g WHERE g.event_id = e.event_id)"))  # fmt: skip
    assert unsigned_events == args.items * args.rounds, unsigned_events
    ratios = [u / s for s, u in zip(seconds["signed"], seconds["unsigned"], strict=True)]
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    pooled = sum(seconds["unsigned"]) / sum(seconds["signed"])
    print(
        f"\nmedian over {args.rounds} rounds of {args.items} pickups a side, batches of "
        f"{args.batch} alternating:"
        f"\n  core service, signed     {args.items / statistics.median(seconds['signed']):8.0f}"
        " events/s"
        f"\n  core service, unsigned   {args.items / statistics.median(seconds['unsigned']):8.0f}"
        " events/s"
        f"\n  signed/unsigned ratio    {statistics.median(ratios):.3f}"
        f"  (quartiles {quartiles[0]:.3f}-{quartiles[2]:.3f}; pooled {pooled:.3f})"
    )


if __name__ == "__main__":
    main()
