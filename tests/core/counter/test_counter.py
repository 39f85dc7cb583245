"""The post office's counter: a walk-in dossier received on the door-step's own services, a
result collected there on the same proofs as at the door, and the queue's times."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.booking.models import BookingTerms, NotifierWatermark
from core.booking.notify import WATERMARK, notify_citizens
from core.booking.result_leg import choose_result_leg
from core.booking.service import create_booking
from core.cases.models import Booking, Case
from core.cases.service import register_result
from core.counter.handout import hand_out, results_to_collect, send_counter_code
from core.counter.queue import call_next, call_number, finish_serving, queue_times, take_ticket
from core.counter.reception import CounterIntake, book_walk_in, receive_at_counter
from core.custody.commands import ScanCommand
from core.custody.models import CustodyEvent, Item, ItemState
from core.custody.parties import Actor, party
from core.custody.service import record_one
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.identity.models import User
from core.identity.service import actor_for
from core.media.service import store_media
from core.money.models import Receipt
from core.money.state import payment_state
from core.outbox.models import OutboxMessage
from core.papers.slip import dossier_slip_for
from core.settings import Settings
from tests.core.booking.helpers import NOW, Area, booking_input, make_area
from tests.factories import make_user, sent_code
from tests.labels.samples import signature_png

CARD = "001190012345||TRẦN THỊ HOA|15031990|Nữ|12 Lê Ngô Cát, Thủy Xuân, Huế|01012021"


def _clerk(db: Session, area: Area) -> User:
    return make_user(db, "counter_clerk", post_office_id=area.post_office.id)


def _signature(db: Session, text: str) -> str:
    return store_media(db, signature_png(text), "image/png", uploaded_by_user_id=None)


def _intake(db: Session, area: Area, fees: int, **overrides: object) -> CounterIntake:
    values: dict[str, object] = {
        "checklist": [{"name": "Tờ khai", "form": "original", "present": True}],
        "seal_number": "NP-0001",
        "fees_collected_vnd": fees,
        "payment_method": "cash",
        "citizen_signature_sha256": _signature(db, "Người nộp"),
        "clerk_signature_sha256": _signature(db, "Giao dịch viên"),
    }
    values.update(overrides)
    return CounterIntake(**values)  # type: ignore[arg-type]


def _state(db: Session, code: str) -> ItemState:
    db.expire_all()  # the ledger writes its projection in SQL, behind the session's back
    state = db.scalar(select(ItemState).join(Item, Item.id == ItemState.item_id)
                      .where(Item.code == code))  # fmt: skip
    assert state is not None
    return state


def test_a_walk_in_dossier_is_received_at_the_counter_as_at_the_door(
    db: Session, settings: Settings
) -> None:
    area = make_area(db)
    clerk = _clerk(db, area)
    # The notifier reads the ledger from here on (other tests' events are not ours).
    last = db.scalar(select(CustodyEvent.id).order_by(CustodyEvent.id.desc()).limit(1)) or 0
    db.merge(NotifierWatermark(name=WATERMARK, last_event_id=last))
    created = book_walk_in(db, settings, clerk, booking_input(area, window_start=None), now=NOW)
    assert created.item_code is not None
    booking = db.get(Booking, created.case.booking_id)
    assert booking is not None and booking.post_office_id == area.post_office.id
    assert booking.citizen_user_id is not None  # their phone signs them in to /my later
    due = payment_state(db, created.case.id).due_vnd
    assert due == db.get(BookingTerms, created.case.id).total_vnd > 0  # type: ignore[union-attr]

    # A document missing: refused with the missing document named, nothing moved.
    short = receive_at_counter(db, settings, clerk, created.case.id,
                               _intake(db, area, due, checklist=[
                                   {"name": "Tờ khai", "form": "original", "present": False}]),
                               now=NOW)  # fmt: skip
    assert short.outcome == "rejected" and short.reason_code == "incomplete_dossier"
    assert "Tờ khai" in (short.detail or "")
    assert _state(db, created.item_code).status == "booked"

    result = receive_at_counter(db, settings, clerk, created.case.id, _intake(db, area, due),
                                now=NOW + timedelta(minutes=3))  # fmt: skip
    assert result.outcome == "accepted", result
    state = _state(db, created.item_code)
    post = party("post_office", area.post_office.id)
    assert (state.status, state.custodian) == ("at_post_office", post)
    event = db.scalars(select(CustodyEvent).where(CustodyEvent.item_id == state.item_id)
                       .order_by(CustodyEvent.seq.desc())).first()  # fmt: skip
    assert event is not None and event.kind == "picked_up" and event.upu_code == "EMA"
    assert event.actor_user_id == clerk.id and event.details["seal_number"] == "NP-0001"
    # The cash is in the post office's till, with its receipt; nothing is due any more.
    receipt = db.scalar(select(Receipt).where(Receipt.case_id == created.case.id))
    assert receipt is not None and receipt.total_vnd == due
    assert payment_state(db, created.case.id).due_vnd == 0
    # The citizen hears it was taken at the counter, with the receipt's link.
    notify_citizens(db, settings, now=NOW + timedelta(hours=1))
    texts = db.scalars(select(OutboxMessage.payload["text"].astext)
                       .where(OutboxMessage.payload["text"].astext.contains(created.item_code))
                       ).all()  # fmt: skip
    assert any(t.startswith("Bưu cục đã nhận tại quầy hồ sơ") for t in texts), texts
    # The dossier slip is the door-step's, signed by the clerk as the post's staff.
    slip = dossier_slip_for(db, db.get(Item, state.item_id))  # type: ignore[arg-type]
    assert slip.staff_title == "Giao dịch viên / Counter clerk" and slip.seal_number == "NP-0001"

    # It travels on with the next hand-off: offered to a courier, who confirms.
    courier = area.couriers[0]
    offered = record_one(db, actor_for(clerk), ScanCommand(kind="handover_offered",
                         code=created.item_code, occurred_at=NOW + timedelta(minutes=5),
                         to_party=party("courier", courier.id)))  # fmt: skip
    assert offered.outcome == "accepted", offered
    confirm = ScanCommand(kind="handover_confirmed", code=created.item_code,
                          occurred_at=NOW + timedelta(minutes=6))  # fmt: skip
    confirmed = record_one(db, actor_for(courier), confirm)
    assert confirmed.outcome == "accepted", confirmed
    state = _state(db, created.item_code)
    assert (state.status, state.custodian) == ("in_transit", party("courier", courier.id))


def test_the_counter_refuses_what_it_cannot_take(db: Session, settings: Settings) -> None:
    area = make_area(db)
    clerk = _clerk(db, area)
    with pytest.raises(InvalidInput) as receive_only:
        book_walk_in(db, settings, clerk, booking_input(area, service_option="receive",
                                                          window_start=None), now=NOW)  # fmt: skip
    assert receive_only.value.reason == "counter.walk_in_needs_dossier"
    other = make_area(db)
    stranger = _clerk(db, other)
    created = book_walk_in(db, settings, clerk, booking_input(area), now=NOW)
    with pytest.raises(Forbidden):
        receive_at_counter(db, settings, stranger, created.case.id, _intake(db, area, 0), now=NOW)
    courier = area.couriers[0]
    with pytest.raises(Forbidden):
        book_walk_in(db, settings, courier, booking_input(area), now=NOW)


def _result_at_the_post_office(
    db: Session, settings: Settings, area: Area, clerk: User, *, at_counter: bool = True
) -> tuple[Case, str]:
    """A walk-in whose result came back to the post office: registered at the desk, collected
    by a courier, handed to the post office (the clerk confirms)."""
    created = book_walk_in(db, settings, clerk, booking_input(
        area, window_start=None, result_at_post_office=at_counter), now=NOW)  # fmt: skip
    due = payment_state(db, created.case.id).due_vnd
    assert receive_at_counter(db, settings, clerk, created.case.id, _intake(db, area, due),
                              now=NOW).outcome == "accepted"  # fmt: skip
    result = register_result(db, settings, Actor.system(), created.case, now=NOW)
    courier = area.couriers[0]
    desk = actor_for(make_user(db, "desk_officer", office_id=area.office.id))
    later = NOW + timedelta(days=3)
    for actor, kind, to_party in (
        (actor_for(courier), "handover_offered", party("courier", courier.id)),
        (desk, "handover_confirmed", None),
        (actor_for(courier), "handover_offered", party("post_office", area.post_office.id)),
        (actor_for(clerk), "handover_confirmed", None),
    ):
        answer = record_one(db, actor, ScanCommand(kind=kind, code=result.code, occurred_at=later,
                                                   to_party=to_party))  # fmt: skip
        assert answer.outcome == "accepted", answer
    return created.case, result.code


def test_a_result_is_collected_at_the_counter_on_the_chip_id_card(
    db: Session, settings: Settings
) -> None:
    area = make_area(db)
    clerk = _clerk(db, area)
    case, code = _result_at_the_post_office(db, settings, area, clerk)
    assert [r.code for r in results_to_collect(db, clerk)] == [code]
    later = NOW + timedelta(days=4)
    signature = _signature(db, "Người nhận")

    wrong = hand_out(db, settings, clerk, case.id, proof="cccd_qr",
                     cccd_qr=CARD.replace("001190012345", "001190054321"), otp_code=None,
                     fees_collected_vnd=0, signature_sha256=signature, now=later)  # fmt: skip
    assert wrong.result.outcome == "rejected" and wrong.result.reason_code == "proof_failed"
    assert _state(db, code).status == "at_post_office"
    with pytest.raises(InvalidInput) as fee:
        hand_out(db, settings, clerk, case.id, proof="cccd_qr", cccd_qr=CARD, otp_code=None,
                 fees_collected_vnd=5_000, signature_sha256=signature, now=later)  # fmt: skip
    assert fee.value.reason == "counter.fee_due"

    done = hand_out(db, settings, clerk, case.id, proof="cccd_qr", cccd_qr=CARD, otp_code=None,
                    fees_collected_vnd=0, signature_sha256=signature, now=later)  # fmt: skip
    assert done.result.outcome == "accepted", done.result
    state = _state(db, code)
    assert state.status == "delivered" and state.custodian.startswith("citizen:")
    delivered = db.scalars(select(CustodyEvent).where(CustodyEvent.item_id == state.item_id)
                           .order_by(CustodyEvent.seq.desc())).first()  # fmt: skip
    assert delivered is not None and delivered.evidence["cccd_last4"] == "2345"
    assert "cccd_qr" not in delivered.evidence and delivered.actor_user_id == clerk.id
    assert results_to_collect(db, clerk) == []


def test_a_result_to_be_brought_home_is_not_handed_out_at_the_counter(
    db: Session, settings: Settings
) -> None:
    area = make_area(db)
    clerk = _clerk(db, area)
    case, code = _result_at_the_post_office(db, settings, area, clerk, at_counter=False)
    refused = hand_out(db, settings, clerk, case.id, proof="cccd_qr", cccd_qr=CARD, otp_code=None,
                       fees_collected_vnd=0, signature_sha256=_signature(db, "x"),
                       now=NOW + timedelta(days=4))  # fmt: skip
    assert (
        refused.result.outcome == "rejected" and refused.result.reason == "counter.not_for_counter"
    )
    assert _state(db, code).status == "at_post_office"


def test_the_queue_records_waiting_and_serving_times(db: Session, settings: Settings) -> None:
    area = make_area(db)
    clerk = _clerk(db, area)
    tickets = [take_ticket(db, area.post_office.id, now=NOW + timedelta(minutes=m))
               for m in (0, 1, 2)]  # fmt: skip
    assert [t.number for t in tickets] == [1, 2, 3]
    first = call_next(db, clerk, counter_label="1", now=NOW + timedelta(minutes=10))
    assert first.number == 1
    # Number 3 called out of turn (the citizen was back), then once more: refused.
    third = call_number(db, clerk, 3, now=NOW + timedelta(minutes=14))
    assert third.number == 3 and first.finished_at == NOW + timedelta(minutes=14)
    with pytest.raises(Conflict) as twice:
        call_number(db, clerk, 3, now=NOW + timedelta(minutes=15))
    assert twice.value.reason == "counter.ticket_called_twice"
    assert third.called_at == NOW + timedelta(minutes=14)  # unchanged by the refusal
    finish_serving(db, clerk, now=NOW + timedelta(minutes=20))
    second = call_next(db, clerk, now=NOW + timedelta(minutes=21))
    assert second.number == 2
    with pytest.raises(NotFound):
        call_next(db, clerk, now=NOW + timedelta(minutes=22))

    day = queue_times(db, area.post_office.id, NOW.date())
    waits = {t.number: t.waited_s for t in day.tickets}
    assert waits == {1: 600.0, 2: 1200.0, 3: 720.0}
    serves = {t.number: t.served_s for t in day.tickets}
    assert serves == {1: 240.0, 2: None, 3: 360.0}
    assert (day.median_wait_s, day.max_wait_s, day.waited_within(15 * 60)) == (720.0, 1200.0, 2)


def test_a_result_is_collected_at_the_counter_on_the_one_time_code(
    db: Session, settings: Settings
) -> None:
    area = make_area(db)
    clerk = _clerk(db, area)
    case, code = _result_at_the_post_office(db, settings, area, clerk)
    later = NOW + timedelta(days=4)
    sent = send_counter_code(db, settings, clerk, code, now=later)
    assert sent.phone_masked.endswith("78")
    signature = _signature(db, "Người nhận")
    wrong = hand_out(db, settings, clerk, case.id, proof="otp", cccd_qr=None, otp_code="000000",
                     fees_collected_vnd=0, signature_sha256=signature, now=later)  # fmt: skip
    assert wrong.result.outcome == "rejected" and wrong.result.reason_code == "proof_failed"
    done = hand_out(db, settings, clerk, case.id, proof="otp", cccd_qr=None,
                    otp_code=sent_code(db, "0912345678"), fees_collected_vnd=0,
                    signature_sha256=signature, now=later)  # fmt: skip
    assert done.result.outcome == "accepted", done.result
    assert _state(db, code).status == "delivered"


def test_the_citizen_chooses_where_to_receive_the_result(db: Session, settings: Settings) -> None:
    area = make_area(db)
    citizen = make_user(db, "citizen", phone="0912345678")
    both = create_booking(db, settings, citizen, booking_input(area), now=NOW)
    booking = db.get(Booking, both.case.booking_id)
    assert booking is not None and booking.result_at_post_office is False
    choose_result_leg(db, citizen, both.case.id, at_post_office=True)
    assert booking.result_at_post_office is True
    choose_result_leg(db, citizen, both.case.id, at_post_office=False)
    assert booking.result_at_post_office is False
    send_only = create_booking(db, settings, citizen,
                               booking_input(area, service_option="send"), now=NOW)  # fmt: skip
    with pytest.raises(InvalidInput) as no_leg:
        choose_result_leg(db, citizen, send_only.case.id, at_post_office=True)
    assert no_leg.value.reason == "booking.no_result_leg"
    stranger = make_user(db, "citizen", phone="0987654321")
    with pytest.raises(NotFound):
        choose_result_leg(db, stranger, both.case.id, at_post_office=True)


def test_a_booked_home_pickup_brought_to_the_counter_is_received_there(
    db: Session, settings: Settings
) -> None:
    """The citizen booked a courier, then came in person: the counter takes it, whoever the
    courier was; another post office's counter does not."""
    area = make_area(db)
    citizen = make_user(db, "citizen", phone="0912345678")
    booked = create_booking(db, settings, citizen, booking_input(area), now=NOW)
    booked.case.pickup_courier_id = area.couriers[0].id
    db.flush()
    # The booking's own post office: tests that commit leave other post offices in this
    # commune, and the nearest one takes the booking.
    booking = db.get(Booking, booked.case.booking_id)
    assert booking is not None
    clerk = make_user(db, "counter_clerk", post_office_id=booking.post_office_id)
    stranger = _clerk(db, make_area(db))
    with pytest.raises(Forbidden):
        receive_at_counter(db, settings, stranger, booked.case.id, _intake(db, area, 0), now=NOW)
    due = payment_state(db, booked.case.id).due_vnd
    taken = receive_at_counter(db, settings, clerk, booked.case.id, _intake(db, area, due), now=NOW)
    assert taken.outcome == "accepted", taken
    assert booked.item_code is not None
    assert _state(db, booked.item_code).custodian == party("post_office", booking.post_office_id)
