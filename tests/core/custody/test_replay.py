"""Replays: a scan sent again gets exactly its first answer and records nothing new.

Every scan's answer is stored in ``scan_receipts`` under its sender and client event ID;
scans accepted before that (migration 0006a) are answered from the events they recorded.
Answers must survive later events on the item, a replay that arrives while the original is
still being recorded must wait for it and be answered as a replay, not recorded twice, and
the key is each sender's own.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from sqlalchemy import ColumnElement, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.custody.models import Bag, CustodyEvent, CustodyException, ScanReceipt
from core.custody.parties import Actor, party
from core.custody.service import ScanCommand, ScanResult, declare_error, record, record_one
from core.custody.verify import verify_ledger
from core.db import Base, transaction
from core.identity.service import actor_for
from core.settings import Settings
from labels.s10 import make_item_id
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of, make_case, make_post_office, make_user
from vntime import VN


def _count(session: Session, model: type[Base], *where: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_an_accepted_scans_answer_is_stored_and_returned_after_later_events(
    db: Session, settings: Settings
) -> None:
    courier = actor_for(make_user(db, "courier"))
    item = dossier_of(db, make_case(db, settings))
    pickup = scan("picked_up", item.code, details=PICKUP_DETAILS)
    (first,) = record(db, courier, [pickup])
    assert first.outcome == "accepted" and not first.replayed
    receipt = db.scalars(
        select(ScanReceipt).where(ScanReceipt.client_event_id == pickup.client_event_id)
    ).one()
    assert (receipt.actor_user_id, receipt.outcome) == (courier.user_id, "accepted")
    assert receipt.result == first.to_json()

    # The item moves on; the replay still describes the state just after the pickup.
    record_one(db, courier, scan("handover_offered", item.code, to_party=party("office", 1)))
    (again,) = record(db, courier, [pickup])
    assert again.replayed
    assert again.to_json() == first.to_json()
    assert again.events[0]["status"] == "picked_up" and again.events[0]["pending_to"] is None
    assert _count(db, CustodyEvent, CustodyEvent.item_id == item.id) == 3


def test_a_replay_answers_with_the_code_as_first_scanned(db: Session, settings: Settings) -> None:
    courier = actor_for(make_user(db, "courier"))
    item = dossier_of(db, make_case(db, settings))
    typed = f"{item.code[:2]} {item.code[2:5]} {item.code[5:8]} {item.code[8:11]} {item.code[11:]}"
    pickup = scan("picked_up", typed.lower(), details=PICKUP_DETAILS)
    (first,) = record(db, courier, [pickup])
    (again,) = record(db, courier, [pickup])
    assert again.replayed and again.code == typed.lower()
    assert again.to_json() == first.to_json()


def test_a_replay_survives_a_later_correction(db: Session, settings: Settings) -> None:
    courier = actor_for(make_user(db, "courier"))
    admin = actor_for(make_user(db, "admin"))
    item = dossier_of(db, make_case(db, settings))
    pickup = scan("picked_up", item.code, details=PICKUP_DETAILS)
    offer = scan("handover_offered", item.code, to_party=party("office", 1))
    first_pickup, first_offer = record(db, courier, [pickup, offer])
    declare_error(
        db,
        admin,
        scan("error_declared", item.code, details={"reason": "did_not_occur"},
             corrects_event_id=uuid.UUID(first_offer.events[0]["event_id"])),
    )  # fmt: skip
    again_pickup, again_offer = record(db, courier, [pickup, offer])
    assert again_pickup.to_json() == first_pickup.to_json()
    assert again_offer.to_json() == first_offer.to_json()
    assert again_offer.events[0]["pending_to"] == party("office", 1)
    assert verify_ledger(db).ok


def test_an_error_declarations_client_id_is_not_taken_for_a_scan(
    db: Session, settings: Settings
) -> None:
    # As before answers came from events: record() does not take error declarations, and
    # one recorded through record_one is not an answer to a batch scan carrying its ID.
    courier = actor_for(make_user(db, "courier"))
    admin = actor_for(make_user(db, "admin"))
    item = dossier_of(db, make_case(db, settings))
    (pickup,) = record(db, courier, [scan("picked_up", item.code, details=PICKUP_DETAILS)])
    declaration = scan("error_declared", item.code, details={"reason": "did_not_occur"},
                       corrects_event_id=uuid.UUID(pickup.events[0]["event_id"]))  # fmt: skip
    record_one(db, admin, declaration)
    (result,) = record(db, admin, [declaration])
    assert (result.outcome, result.reason_code, result.replayed) == (
        "rejected", "invalid_input", False,
    )  # fmt: skip


def test_the_stored_answer_is_returned_as_it_is(db: Session, settings: Settings) -> None:
    courier = actor_for(make_user(db, "courier"))
    item = dossier_of(db, make_case(db, settings))
    pickup = scan("picked_up", item.code, details=PICKUP_DETAILS)
    (first,) = record(db, courier, [pickup])
    stored = {**first.to_json(), "detail": "answer as stored"}
    db.execute(
        update(ScanReceipt)
        .where(ScanReceipt.client_event_id == pickup.client_event_id)
        .values(result=stored)
    )
    (again,) = record(db, courier, [pickup])
    assert again.replayed and again.to_json() == stored


def test_a_scan_accepted_before_answers_were_stored_is_answered_from_its_events(
    db: Session, settings: Settings
) -> None:
    # A ledger written before migration 0006a holds no receipt for accepted scans.
    courier = actor_for(make_user(db, "courier"))
    item = dossier_of(db, make_case(db, settings))
    pickup = scan("picked_up", item.code, details=PICKUP_DETAILS)
    (first,) = record(db, courier, [pickup])
    db.execute(delete(ScanReceipt).where(ScanReceipt.client_event_id == pickup.client_event_id))
    record_one(db, courier, scan("handover_offered", item.code, to_party=party("office", 1)))
    (again,) = record(db, courier, [pickup])
    assert again.replayed and again.to_json() == first.to_json()
    assert _count(db, CustodyEvent, CustodyEvent.item_id == item.id) == 3


def test_a_replay_on_a_long_chain_reads_no_more_of_the_ledger_than_the_batch(
    db: Session, settings: Settings
) -> None:
    # The answer is found through the (sender, key) index: the rows of custody_events a
    # replay reads do not grow with the item's chain (it read the whole chain, under the
    # item's lock, and folded it once per replayed scan).
    courier = actor_for(make_user(db, "courier"))
    item = dossier_of(db, make_case(db, settings))
    record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
    for _ in range(3):
        record(db, courier, _notes(item.code, 200))
    batch = _notes(item.code, 50)
    first = record(db, courier, batch)
    # As the planner chooses on a ledger of real size; on the test's small tables it may
    # read a whole table rather than use an index, which would measure nothing here.
    db.execute(text("SET LOCAL enable_seqscan = off"))

    before = _rows_read(db, "custody_events")
    again = record(db, courier, batch)
    read = _rows_read(db, "custody_events") - before

    assert [a.to_json() for a in again] == [f.to_json() for f in first]
    assert all(a.replayed for a in again)
    # At most one row per replayed scan, plus the few the batch's locking round trip reads for
    # the item itself (2 on an embedded server, 0 on another: the planner's choice): far from
    # the 651 events of the chain, which the old replay read once per scan.
    assert read <= len(batch) + 5, f"a replay of {len(batch)} scans read {read} events"


def _notes(code: str, count: int) -> list[ScanCommand]:
    return [scan("damage_noted", code, details={"reason_code": "wet"}) for _ in range(count)]


def _rows_read(db: Session, table: str) -> int:
    """Rows of ``table`` this transaction has read so far, by any scan."""
    db.flush()
    return int(
        db.scalar(
            text(
                "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) "
                "FROM pg_stat_xact_user_tables WHERE relname = :table"
            ),
            {"table": table},
        )  # fmt: skip
        or 0
    )


def test_one_client_event_id_from_two_accounts_is_two_scans_each_answered_its_own(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    # Two phones with a buggy (or hostile) UUID source send the same key at the same moment
    # for different items; each is recorded, and each resend gets its own sender's answer.
    with transaction(committing) as session:
        post = make_post_office(session)
        couriers = [
            actor_for(make_user(session, "courier", post_office_id=post.id)) for _ in range(2)
        ]
        codes = [
            dossier_of(session, make_case(session, settings, post_office=post)).code
            for _ in range(2)
        ]
    key = uuid.uuid4()
    pickups = [
        scan("picked_up", code, client_event_id=key, details=PICKUP_DETAILS) for code in codes
    ]
    start = threading.Barrier(2)

    def send(which: int) -> ScanResult:
        start.wait(timeout=10)
        with transaction(committing) as session:
            (result,) = record(session, couriers[which], [pickups[which]])
        return result

    with ThreadPoolExecutor(max_workers=2) as pool:
        firsts = list(pool.map(send, range(2)))
    resends = []
    for which in range(2):
        with transaction(committing) as session:
            resends.append(record(session, couriers[which], [pickups[which]])[0])

    assert [r.outcome for r in firsts] == ["accepted", "accepted"]
    assert [r.events[0]["item"] for r in firsts] == codes
    for first, resend in zip(firsts, resends, strict=True):
        assert resend.replayed and resend.to_json() == first.to_json()
    with transaction(committing) as session:
        assert _count(session, CustodyEvent, CustodyEvent.client_event_id == key) == 2
        owners = session.scalars(
            select(ScanReceipt.actor_user_id).where(ScanReceipt.client_event_id == key)
        )
        assert set(owners) == {c.user_id for c in couriers}


def test_the_database_keeps_one_answer_per_sender_and_key(db: Session, settings: Settings) -> None:
    courier = actor_for(make_user(db, "courier"))
    item = dossier_of(db, make_case(db, settings))
    pickup = scan("picked_up", item.code, details=PICKUP_DETAILS)
    (first,) = record(db, courier, [pickup])
    with pytest.raises(IntegrityError, match="uq_scan_receipts_actor_user_id_client_event_id"):
        with db.begin_nested():
            db.add(ScanReceipt(client_event_id=pickup.client_event_id,
                               actor_user_id=courier.user_id, outcome="accepted",
                               result=first.to_json()))  # fmt: skip
            db.flush()


def test_a_bag_scan_is_answered_again_with_every_item_in_the_same_order(
    db: Session, settings: Settings
) -> None:
    dispatcher = make_user(db, "dispatcher")
    post = actor_for(dispatcher)
    courier = actor_for(make_user(db, "courier", post_office_id=dispatcher.post_office_id))
    items = [dossier_of(db, make_case(db, settings)) for _ in range(3)]
    for item in items:
        record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
        record_one(db, courier, scan("handover_offered", item.code, to_party=post.party))
        record_one(db, post, scan("handover_confirmed", item.code))
    bag = Bag(code=make_item_id("BG", 11), post_office_id=dispatcher.post_office_id or 0)
    db.add(bag)
    db.flush()
    for item in items:
        record_one(db, post, scan("bagged", item.code, details={"bag_code": bag.code}))
    departure = scan("departed", bag.code)
    (first,) = record(db, post, [departure])
    (again,) = record(db, post, [departure])
    assert len(first.events) == 3 and again.replayed
    assert again.to_json() == first.to_json()
    assert _count(db, CustodyEvent, CustodyEvent.client_event_id == departure.client_event_id) == 3


_WAITING_FOR_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def _replay_while_the_original_is_uncommitted(
    committing: sessionmaker[Session], actor: Actor, command: ScanCommand
) -> tuple[ScanResult, ScanResult]:
    """Record ``command``; before committing, send it again from another connection."""
    replay: list[ScanResult] = []
    errors: list[BaseException] = []

    def send_again() -> None:
        try:
            with transaction(committing) as session:
                replay.extend(record(session, actor, [command]))
        except BaseException as exc:  # surfaced to the test, not lost in the thread
            errors.append(exc)

    with transaction(committing) as session:
        (original,) = record(session, actor, [command])
        thread = threading.Thread(target=send_again)
        thread.start()
        with committing() as watcher:
            deadline = time.monotonic() + 20
            while not watcher.scalar(_WAITING_FOR_A_LOCK):
                assert time.monotonic() < deadline, "the replay never waited for the original"
                time.sleep(0.05)
    thread.join(timeout=30)
    assert not errors, errors
    assert len(replay) == 1
    return original, replay[0]


def test_a_replay_racing_the_original_waits_for_it_and_records_nothing(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(committing) as session:
        post = make_post_office(session)
        item = dossier_of(session, make_case(session, settings, post_office=post))
        courier = actor_for(make_user(session, "courier", post_office_id=post.id))
        item_id, code = item.id, item.code
    pickup = scan("picked_up", code, details=PICKUP_DETAILS, occurred_at=datetime.now(VN))

    original, replay = _replay_while_the_original_is_uncommitted(committing, courier, pickup)

    assert original.outcome == "accepted" and replay.replayed
    assert replay.to_json() == original.to_json()
    with transaction(committing) as session:
        assert _count(session, CustodyEvent, CustodyEvent.item_id == item_id) == 2
        assert _count(session, CustodyException, CustodyException.item_id == item_id) == 0


def test_a_bag_scan_replay_racing_the_original_records_nothing(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(committing) as session:
        dispatcher = make_user(session, "dispatcher", post_office_id=make_post_office(session).id)
        post = actor_for(dispatcher)
        courier = actor_for(make_user(session, "courier", post_office_id=dispatcher.post_office_id))
        cases = [make_case(session, settings) for _ in range(2)]
        for case in cases:
            case.pickup_courier_id = courier.user_id
        session.flush()
        items = [dossier_of(session, case) for case in cases]
        bag = Bag(code=make_item_id("BG", 12), post_office_id=dispatcher.post_office_id or 0)
        session.add(bag)
        session.flush()
        for item in items:
            record_one(session, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
            record_one(session, courier, scan("handover_offered", item.code, to_party=post.party))
            record_one(session, post, scan("handover_confirmed", item.code))
            record_one(session, post, scan("bagged", item.code, details={"bag_code": bag.code}))
        item_ids, bag_code = [i.id for i in items], bag.code
    departure = scan("departed", bag_code, occurred_at=datetime.now(VN))

    original, replay = _replay_while_the_original_is_uncommitted(committing, post, departure)

    assert original.outcome == "accepted" and replay.replayed
    assert replay.to_json() == original.to_json()
    with transaction(committing) as session:
        departed = (CustodyEvent.client_event_id == departure.client_event_id,)
        assert _count(session, CustodyEvent, *departed) == 2
        assert _count(session, CustodyException, CustodyException.item_id.in_(item_ids)) == 0
        receipts = ScanReceipt.client_event_id == departure.client_event_id
        assert _count(session, ScanReceipt, receipts) == 1
