"""``hoso ledger verify`` on a ledger of a million events: events/s, against a plain scan of
the same rows, and the check's peak memory at two ledger sizes.

The ledger is built in bulk: dossier journeys (booked, picked up, hand-offs between the
courier and the post office, hand-over at the one-stop office, then notes to make up the
chain length) are planned with the ledger's own ``apply`` and turned into rows by the
writer's own ``event_row`` (which hashes them with ``chain_hash``), then COPYed in. A sample
of the same journeys goes through the real service (``record``) first, and the generated
rows must have the same shape event by event (kinds, steps, parties, which columns are set),
so the rows checked are the rows a province would hold.

At each size (``--sizes``), alternating round by round on the same database:
- the reference: the check's own query through the same server-side cursor, rows only read;
- verify in this process (``verify_ledger``), events/s;
then once ``hoso ledger verify`` itself, as a child process, for its wall time and peak RSS.
Ratios are verify's rate over the scan's, medians over ``--rounds``.

    .venv/bin/python bench/ledger/bench_verify.py [--sizes 250000,1000000] [--chain 20]
        [--rounds 3]

Uses ``HOSO_BENCH_DATABASE_URL`` when set (a fresh database is created on that server),
else an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.custody.hashing import GENESIS_HASH  # noqa: E402
from core.custody.models import CustodyEvent  # noqa: E402
from core.custody.parties import Actor, citizen_party, party_kind  # noqa: E402
from core.custody.rows import (  # noqa: E402
    EVENT_COLUMNS,
    SERVER_KEY_ID,
    SERVER_SIGNATURE,
    Target,
    event_row,
    offset_of,
)
from core.custody.service import ScanCommand, record  # noqa: E402
from core.custody.transitions import (  # noqa: E402
    TRANSITIONS,
    Custody,
    EventFacts,
    ItemStateValue,
    apply,
)
from core.custody.verify import _FETCH_ROWS, _LEDGER_SQL, verify_ledger  # noqa: E402
from core.db import make_sessionmaker, transaction  # noqa: E402
from core.db import scratch_database as core_scratch_database  # noqa: E402
from core.identity.service import actor_for  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.places.service import load_admin_units  # noqa: E402
from core.settings import Settings  # noqa: E402
from labels.s10 import make_item_id  # noqa: E402
from tests.factories import dossier_of, make_case, make_office, make_user  # noqa: E402
from vntime import VN  # noqa: E402

SAMPLE_ITEMS = 20
ITEMS_PER_COPY = 5_000


def scratch_database() -> AbstractContextManager[str]:
    """A fresh database for one bench run on ``HOSO_BENCH_DATABASE_URL``'s server, or on an
    embedded PostgreSQL; dropped afterwards (a shared server keeps none)."""
    return core_scratch_database(os.environ.get("HOSO_BENCH_DATABASE_URL"), "hoso_bench_")


class Cast:
    """The people a dossier meets: the booking system, its courier, the post office, the
    one-stop office's desk."""

    def __init__(self, session: Session) -> None:
        dispatcher = make_user(session, "dispatcher")
        courier = make_user(session, "courier", post_office_id=dispatcher.post_office_id)
        office = make_office(session)
        desk = make_user(session, "desk_officer", office_id=office.id)
        self.system = Actor.system()
        self.courier = actor_for(courier)
        self.post = actor_for(dispatcher)
        self.desk = actor_for(desk)


def journey(cast: Cast, code: str, chain: int, start: datetime) -> list[tuple[Actor, ScanCommand]]:
    """The commands after ``booked`` of one dossier whose chain is ``chain`` events long."""
    steps: list[tuple[Actor, str, str | None, dict[str, Any], dict[str, Any]]] = [
        (cast.courier, "picked_up", None,
         {"seal_number": "S-0001", "checklist": [{"doc": "Tờ khai", "present": True}]},
         {"signature_sha256": "ab" * 32}),
        (cast.courier, "handover_offered", cast.post.party, {}, {}),
        (cast.post, "handover_confirmed", None, {}, {}),
    ]  # fmt: skip
    holder_is_post = True
    while len(steps) + 3 < chain:  # booked, and the office's offer and confirmation, to come
        giver, taker = (cast.post, cast.courier) if holder_is_post else (cast.courier, cast.post)
        steps.append((giver, "handover_offered", taker.party, {}, {}))
        steps.append((taker, "handover_confirmed", None, {}, {}))
        holder_is_post = not holder_is_post
    holder = cast.post if holder_is_post else cast.courier
    steps.append((holder, "handover_offered", cast.desk.party, {}, {}))
    steps.append((cast.desk, "handover_confirmed", None, {"agency_dossier_code": "000.A0.01.H26"},
                  {}))  # fmt: skip
    while len(steps) + 1 < chain:
        steps.append((cast.desk, "damage_noted", None, {"reason_code": "wet"}, {}))
    return [
        (actor, ScanCommand(kind=kind, code=code, occurred_at=start + timedelta(minutes=n),
                            client_event_id=uuid.uuid4(), to_party=to_party, lat=21.18,
                            lon=106.07, gps_accuracy_m=12.0, details=details, evidence=evidence))
        for n, (actor, kind, to_party, details, evidence) in enumerate(steps, start=1)
    ]  # fmt: skip


def generated_chain(
    cast: Cast, item_id: int, code: str, case_number: int, chain: int, start: datetime
) -> tuple[list[dict[str, Any]], ItemStateValue]:
    """One dossier's rows, as the service would write them: the same fold, the same row
    builder and hash. The first event is the booking's, as ``create_item`` writes it."""
    holder = citizen_party(case_number)
    recorded_at = start + timedelta(seconds=30)
    state = apply(None, EventFacts("booked", "dossier", cast.system.party, None, holder, None))
    target = Target(
        item_id=item_id, code=code, kind="dossier", case_id=None, pickup_courier_id=None,
        delivery_courier_id=None, booking_post_office_id=None, booking_citizen_id=None,
        state=state, last_seq=0, last_hash=GENESIS_HASH, last_event_at=start,
    )  # fmt: skip
    booked = ScanCommand(kind="booked", code=code, occurred_at=start)
    rows = [
        event_row(target=target, rule=TRANSITIONS["booked"], actor=cast.system, command=booked,
                  occurred_offset=offset_of(start), from_party=None, to_party=holder,
                  bag_code=None, bag_id=None, details={}, recorded_at=recorded_at)
    ]  # fmt: skip
    target.last_seq, target.last_hash = 1, rows[0]["hash"]
    for actor, command in journey(cast, code, chain, start):
        rule = TRANSITIONS[command.kind]
        offered = command.to_party if rule.custody is Custody.OFFER else None
        facts = EventFacts(command.kind, "dossier", actor.party, target.state.custodian, offered,
                           None)  # fmt: skip
        new_state = apply(target.state, facts)
        row = event_row(
            target=target, rule=rule, actor=actor, command=command,
            occurred_offset=offset_of(command.occurred_at), from_party=target.state.custodian,
            to_party=offered if offered is not None else new_state.custodian, bag_code=None,
            bag_id=None, details=command.details, recorded_at=recorded_at,
        )  # fmt: skip
        rows.append(row)
        target.state, target.last_seq, target.last_hash = new_state, row["seq"], row["hash"]
    return rows, target.state


def _shape(row: dict[str, Any]) -> tuple[object, ...]:
    """What must agree between a service-written and a generated event."""
    return (
        row["seq"], row["kind"], row["biz_step"], row["disposition"], row["upu_code"],
        row["actor_role"], party_kind(row["actor_party"]),
        party_kind(row["from_party"]) if row["from_party"] else None, party_kind(row["to_party"]),
        sorted(row["details"]), sorted(row["evidence"]),
        sorted(name for name in EVENT_COLUMNS if row[name] is None),
    )  # fmt: skip


def check_sample(
    factory: sessionmaker[Session], settings: Settings, cast: Cast, chain: int
) -> None:
    """Record sample journeys through the real service; the generator must match them."""
    start = datetime.now(VN).replace(microsecond=0)
    with transaction(factory) as session:
        items = [dossier_of(session, make_case(session, settings)) for _ in range(SAMPLE_ITEMS)]
        for item in items:
            for actor, command in journey(cast, item.code, chain, start):
                (result,) = record(session, actor, [command])
                assert result.outcome == "accepted", result
        columns = [CustodyEvent.__table__.c[name] for name in EVENT_COLUMNS]
        written = session.execute(
            select(*columns).where(CustodyEvent.item_id == items[0].id).order_by(CustodyEvent.seq)
        ).all()
        served = [dict(zip(EVENT_COLUMNS, row, strict=True)) for row in written]
    generated, _ = generated_chain(cast, 0, items[0].code, 1, chain, start)
    assert [_shape(r) for r in served] == [_shape(r) for r in generated], "generator drifted"


def build(factory: sessionmaker[Session], cast: Cast, chain: int, items: int, first: int) -> None:
    """Append ``items`` generated dossiers, COPYed in chunks of ``ITEMS_PER_COPY``."""
    start = datetime(2026, 6, 1, 8, tzinfo=VN)
    for chunk_start in range(first, first + items, ITEMS_PER_COPY):
        count = min(ITEMS_PER_COPY, first + items - chunk_start)
        with transaction(factory) as session:
            raw = session.connection().connection.driver_connection
            assert raw is not None
            serials = range(50_000_000 + chunk_start, 50_000_000 + chunk_start + count)
            codes = [make_item_id("DZ", serial) for serial in serials]
            with raw.cursor() as cursor:
                with cursor.copy("COPY items (code, kind) FROM STDIN") as copy:
                    for code in codes:
                        copy.write_row((code, "dossier"))
                cursor.execute("SELECT id, code FROM items WHERE code = ANY(%s)", (codes,))
                ids = {code: item_id for item_id, code in cursor.fetchall()}
                events = f"COPY custody_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
                states: list[tuple[object, ...]] = []
                # Each generated row is signed by the server's key as it was built
                # (``event_row``); the signatures go in beside the events, as the service's.
                signatures: list[tuple[object, ...]] = []
                with cursor.copy(events) as copy:
                    for n, code in enumerate(codes):
                        moment = start + timedelta(minutes=(chunk_start + n) % 500_000)
                        rows, state = generated_chain(cast, ids[code], code, chunk_start + n,
                                                      chain, moment)  # fmt: skip
                        for row in rows:
                            row["details"], row["evidence"] = (
                                Jsonb(row["details"]), Jsonb(row["evidence"]),
                            )  # fmt: skip
                            copy.write_row([row[name] for name in EVENT_COLUMNS])
                            signature = base64.b64decode(row[SERVER_SIGNATURE])
                            signatures.append((row["event_id"], row[SERVER_KEY_ID], signature))
                        last = rows[-1]
                        states.append((
                            ids[code], state.status, state.custodian, state.pending_from,
                            state.pending_to, state.pending_initiator, state.bag_id,
                            state.delivery_attempts, last["seq"], last["hash"],
                            last["occurred_at"], last["recorded_at"],
                        ))  # fmt: skip
                with cursor.copy(
                    "COPY event_server_signatures (event_id, key_id, signature) FROM STDIN"
                ) as copy:
                    for signature_row in signatures:
                        copy.write_row(signature_row)
                with cursor.copy(
                    "COPY item_states (item_id, status, custodian, pending_from, pending_to, "
                    "pending_initiator, bag_id, delivery_attempts, last_seq, last_hash, "
                    "last_event_at, updated_at) FROM STDIN"
                ) as copy:
                    for state_row in states:
                        copy.write_row(state_row)


def scan_rows(factory: sessionmaker[Session]) -> tuple[int, float]:
    """The reference: the check's own query and cursor, every row read and nothing done."""
    started = time.perf_counter()
    count = 0
    with transaction(factory) as session:
        raw = session.connection().connection.driver_connection
        assert raw is not None
        with raw.cursor(name="bench_scan") as cursor:
            cursor.itersize = _FETCH_ROWS
            cursor.execute(_LEDGER_SQL)
            for _ in cursor:
                count += 1
    return count, time.perf_counter() - started


def verify_in_process(factory: sessionmaker[Session]) -> tuple[int, float]:
    started = time.perf_counter()
    with transaction(factory) as session:
        report = verify_ledger(session)
    assert report.ok, report.problems[:3]
    return report.events_checked, time.perf_counter() - started


def verify_command(url: str) -> tuple[float, float, str]:
    """``hoso ledger verify`` as a child process: wall seconds, peak RSS in MB, its verdict."""
    with tempfile.TemporaryDirectory() as folder:
        # The bench's database has no heads file; without one named, verify would read the
        # checkout's (./.hoso-data, the demo's heads, signed with another key) and fail.
        env = {**os.environ, "DATABASE_URL": url,
               "HOSO_LEDGER_HEADS_FILE": str(Path(folder) / "ledger-heads.jsonl")}  # fmt: skip
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", "from core.cli import main; main()", "ledger", "verify"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    assert child.stdout is not None
    verdict = child.stdout.read().strip().splitlines()[-1]
    assert os.waitstatus_to_exitcode(status) == 0, verdict
    return seconds, usage.ru_maxrss / 1024, verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250000,1000000", help="events, comma-separated")
    parser.add_argument("--chain", type=int, default=20, help="events per dossier")
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
        cast = Cast(session)
    check_sample(factory, settings, cast, args.chain)
    print(f"sample of {SAMPLE_ITEMS} journeys through the service: generated rows match")

    built_items = 0
    for size in (int(s) for s in args.sizes.split(",")):
        started = time.perf_counter()
        items = size // args.chain - built_items
        build(factory, cast, args.chain, items, built_items)
        built_items += items
        with factory() as session:
            session.execute(text("ANALYZE"))
            session.commit()
            total = session.scalar(text("SELECT count(*) FROM custody_events"))
        print(f"\nledger of {total:,} events ({built_items:,} generated dossiers of "
              f"{args.chain}), built in {time.perf_counter() - started:.0f} s")  # fmt: skip
        scan_rates, verify_rates, ratios = [], [], []
        for round_number in range(1, args.rounds + 1):
            scanned, scan_seconds = scan_rows(factory)
            checked, verify_seconds = verify_in_process(factory)
            assert scanned == checked
            scan_rates.append(scanned / scan_seconds)
            verify_rates.append(checked / verify_seconds)
            ratios.append(verify_rates[-1] / scan_rates[-1])
            print(f"  round {round_number}: scan {scan_rates[-1]:9,.0f} rows/s   verify "
                  f"{verify_rates[-1]:9,.0f} events/s   ratio {ratios[-1]:.2f}",
                  flush=True)  # fmt: skip
        seconds, rss_mb, verdict = verify_command(url)
        print(
            f"  median of {args.rounds}: scan {statistics.median(scan_rates):,.0f} rows/s, "
            f"verify {statistics.median(verify_rates):,.0f} events/s, "
            f"ratio {statistics.median(ratios):.2f}  (target: verify >= 10,000 events/s)"
            f"\n  hoso ledger verify: {seconds:.1f} s wall ({total / seconds:,.0f} events/s "
            f"with start-up), peak RSS {rss_mb:.0f} MB: {verdict}",
            flush=True,
        )
    engine.dispose()


if __name__ == "__main__":
    main()
