"""A dossier for an office in another province (issue 18): priced at the other-province price
of the citizen's province, picked up at home, bagged to a post office of the office's
province, carried to that office's desk, and its result bagged back and delivered; every
hand-off a ledger event through the same services the pages call."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.access import may_see_case
from core.agency.service import create_system, find_case, result_ready
from core.booking.models import BookingTerms
from core.booking.prices import province_price_table
from core.booking.pricing import DEFAULT_TABLE, make_quote
from core.booking.service import create_booking, quote_for
from core.booking.validation import BookingInvalid
from core.cases.models import Booking, Case
from core.cases.tracking import tracking_view
from core.counter.bags import scan_in
from core.counter.handout import hand_out, results_to_collect
from core.counter.reception import book_walk_in
from core.courier.bags import bag_destinations, open_bag, seal_bag
from core.courier.sync import sync
from core.custody.commands import ScanCommand, ScanResult
from core.custody.models import Item, ItemState
from core.custody.parties import party
from core.custody.service import record_one
from core.custody.verify import verify_ledger
from core.desk.service import record_code_at_desk, register_result_at_desk
from core.dispatch.day import sync_stops
from core.errors import Forbidden, InvalidInput, NotFound
from core.handovers.service import complete_handover, open_handover, receive_item
from core.identity.models import User
from core.identity.service import actor_for
from core.media.service import store_media
from core.money.state import payment_state
from core.places.models import Commune, Office, PostOffice, PriceTier, Procedure
from core.settings import Settings
from tests.core.booking.helpers import NOW, Area, booking_input, make_area
from tests.factories import make_office, make_post_office, make_procedure, make_user, unique
from tests.journey import both_signatures
from tests.labels.samples import signature_png
from vntime import VN

# The back of the citizen's chip ID card (booking_input's citizen), read at the door.
CARD = "001190012345||TRẦN THỊ HOA|15031990|Nữ|12 Lê Ngô Cát, Thủy Xuân, Huế|01012021"
# Hà Nội's level-1 agency code (core/reference/data/agency_codes.json) and Bắc Ninh's.
HANOI_CODE = "000.00.00.H26"
BAC_NINH_CODE = "000.00.00.H05"


@dataclass(frozen=True)
class Far:
    """Province B (Hà Nội): a ministry-level office, the post office that serves it, staff."""

    office: Office
    post_office: PostOffice
    courier: User
    dispatcher: User
    desk: User


def _far(db: Session) -> Far:
    # A Hà Nội commune of its own: test_access uses 00070, the browser tests Bắc Ninh and Huế.
    commune = db.scalar(
        select(Commune).where(Commune.province_code == "01").order_by(Commune.code).offset(40)
    )
    assert commune is not None
    # Off the commune's centre, and the post office on the very spot: the nearest to the
    # office whatever other post offices the commune has.
    lat, lon = commune.lat + 0.0123, commune.lon + 0.0071
    office = make_office(db, code=unique("OF-HN"), name_vi="Bộ Tư pháp — Bộ phận một cửa",
                         name_en="Ministry of Justice one-stop desk", kind="province_centre",
                         province_code="01", commune_code=commune.code,
                         address=f"{commune.name}, Hà Nội", lat=lat, lon=lon)  # fmt: skip
    post = make_post_office(db, code=unique("PO-HN"), name="Bưu cục Trung tâm Hà Nội",
                            province_code="01", commune_code=commune.code,
                            address=f"{commune.name}, Hà Nội", lat=lat, lon=lon)  # fmt: skip
    return Far(
        office=office,
        post_office=post,
        courier=make_user(db, "courier", post_office_id=post.id),
        dispatcher=make_user(db, "dispatcher", post_office_id=post.id),
        desk=make_user(db, "desk_officer", office_id=office.id),
    )


def _carried(db: Session) -> Procedure:
    return make_procedure(db, fee_vnd=200_000, postal_other_province=True,
                          agency=f"Bộ Tư pháp {unique('bo')}")  # fmt: skip


def _prices(db: Session) -> None:
    """Each province its own table, so the quote shows whose table priced it."""
    db.execute(delete(PriceTier).where(PriceTier.province_code.in_(("46", "01"))))
    db.add_all([
        PriceTier(province_code="46", max_grams=2000, same_commune_vnd=11_000,
                  same_province_vnd=17_000, other_province_vnd=41_000),
        PriceTier(province_code="01", max_grams=2000, same_commune_vnd=12_000,
                  same_province_vnd=18_000, other_province_vnd=52_000),
    ])  # fmt: skip
    db.flush()


def _state(db: Session, code: str) -> ItemState:
    db.expire_all()  # the ledger writes its projection in SQL
    state = db.scalar(select(ItemState).join(Item, Item.id == ItemState.item_id)
                      .where(Item.code == code))  # fmt: skip
    assert state is not None
    return state


def _accepted(result: ScanResult) -> None:
    assert result.outcome == "accepted", result


def _scan(kind: str, code: str, when: datetime, **fields: object) -> ScanCommand:
    return ScanCommand(kind=kind, code=code, occurred_at=when, client_event_id=uuid.uuid4(),
                       **fields)  # type: ignore[arg-type]  # fmt: skip


def _sitting(db: Session, opener: User, confirmer: User, giver: str, receiver: str, code: str,
             when: datetime) -> None:  # fmt: skip
    """A hand-over as the desk and the courier app do it: opened, scanned, signed by both."""
    opened = open_handover(db, actor_for(opener), giver=giver, receiver=receiver,
                           item_codes=[code], now=when)  # fmt: skip
    assert opened.refused == [], opened.refused
    receive_item(db, actor_for(confirmer), opened.handover.id, code,
                 now=when + timedelta(minutes=1))  # fmt: skip
    view = complete_handover(db, actor_for(confirmer), opened.handover.id,
                             now=when + timedelta(minutes=2), **both_signatures(db))  # fmt: skip
    assert view.status == "completed" and view.items_moved == 1


def _bag(db: Session, sender: User, code: str, destination: PostOffice, seal: str,
         when: datetime) -> str:  # fmt: skip
    actor = actor_for(sender)
    bag = open_bag(db, actor, now=when)
    _accepted(record_one(db, actor, _scan("bagged", code, when, details={"bag_code": bag.code})))
    # The counter's bag page offers the far end of the item's journey.
    assert destination in bag_destinations(db, bag)
    seal_bag(db, actor, bag.code, seal, now=when + timedelta(minutes=1),
             destination_post_office_id=destination.id)  # fmt: skip
    _accepted(record_one(db, actor, _scan("departed", bag.code, when + timedelta(minutes=2))))
    return bag.code


def _stops(
    db: Session, settings: Settings, post: PostOffice, case: Case, when: datetime
) -> set[str]:
    """The kinds of this case's live stops in the post office's day (the dispatcher's plan)."""
    rows = sync_stops(db, settings, post_office_id=post.id, day=when.astimezone(VN).date())
    return {
        row.kind
        for leg in rows.legs
        if leg.case_id == case.id
        for row in (leg.pickup, leg.drop)
        if row is not None and row.status not in ("done", "cancelled")
    }


def _book(db: Session, settings: Settings, area: Area, far: Far, procedure: Procedure) -> Case:
    citizen = make_user(db, "citizen", phone="0912345678")
    created = create_booking(db, settings, citizen,
                             booking_input(area, procedure_id=procedure.id,
                                           office_id=far.office.id), now=NOW)  # fmt: skip
    return created.case


def _pick_up(db: Session, settings: Settings, case: Case, courier: User) -> str:
    """At the door, through the phone's sync: checklist, seal, cash, both signatures."""
    code = db.scalar(select(Item.code).where(Item.id == case.dossier_item_id))
    assert code is not None
    case.pickup_courier_id = courier.id
    booking = db.get(Booking, case.booking_id)
    assert booking is not None
    sign = [store_media(db, signature_png(t), "image/png", uploaded_by_user_id=None)
            for t in ("Người nộp", "Bưu tá")]  # fmt: skip
    due = payment_state(db, case.id).due_vnd
    (result,) = sync(db, settings, actor_for(courier), [_scan(
        "picked_up", code, NOW + timedelta(hours=1, minutes=10), lat=booking.lat,
        lon=booking.lon, gps_accuracy_m=10.0,
        details={"checklist": [{"name": "Tờ khai", "form": "original", "present": True,
                                "pages": 1}],
                 "seal_number": "NP-HUE-0001", "fees_collected_vnd": due,
                 "payment_method": "cash"},
        evidence={"citizen_signature_sha256": sign[0], "courier_signature_sha256": sign[1]},
    )], now=NOW + timedelta(hours=1, minutes=10))  # fmt: skip
    _accepted(result)
    return code


def test_a_dossier_goes_to_an_office_in_another_province_and_its_result_comes_back(
    db: Session, settings: Settings
) -> None:
    _prices(db)
    area, far, procedure = make_area(db), _far(db), _carried(db)
    dispatcher = make_user(db, "dispatcher", post_office_id=area.post_office.id)
    case = _book(db, settings, area, far, procedure)

    # Priced at the other-province zone of the citizen's province's (Huế's) table.
    booking = db.get(Booking, case.booking_id)
    terms = db.get(BookingTerms, case.id)
    assert booking is not None and terms is not None
    assert booking.transit_post_office_id == far.post_office.id
    assert terms.zone == "other_province"
    expected = make_quote(
        province_price_table(db, "46", DEFAULT_TABLE),
        service_option="both",
        zone="other_province",
        weight_g=100,
        admin_fee_vnd=200_000,
        pay_fee_on_behalf=False,
        fee_transfer_vnd=settings.booking_fee_transfer_vnd,
        exemption=None,
    )
    postage = {line["code"]: line["amount_vnd"] for line in terms.quote["lines"]}
    assert postage["postage_dossier"] == postage["postage_result"] == 41_000
    assert terms.total_vnd == expected.total_vnd
    quoted, zone = quote_for(db, settings, service_option="both", procedure_id=procedure.id,
                             commune_code=area.commune.code, office_id=far.office.id)  # fmt: skip
    assert (quoted.total_vnd, zone) == (expected.total_vnd, "other_province")

    # Each side plans its own legs: the citizen's post office rides home -> post office (the
    # bag carries it on), and plans nothing at the far office.
    assert _stops(db, settings, area.post_office, case, NOW) == {"home_pickup", "post_office_drop"}
    assert _stops(db, settings, far.post_office, case, NOW) == set()

    # Province A: picked up at home, handed in at the post office, bagged to Hà Nội.
    courier = area.couriers[0]
    code = _pick_up(db, settings, case, courier)
    day1 = NOW + timedelta(hours=9)
    _sitting(db, courier, dispatcher, party("courier", courier.id),
             party("post_office", area.post_office.id), code, day1)  # fmt: skip
    assert _state(db, code).status == "at_post_office"
    bag_out = _bag(db, dispatcher, code, far.post_office, "HUE-HN-01", day1 + timedelta(hours=1))
    assert _state(db, code).status == "in_transit"

    # Province B: the bag arrives at the post office that serves the office.
    day2 = NOW + timedelta(days=1, hours=1)
    _accepted(record_one(db, actor_for(far.dispatcher), _scan("arrived", bag_out, day2)))
    state = _state(db, code)
    assert (state.status, state.custodian) == ("arrived", party("post_office", far.post_office.id))
    assert _stops(db, settings, far.post_office, case, day2) == {"office_drop"}
    assert _stops(db, settings, area.post_office, case, day2) == set()
    # Its staff see the case now; a post office of the same province that it never passes
    # does not.
    assert may_see_case(far.dispatcher, booking, case)
    stranger = make_post_office(db, code=unique("PO-HN2"), name="Bưu cục khác",
                                province_code="01", commune_code=far.post_office.commune_code,
                                address="Hà Nội", lat=21.0, lon=105.8)  # fmt: skip
    assert not may_see_case(make_user(db, "dispatcher", post_office_id=stranger.id), booking, case)

    # The far courier takes it to the office's desk: both sign; the desk records Hà Nội's code.
    _sitting(db, far.courier, far.dispatcher, party("post_office", far.post_office.id),
             party("courier", far.courier.id), code, day2 + timedelta(minutes=30))  # fmt: skip
    _sitting(db, far.courier, far.desk, party("courier", far.courier.id),
             party("office", far.office.id), code, day2 + timedelta(hours=1))  # fmt: skip
    assert _state(db, code).status == "handed_over"
    received = f"{date(2026, 11, 24):%y%m%d}"
    with pytest.raises(InvalidInput) as other:
        record_code_at_desk(db, far.desk, code, f"{BAC_NINH_CODE}-{received}-0042", None,
                            settings=settings, now=day2 + timedelta(hours=2))  # fmt: skip
    assert other.value.reason == "papers.agency_not_office"
    record_code_at_desk(db, far.desk, code, f"{HANOI_CODE}-{received}-0042", date(2026, 11, 27),
                        settings=settings, now=day2 + timedelta(hours=2))  # fmt: skip
    db.refresh(case)
    assert case.agency_dossier_code == f"{HANOI_CODE}-{received}-0042"

    # The result: registered at the far desk, collected by the far post office, bagged home.
    day4 = NOW + timedelta(days=4, hours=2)
    result = register_result_at_desk(db, settings, far.desk, code, now=day4).code
    assert _stops(db, settings, far.post_office, case, day4) == {
        "office_pickup",
        "post_office_drop",
    }
    assert _stops(db, settings, area.post_office, case, day4) == set()
    _sitting(db, far.courier, far.desk, party("office", far.office.id),
             party("courier", far.courier.id), result, day4 + timedelta(hours=1))  # fmt: skip
    far_post = party("post_office", far.post_office.id)
    _sitting(db, far.courier, far.dispatcher, party("courier", far.courier.id), far_post, result,
             day4 + timedelta(hours=2))  # fmt: skip
    bag_back = _bag(db, far.dispatcher, result, area.post_office, "HN-HUE-07",
                    day4 + timedelta(hours=3))  # fmt: skip
    day5 = NOW + timedelta(days=5, hours=1)
    _accepted(record_one(db, actor_for(dispatcher), _scan("arrived", bag_back, day5)))
    state = _state(db, result)
    assert (state.status, state.custodian) == ("arrived", party("post_office", area.post_office.id))

    # Home again: the post office hands it to the courier, who delivers it on the ID card.
    _sitting(db, courier, dispatcher, party("post_office", area.post_office.id),
             party("courier", courier.id), result, day5 + timedelta(minutes=20))  # fmt: skip
    assert _state(db, result).status == "collected"
    assert _stops(db, settings, area.post_office, case, day5) == {"home_delivery"}
    assert _stops(db, settings, far.post_office, case, day5) == set()
    case.delivery_courier_id = courier.id
    out = day5 + timedelta(hours=1)
    (started,) = sync(db, settings, actor_for(courier), [_scan("out_for_delivery", result, out)],
                      now=out)  # fmt: skip
    _accepted(started)
    signature = store_media(db, signature_png("Người nhận"), "image/png", uploaded_by_user_id=None)
    photo = store_media(db, signature_png("Ảnh"), "image/png", uploaded_by_user_id=None)
    (delivered,) = sync(db, settings, actor_for(courier), [_scan(
        "delivered", result, out + timedelta(minutes=30), lat=booking.lat, lon=booking.lon,
        gps_accuracy_m=10.0,
        evidence={"proof": "cccd_qr", "cccd_qr": CARD, "signature_sha256": signature,
                  "photo_sha256": photo})], now=out + timedelta(minutes=30))  # fmt: skip
    _accepted(delivered)
    assert _state(db, result).status == "delivered"

    assert verify_ledger(db).ok
    # Tracking lists each transit step, naming the post offices, in Vietnamese.
    dossier_steps = [(e.kind, e.holder_vi, e.place_vi) for e in tracking_view(db, code).timeline]
    assert ("bag_sealed", area.post_office.name, f"Gửi tới {far.post_office.name}") in dossier_steps
    assert ("departed", area.post_office.name, f"Gửi tới {far.post_office.name}") in dossier_steps
    assert ("arrived", far.post_office.name, f"Đến {far.post_office.name}") in dossier_steps
    result_steps = [(e.kind, e.place_vi) for e in tracking_view(db, result).timeline]
    assert ("departed", f"Gửi tới {area.post_office.name}") in result_steps
    assert ("arrived", f"Đến {area.post_office.name}") in result_steps


def test_a_procedure_not_carried_across_provinces_is_refused_naming_the_field(
    db: Session, settings: Settings
) -> None:
    area, far = make_area(db), _far(db)
    cases_before = db.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
    citizen = make_user(db, "citizen", phone="0912345678")
    with pytest.raises(BookingInvalid) as refused:
        create_booking(db, settings, citizen, booking_input(area, office_id=far.office.id),
                       now=NOW)  # fmt: skip
    assert refused.value.field == "office_id"
    assert refused.value.reason == "booking.procedure_not_across_provinces"
    assert refused.value.params is not None and refused.value.params["procedure"]
    assert db.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) == cases_before
    with pytest.raises(InvalidInput) as quoted:
        quote_for(db, settings, service_option="both", procedure_id=area.procedure.id,
                  commune_code=area.commune.code, office_id=far.office.id)  # fmt: skip
    assert quoted.value.reason == "booking.procedure_not_across_provinces"


def test_a_bag_to_another_province_needs_the_right_items_and_the_right_staff(
    db: Session, settings: Settings
) -> None:
    area, far, procedure = make_area(db), _far(db), _carried(db)
    dispatcher = make_user(db, "dispatcher", post_office_id=area.post_office.id)
    courier = area.couriers[0]
    far_case = _book(db, settings, area, far, procedure)
    far_code = _pick_up(db, settings, far_case, courier)
    # A case for an office of Huế, on the same post office.
    citizen = make_user(db, "citizen", phone="0987654321")
    second = booking_input(area, contact_phone="0987654321", window_start=NOW.replace(hour=10))
    home_case = create_booking(db, settings, citizen, second, now=NOW).case
    home_code = _pick_up(db, settings, home_case, courier)

    # A courier may not send a bag out of the province (the check comes before any other).
    courier_bag = open_bag(db, actor_for(courier), now=NOW + timedelta(hours=2))
    with pytest.raises(Forbidden) as by_courier:
        seal_bag(db, actor_for(courier), courier_bag.code, "C-1", now=NOW + timedelta(hours=2),
                 destination_post_office_id=far.post_office.id)  # fmt: skip
    assert by_courier.value.reason == "bag.other_province_role"
    db.refresh(courier_bag)
    assert courier_bag.status == "open" and courier_bag.destination_post_office_id is None

    # The post office's bag holding a dossier for Huế's own office cannot go to Hà Nội.
    for code in (far_code, home_code):
        _sitting(db, courier, dispatcher, party("courier", courier.id),
                 party("post_office", area.post_office.id), code,
                 NOW + timedelta(hours=9))  # fmt: skip
    bag = open_bag(db, actor_for(dispatcher), now=NOW + timedelta(hours=10))
    for code in (far_code, home_code):
        packing = _scan("bagged", code, NOW + timedelta(hours=10), details={"bag_code": bag.code})
        _accepted(record_one(db, actor_for(dispatcher), packing))
    lone = open_bag(db, actor_for(dispatcher), now=NOW + timedelta(hours=10))
    assert far.post_office not in bag_destinations(db, lone)
    with pytest.raises(InvalidInput) as stray:
        seal_bag(db, actor_for(dispatcher), bag.code, "D-1", now=NOW + timedelta(hours=10),
                 destination_post_office_id=far.post_office.id)  # fmt: skip
    assert stray.value.reason == "bag.item_not_for_province"
    assert stray.value.params == {"code": home_code, "post_office": far.post_office.name}
    db.refresh(bag)
    assert bag.status == "open" and _state(db, home_code).status == "at_post_office"

    # Nor may a far courier be handed a dossier of a case not addressed to Hà Nội.
    (refused,) = sync(db, settings, actor_for(dispatcher), [_scan(
        "handover_offered", home_code, NOW + timedelta(hours=11),
        to_party=party("courier", far.courier.id))], now=NOW + timedelta(hours=11))  # fmt: skip
    assert refused.outcome == "rejected" and "another province" in (refused.detail or "")


def test_a_result_back_from_another_province_is_collected_at_the_counter(
    db: Session, settings: Settings
) -> None:
    area, far, procedure = make_area(db), _far(db), _carried(db)
    clerk = make_user(db, "counter_clerk", post_office_id=area.post_office.id)
    citizen = make_user(db, "citizen", phone="0912345678")
    chosen = booking_input(area, procedure_id=procedure.id, office_id=far.office.id,
                           result_at_post_office=True)  # fmt: skip
    case = create_booking(db, settings, citizen, chosen, now=NOW).case
    courier = area.couriers[0]
    code = _pick_up(db, settings, case, courier)
    here, there = (
        party("post_office", area.post_office.id),
        party("post_office", far.post_office.id),
    )
    day1, day2 = NOW + timedelta(hours=9), NOW + timedelta(days=1, hours=1)
    # The post office's dispatcher signs the courier's hand-over; the counter bags it on.
    dispatcher = make_user(db, "dispatcher", post_office_id=area.post_office.id)
    _sitting(db, courier, dispatcher, party("courier", courier.id), here, code, day1)
    _accepted(record_one(db, actor_for(far.dispatcher), _scan(
        "arrived", _bag(db, clerk, code, far.post_office, "S-1", day1 + timedelta(hours=1)),
        day2)))  # fmt: skip
    _sitting(db, far.courier, far.dispatcher, there, party("courier", far.courier.id), code,
             day2 + timedelta(minutes=30))  # fmt: skip
    _sitting(db, far.courier, far.desk, party("courier", far.courier.id),
             party("office", far.office.id), code, day2 + timedelta(hours=1))  # fmt: skip
    day4 = NOW + timedelta(days=4, hours=2)
    # The agency system that hears of it is the office's province's (Hà Nội), not the
    # citizen's: for Huế's system the case does not exist.
    hue = create_system(db, code=unique("hue-"), name="Một cửa Huế", kind="provincial_one_stop",
                        province_code="46")  # fmt: skip
    with pytest.raises(NotFound):
        find_case(db, hue, item_id=code)
    hanoi = create_system(db, code=unique("hn-"), name="Một cửa Hà Nội",
                          kind="provincial_one_stop", province_code="01")  # fmt: skip
    ready = result_ready(db, settings, hanoi, item_id=code, agency_dossier_code=None, payload={},
                         now=day4)  # fmt: skip
    result = ready.item.code
    _sitting(db, far.courier, far.desk, party("office", far.office.id),
             party("courier", far.courier.id), result, day4 + timedelta(hours=1))  # fmt: skip
    _sitting(db, far.courier, far.dispatcher, party("courier", far.courier.id), there, result,
             day4 + timedelta(hours=2))  # fmt: skip
    back = _bag(db, far.dispatcher, result, area.post_office, "S-2", day4 + timedelta(hours=3))
    day5 = NOW + timedelta(days=5, hours=1)
    # Scanned in at the counter's "receive" box: arrived, and waiting there for the citizen.
    _accepted(scan_in(db, settings, clerk, back, now=day5))
    assert _state(db, result).status == "arrived"
    assert _stops(db, settings, area.post_office, case, day5) == set()
    assert [r.code for r in results_to_collect(db, clerk)] == [result]

    signature = store_media(db, signature_png("Người nhận"), "image/png", uploaded_by_user_id=None)
    done = hand_out(db, settings, clerk, case.id, proof="cccd_qr", cccd_qr=CARD, otp_code=None,
                    fees_collected_vnd=payment_state(db, case.id).due_vnd,
                    signature_sha256=signature, now=day5 + timedelta(minutes=10))  # fmt: skip
    _accepted(done.result)
    state = _state(db, result)
    assert state.status == "delivered" and state.custodian.startswith("citizen:")
    assert results_to_collect(db, clerk) == []
    assert verify_ledger(db).ok


def test_a_walk_in_at_the_counter_may_be_for_an_office_of_another_province(
    db: Session, settings: Settings
) -> None:
    area, far, procedure = make_area(db), _far(db), _carried(db)
    clerk = make_user(db, "counter_clerk", post_office_id=area.post_office.id)
    walk_in = booking_input(area, window_start=None, procedure_id=procedure.id,
                            office_id=far.office.id)  # fmt: skip
    created = book_walk_in(db, settings, clerk, walk_in, now=NOW)
    booking = db.get(Booking, created.case.booking_id)
    assert booking is not None and booking.post_office_id == area.post_office.id
    assert booking.transit_post_office_id == far.post_office.id

    # A counter of the far province does not take a Huế citizen's dossier: it would have no
    # way home.
    far_clerk = make_user(db, "counter_clerk", post_office_id=far.post_office.id)
    with pytest.raises(BookingInvalid) as refused:
        book_walk_in(db, settings, far_clerk, walk_in, now=NOW)
    assert "address" in refused.value.messages
