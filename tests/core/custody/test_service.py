"""Recording custody events through the service, on real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.cases.service import register_result
from core.custody.hashing import GENESIS_HASH
from core.custody.models import Bag, CustodyEvent, CustodyException, Item, ItemState
from core.custody.parties import Actor, citizen_party, party
from core.custody.service import declare_error, record, record_one
from core.custody.verify import verify_ledger
from core.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from core.identity.service import actor_for
from core.settings import Settings
from labels.s10 import format_item_id, make_item_id, validate_item_id
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import (
    dossier_of,
    make_case,
    make_office,
    make_post_office,
    make_user,
)
from vntime import VN


def _events(db: Session, item: Item) -> list[CustodyEvent]:
    return list(
        db.scalars(
            select(CustodyEvent).where(CustodyEvent.item_id == item.id).order_by(CustodyEvent.seq)
        )  # fmt: skip
    )


def _state(db: Session, item: Item) -> ItemState:
    db.expire_all()
    state = db.get(ItemState, item.id)
    assert state is not None
    return state


def test_booking_issues_a_valid_s10_item_with_a_genesis_event(
    db: Session, settings: Settings
) -> None:
    case = make_case(db, settings)
    item = dossier_of(db, case)
    assert validate_item_id(item.code) == item.code
    assert item.code.startswith("DH") and item.code.endswith("VN")
    (event,) = _events(db, item)
    assert (event.seq, event.kind, event.prev_hash) == (1, "booked", GENESIS_HASH)
    assert event.to_party == citizen_party(case.id)
    assert _state(db, item).status == "booked"


def test_dossier_leg_from_door_to_desk(db: Session, settings: Settings) -> None:
    case = make_case(db, settings)
    item = dossier_of(db, case)
    courier = make_user(db, "courier")
    desk = make_user(db, "desk_officer")
    courier_actor, desk_actor = actor_for(courier), actor_for(desk)

    picked = record_one(db, courier_actor, scan("picked_up", item.code, details=PICKUP_DETAILS))
    assert picked.events[0]["custodian"] == party("courier", courier.id)

    to_office = party("office", desk.office_id or 0)
    record_one(db, courier_actor, scan("handover_offered", item.code, to_party=to_office))
    pending = _state(db, item)
    assert pending.custodian == party("courier", courier.id)
    assert pending.pending_to == to_office

    record_one(db, desk_actor, scan("handover_confirmed", item.code))
    final = _state(db, item)
    assert (final.status, final.custodian, final.pending_to) == ("handed_over", to_office, None)
    assert [e.kind for e in _events(db, item)] == [
        "booked", "picked_up", "handover_offered", "handover_confirmed",
    ]  # fmt: skip
    assert verify_ledger(db).ok


def test_each_event_links_to_the_previous_hash(db: Session, settings: Settings) -> None:
    case = make_case(db, settings)
    item = dossier_of(db, case)
    courier = actor_for(make_user(db, "courier"))
    record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
    first, second = _events(db, item)
    assert second.prev_hash == first.hash
    assert _state(db, item).last_hash == second.hash


def test_replaying_a_batch_three_times_stores_each_event_once(
    db: Session, settings: Settings
) -> None:
    post = make_user(db, "courier")
    courier = actor_for(post)
    cases = [make_case(db, settings) for _ in range(3)]
    batch = [scan("picked_up", dossier_of(db, c).code, details=PICKUP_DETAILS) for c in cases]
    first = [r.to_json() for r in record(db, courier, batch)]
    second = record(db, courier, batch)
    third = record(db, courier, batch)
    assert [r.to_json() for r in second] == first == [r.to_json() for r in third]
    assert all(r.replayed for r in second + third)
    assert all(r["outcome"] == "accepted" for r in first)
    ids = [c.client_event_id for c in batch]
    stored = db.scalar(
        select(func.count()).select_from(CustodyEvent).where(CustodyEvent.client_event_id.in_(ids))
    )
    assert stored == 3


def test_a_batch_mixes_valid_duplicate_and_invalid_events(db: Session, settings: Settings) -> None:
    courier = actor_for(make_user(db, "courier"))
    good = dossier_of(db, make_case(db, settings))
    repeated = scan("picked_up", good.code, details=PICKUP_DETAILS)
    wrong_digit = good.code[:10] + str((int(good.code[10]) + 1) % 10) + "VN"
    results = record(
        db,
        courier,
        [
            repeated,
            repeated,  # the phone sent it twice in one batch
            scan("picked_up", "XX12"),
            scan("picked_up", wrong_digit),
            scan("picked_up", "DH99999999" + "5VN"),
            scan("picked_up", dossier_of(db, make_case(db, settings)).code),  # no seal number
        ],
    )
    assert [r.outcome for r in results] == [
        "accepted", "accepted", "rejected", "rejected", "rejected", "rejected",
    ]  # fmt: skip
    assert results[1].replayed and results[1].to_json() == results[0].to_json()
    assert results[2].reason_code == "malformed_code" and results[2].field == "code"
    assert "check digit" in (results[3].detail or "")
    assert results[4].reason_code == "unknown_item"
    assert results[5].reason_code == "missing_field" and results[5].field == "details.seal_number"
    assert len(_events(db, good)) == 2


def test_a_scan_that_contradicts_the_state_becomes_an_exception(
    db: Session, settings: Settings
) -> None:
    courier = actor_for(make_user(db, "courier"))
    item = dossier_of(db, make_case(db, settings))
    record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
    late = scan("picked_up", item.code, details=PICKUP_DETAILS)
    (result,) = record(db, courier, [late])
    assert result.outcome == "exception" and result.reason_code == "conflict"
    assert "not allowed when the item is picked_up" in (result.detail or "")
    kept = db.scalars(
        select(CustodyException).where(CustodyException.client_event_id == late.client_event_id)
    ).all()
    assert len(kept) == 1 and kept[0].payload["kind"] == "picked_up"
    # Replaying it neither duplicates the exception nor changes the answer.
    (again,) = record(db, courier, [late])
    assert again.replayed and again.to_json() == result.to_json()
    assert db.scalar(select(func.count()).select_from(CustodyException)
                     .where(CustodyException.item_id == item.id)) == 1  # fmt: skip


def test_courier_cannot_act_on_another_couriers_items(db: Session, settings: Settings) -> None:
    mine = make_user(db, "courier")
    other = actor_for(make_user(db, "courier"))
    case = make_case(db, settings)
    case.pickup_courier_id = mine.id
    db.flush()
    item = dossier_of(db, case)
    (refused,) = record(db, other, [scan("picked_up", item.code, details=PICKUP_DETAILS)])
    assert refused.outcome == "rejected" and refused.reason_code == "not_authorised"
    assert "not assigned to this courier" in (refused.detail or "")
    record_one(db, actor_for(mine), scan("picked_up", item.code, details=PICKUP_DETAILS))
    with pytest.raises(Forbidden, match="held by"):
        record_one(db, other, scan("handover_offered", item.code,
                                   to_party=party("office", 1)))  # fmt: skip


def test_courier_of_another_post_office_cannot_pick_up(db: Session, settings: Settings) -> None:
    item = dossier_of(db, make_case(db, settings))
    elsewhere = actor_for(make_user(db, "courier", post_office_id=make_post_office(db).id))
    (refused,) = record(db, elsewhere, [scan("picked_up", item.code, details=PICKUP_DETAILS)])
    assert refused.reason_code == "not_authorised"
    assert "booked with another post office" in (refused.detail or "")


def test_desk_officer_of_another_office_cannot_confirm(db: Session, settings: Settings) -> None:
    courier = actor_for(make_user(db, "courier"))
    item = dossier_of(db, make_case(db, settings))
    ours = make_user(db, "desk_officer")
    theirs = actor_for(make_user(db, "desk_officer", office_id=make_office(db).id))
    record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
    record_one(db, courier, scan("handover_offered", item.code,
                                 to_party=party("office", ours.office_id or 0)))  # fmt: skip
    with pytest.raises(Forbidden, match="must be confirmed by office"):
        record_one(db, theirs, scan("handover_confirmed", item.code))
    assert _state(db, item).pending_to == party("office", ours.office_id or 0)


def test_scanning_a_bag_scans_every_item_inside(db: Session, settings: Settings) -> None:
    dispatcher = make_user(db, "dispatcher")
    actor = actor_for(dispatcher)
    courier = actor_for(make_user(db, "courier", post_office_id=dispatcher.post_office_id))
    items = [dossier_of(db, make_case(db, settings)) for _ in range(3)]
    for item in items:
        record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
        record_one(db, courier, scan("handover_offered", item.code, to_party=actor.party))
        record_one(db, actor, scan("handover_confirmed", item.code))
    bag = Bag(code=make_item_id("BG", 1), post_office_id=dispatcher.post_office_id or 0)
    db.add(bag)
    db.flush()
    for item in items:
        record_one(db, actor, scan("bagged", item.code, details={"bag_code": bag.code}))
    (result,) = record(db, actor, [scan("departed", bag.code)])
    assert result.outcome == "accepted"
    assert sorted(e["item"] for e in result.events) == sorted(i.code for i in items)
    for item in items:
        state = _state(db, item)
        assert (state.status, state.bag_id) == ("in_transit", bag.id)
        assert _events(db, item)[-1].bag_id == bag.id
    assert verify_ledger(db).ok


def _at_post_office(db: Session, settings: Settings, count: int) -> tuple[Actor, list[Item]]:
    dispatcher = make_user(db, "dispatcher")
    post = actor_for(dispatcher)
    courier = actor_for(make_user(db, "courier", post_office_id=dispatcher.post_office_id))
    items = [dossier_of(db, make_case(db, settings)) for _ in range(count)]
    for item in items:
        record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
        record_one(db, courier, scan("handover_offered", item.code, to_party=post.party))
        record_one(db, post, scan("handover_confirmed", item.code))
    return post, items


def test_bag_codes_are_read_as_people_type_them(db: Session, settings: Settings) -> None:
    post, (item,) = _at_post_office(db, settings, 1)
    bag = Bag(code=make_item_id("BG", 7), post_office_id=post.post_office_id or 0)
    db.add(bag)
    db.flush()
    typed = format_item_id(bag.code).lower()  # "bg 000 000 07x vn"
    record_one(db, post, scan("bagged", item.code, details={"bag_code": typed}))
    assert _state(db, item).bag_id == bag.id
    assert _events(db, item)[-1].details["bag_code"] == bag.code
    with pytest.raises(InvalidInput) as bad:
        record_one(db, post, scan("bagged", item.code, details={"bag_code": "BG12"}))
    assert bad.value.field == "details.bag_code"
    assert verify_ledger(db).ok


def test_a_bag_scan_that_conflicts_is_filed_against_the_item_that_conflicts(
    db: Session, settings: Settings
) -> None:
    post, items = _at_post_office(db, settings, 2)
    bag = Bag(code=make_item_id("BG", 8), post_office_id=post.post_office_id or 0)
    db.add(bag)
    db.flush()
    for item in items:
        record_one(db, post, scan("bagged", item.code, details={"bag_code": bag.code}))
    # The second item has a hand-off open, so it cannot depart with the bag.
    record_one(db, post, scan("handover_offered", items[1].code, to_party="courier:1"))
    (result,) = record(db, post, [scan("departed", bag.code)])
    assert result.outcome == "exception"
    filed = db.scalars(
        select(CustodyException.item_id).where(
            CustodyException.client_event_id == uuid.UUID(result.client_event_id or "")
        )
    ).all()
    assert filed == [items[1].id]
    assert [_state(db, i).status for i in items] == ["at_post_office", "at_post_office"]


def test_a_mistaken_event_is_corrected_by_a_new_event(db: Session, settings: Settings) -> None:
    case = make_case(db, settings)
    desk_user = make_user(db, "desk_officer", office_id=case_office(db, case))
    desk = actor_for(desk_user)
    courier = actor_for(make_user(db, "courier"))
    admin = actor_for(make_user(db, "admin"))
    result = register_result(db, settings, desk, case, now=datetime.now(VN))
    record_one(db, courier, scan("handover_offered", result.code, to_party=courier.party))
    record_one(db, desk, scan("handover_confirmed", result.code))
    wrong = record_one(db, courier, scan("out_for_delivery", result.code))
    assert _state(db, result).status == "out_for_delivery"

    with pytest.raises(InvalidInput, match="reason"):
        declare_error(db, admin, scan("error_declared", result.code,
                      corrects_event_id=uuid.UUID(wrong.events[0]["event_id"])))  # fmt: skip
    declared = record_one(
        db,
        admin,
        scan("error_declared", result.code,
             corrects_event_id=uuid.UUID(wrong.events[0]["event_id"]),
             details={"reason": "did_not_occur"}),
    )  # fmt: skip
    assert declared.events[0]["status"] == "collected"
    events = _events(db, result)
    assert [e.kind for e in events][-2:] == ["out_for_delivery", "error_declared"]
    assert events[-1].corrects_event_id == uuid.UUID(wrong.events[0]["event_id"])
    assert _state(db, result).status == "collected"
    assert verify_ledger(db).ok


def test_an_event_that_later_events_depend_on_cannot_be_declared_wrong(
    db: Session, settings: Settings
) -> None:
    courier = actor_for(make_user(db, "courier"))
    admin = actor_for(make_user(db, "admin"))
    item = dossier_of(db, make_case(db, settings))
    pickup = record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
    record_one(db, courier, scan("handover_offered", item.code, to_party=party("office", 1)))
    with pytest.raises(Conflict, match="later events depend"):
        declare_error(db, admin, scan("error_declared", item.code,
                      corrects_event_id=uuid.UUID(pickup.events[0]["event_id"]),
                      details={"reason": "did_not_occur"}))  # fmt: skip


def test_interactive_errors_name_the_problem(db: Session, settings: Settings) -> None:
    courier = actor_for(make_user(db, "courier"))
    item = dossier_of(db, make_case(db, settings))
    with pytest.raises(Forbidden, match="held by citizen"):
        record_one(db, courier, scan("departed", item.code))
    with pytest.raises(InvalidInput) as bad:
        record_one(db, courier, scan("picked_up", "RR473124828VN"))
    assert bad.value.field == "code" and "check digit" in bad.value.detail
    with pytest.raises(InvalidInput) as naive:
        record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS,
                                     occurred_at=datetime(2026, 1, 1, 8, 0)))  # fmt: skip
    assert naive.value.field == "occurred_at"
    assert _state(db, item).status == "booked"
    record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
    with pytest.raises(InvalidTransition, match="does not apply to a dossier"):
        record_one(db, courier, scan("out_for_delivery", item.code))
    with pytest.raises(InvalidTransition, match="not allowed when the item is picked_up"):
        record_one(db, courier, scan("departed", item.code))


def test_delivery_needs_proof_and_gives_custody_to_the_citizen(
    db: Session, settings: Settings
) -> None:
    case = make_case(db, settings)
    desk = actor_for(make_user(db, "desk_officer", office_id=case_office(db, case)))
    courier = actor_for(make_user(db, "courier"))
    result = register_result(db, settings, desk, case, now=datetime.now(VN))
    record_one(db, courier, scan("handover_offered", result.code, to_party=courier.party))
    record_one(db, desk, scan("handover_confirmed", result.code))
    record_one(db, courier, scan("out_for_delivery", result.code))
    with pytest.raises(InvalidInput, match="proof"):
        record_one(db, courier, scan("delivered", result.code))
    record_one(
        db, courier,
        scan("delivered", result.code, evidence={"proof": "otp", "otp_verified": True},
             occurred_at=datetime.now(VN) + timedelta(minutes=5)),
    )  # fmt: skip
    state = _state(db, result)
    assert (state.status, state.custodian) == ("delivered", citizen_party(case.id))


def case_office(db: Session, case: object) -> int:
    from core.cases.models import Booking

    booking = db.get(Booking, case.booking_id)  # type: ignore[attr-defined]
    assert booking is not None
    return booking.office_id


def test_system_actor_is_not_a_person() -> None:
    assert Actor.system().user_id is None
