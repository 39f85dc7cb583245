"""Replays: a scan sent again gets exactly its first answer and records nothing new.

An accepted scan's answer is re-derived from the events it recorded; a refused scan's answer
is stored in ``scan_receipts``. Both must survive later events on the item, and a replay
that arrives while the original is still being recorded must wait for it and be answered
as a replay, not recorded twice.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, text
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


def test_an_accepted_scan_is_answered_again_from_its_events_after_later_events(
    db: Session, settings: Settings
) -> None:
    courier = actor_for(make_user(db, "courier"))
    item = dossier_of(db, make_case(db, settings))
    pickup = scan("picked_up", item.code, details=PICKUP_DETAILS)
    (first,) = record(db, courier, [pickup])
    assert first.outcome == "accepted" and not first.replayed
    # No receipt is stored for it: the events are the record of what was accepted.
    assert _count(db, ScanReceipt, ScanReceipt.client_event_id == pickup.client_event_id) == 0

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


def test_an_answer_stored_as_a_receipt_before_this_change_is_still_returned(
    db: Session, settings: Settings
) -> None:
    # Ledgers written before accepted answers stopped being stored hold receipts for them;
    # the stored answer is returned as it is.
    courier = actor_for(make_user(db, "courier"))
    item = dossier_of(db, make_case(db, settings))
    pickup = scan("picked_up", item.code, details=PICKUP_DETAILS)
    (first,) = record(db, courier, [pickup])
    stored = {**first.to_json(), "detail": "answer stored by an earlier version"}
    db.add(ScanReceipt(client_event_id=pickup.client_event_id, actor_user_id=courier.user_id,
                       outcome="accepted", result=stored))  # fmt: skip
    db.flush()
    (again,) = record(db, courier, [pickup])
    assert again.replayed and again.to_json() == stored


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
        assert _count(session, ScanReceipt, receipts) == 0
