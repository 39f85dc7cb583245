from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.booking.models import BookingTerms, CaseRating
from core.booking.service import (
    MAX_ADDRESS_CHARS,
    cancel_booking,
    check_address,
    citizen_case,
    create_booking,
    plan_booking,
    rate_case,
    reschedule_booking,
    sign_in_with_code,
)
from core.booking.slots import offerable_windows
from core.booking.validation import BookingInvalid, normalise_phone
from core.cases.models import Booking, Case
from core.cases.service import register_result
from core.custody.models import CustodyEvent, ItemState
from core.custody.service import record_one
from core.errors import Conflict, InvalidInput, NotFound
from core.identity.models import User
from core.identity.service import actor_for, keyed_hash
from core.otp.service import issue_code
from core.outbox.models import OutboxMessage
from core.settings import Settings
from edge.texts import field_texts
from labels.vietqr import parse_vietqr
from tests.core.booking.helpers import (
    CCCD_MALE_1985,
    FIRST_WINDOW,
    NOW,
    booking_input,
    make_area,
    next_window,
)
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import make_user, sent_code, unique


def _count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_booking_opens_a_case_with_terms_and_a_vietqr_for_the_item(
    db: Session, settings: Settings
) -> None:
    area = make_area(db)
    citizen = make_user(db, "citizen", phone="0912345678")
    created = create_booking(db, settings, citizen,
                             booking_input(area, payment_method="vietqr", pay_fee_on_behalf=True),
                             now=NOW)  # fmt: skip
    booking = db.get(Booking, created.case.booking_id)
    assert booking is not None
    assert booking.citizen_user_id == citizen.id
    assert booking.contact_phone == "0912345678"  # spaces typed by the citizen are gone
    assert booking.address_text == "12 Lê Ngô Cát, Phường Thủy Xuân, Thành phố Huế"
    assert (booking.commune_code, booking.province_code) == ("19813", "46")
    assert booking.position_source == "commune_centroid"
    assert booking.post_office_id == area.post_office.id
    assert booking.pickup_window_start == FIRST_WINDOW
    assert booking.cccd_last4 == "2345" and booking.cccd_hash == keyed_hash(
        settings, "001190012345", purpose="cccd"
    )
    assert (booking.citizen_sex, booking.citizen_birth_year) == ("female", 1990)
    terms = db.get(BookingTerms, created.case.id)
    assert terms is not None and terms.payment_method == "vietqr"
    # same commune: 26,000 per leg, two legs, fee 200,000, transfer 8,000
    assert terms.total_vnd == created.quote.total_vnd == 2 * 26_000 + 200_000 + 8_000
    assert created.item_code is not None and created.vietqr_payload is not None
    qr = parse_vietqr(created.vietqr_payload)
    assert (qr.bank_bin, qr.account) == (settings.vietqr_bank_bin, settings.vietqr_account)
    assert qr.amount == terms.total_vnd
    assert qr.purpose == f"HOSO {created.item_code}"
    booked = db.scalars(select(CustodyEvent).where(CustodyEvent.kind == "booked").order_by(
        CustodyEvent.id.desc())).first()  # fmt: skip
    assert booked is not None and booked.actor_role == "citizen"
    sms = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert sms is not None and sms.payload["phone"] == "0912345678"
    assert created.item_code in sms.payload["text"] and "08:00–10:00" in sms.payload["text"]


def test_every_invalid_field_is_named_and_nothing_is_created(
    db: Session, settings: Settings
) -> None:
    area = make_area(db)
    citizen = make_user(db, "citizen")
    before = (_count(db, Case), _count(db, Booking), _count(db, OutboxMessage))
    bad = booking_input(
        area, service_option="fax", procedure_id=None, contact_name=" ",
        contact_phone="12345", cccd="00119001234", citizen_sex="x", citizen_birth_year=1850,
        payment_method="cheque", window_start=None,
    )  # fmt: skip
    with pytest.raises(BookingInvalid) as caught:
        create_booking(db, settings, citizen, bad, now=NOW)
    assert set(caught.value.messages) == {
        "service_option", "procedure_id", "contact_name", "contact_phone", "cccd",
        "citizen_sex", "citizen_birth_year", "payment_method", "pickup_window",
    }  # fmt: skip
    assert caught.value.field == "service_option"
    assert (_count(db, Case), _count(db, Booking), _count(db, OutboxMessage)) == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"address_text": "Phường Không Có, Tỉnh Không Có"}, "address"),
        ({"commune_code": "00070"}, "commune_code"),  # Hoàn Kiếm: not what the address says
        ({"cccd": CCCD_MALE_1985}, "cccd"),  # a man's number for a woman
        ({"citizen_birth_year": 1991}, "cccd"),  # digits 5-6 say 1990
        ({"office_id": -1}, "office_id"),
        ({"lat": 21.0, "lon": 105.8}, "lat"),  # Hà Nội, for an address in Huế
        ({"lat": 16.45}, "lat"),
        ({"weight_g": 5000}, "weight_g"),
        ({"window_start": FIRST_WINDOW + timedelta(minutes=30)}, "pickup_window"),
        ({"window_start": FIRST_WINDOW + timedelta(days=6)}, "pickup_window"),  # a Sunday
        (
            {
                "service_option": "receive",
                "receive_reference": "12/TNHS",
                "pay_fee_on_behalf": True,
            },
            "pay_fee_on_behalf",
        ),
    ],
)
def test_one_bad_field_is_named(
    db: Session, settings: Settings, overrides: dict[str, object], field: str
) -> None:
    area = make_area(db)
    with pytest.raises(BookingInvalid) as caught:
        plan_booking(db, settings, booking_input(area, **overrides), now=NOW)
    assert list(caught.value.messages) == [field]
    vi, en = field_texts(caught.value.messages)[field]
    assert vi and en and vi != en


def test_office_elsewhere_in_the_province_is_allowed_other_province_is_not(
    db: Session, settings: Settings
) -> None:
    area = make_area(db)
    elsewhere = make_area(db, "19789")  # Phường Thuận Hóa, Huế
    plan = plan_booking(db, settings, booking_input(area, office_id=elsewhere.office.id), now=NOW)
    assert plan.office.id == elsewhere.office.id and plan.zone == "same_province"
    far = make_area(db, "00070")  # Hoàn Kiếm, Hà Nội
    with pytest.raises(BookingInvalid) as caught:
        plan_booking(db, settings, booking_input(area, office_id=far.office.id), now=NOW)
    assert list(caught.value.messages) == ["office_id"]


def test_suggested_office_is_the_address_commune_and_gps_pin_is_kept(
    db: Session, settings: Settings
) -> None:
    area = make_area(db)
    make_area(db, "19789")
    plan = plan_booking(
        db, settings,
        booking_input(area, office_id=None, lat=16.44, lon=107.58, gps_accuracy_m=12.0), now=NOW,
    )  # fmt: skip
    assert plan.office.id == area.office.id
    assert (plan.lat, plan.lon, plan.position_source, plan.position_accuracy_m) == (
        16.44, 107.58, "gps", 12.0)  # fmt: skip


def test_old_three_level_address_is_converted(db: Session, settings: Settings) -> None:
    area = make_area(db, "19789")
    plan = plan_booking(
        db, settings,
        booking_input(area, address_text="5 Lê Lợi, Phường Vĩnh Ninh, TP Huế, Thừa Thiên Huế"),
        now=NOW,
    )  # fmt: skip
    assert plan.address.parsed.was_legacy and plan.commune.code == "19789"
    assert plan.address.parsed.display.endswith("Phường Thuận Hóa, Thành phố Huế")


def test_capacity_closes_a_full_window_and_cancelling_reopens_it(
    db: Session, settings: Settings
) -> None:
    area = make_area(db, couriers=1)
    small = settings.model_copy(update={"booking_stops_per_window": 2})
    citizen = make_user(db, "citizen")

    # At the citizen's commune: a window must also fit a courier's day (issue 17), so a
    # place nobody can reach would be offered nothing whatever the head count says.
    lat, lon = area.commune.lat, area.commune.lon

    def windows() -> list[str]:
        got = offerable_windows(db, post_office_id=area.post_office.id, lat=lat, lon=lon,
                                day=NOW.date(), now=NOW, settings=small)  # fmt: skip
        return [f"{s:%H:%M}" for s, _ in got]

    assert windows() == ["08:00", "10:00", "13:30", "15:30"]
    first = create_booking(db, small, citizen, booking_input(area), now=NOW)
    create_booking(db, small, citizen, booking_input(area), now=NOW)
    assert windows() == ["10:00", "13:30", "15:30"]
    with pytest.raises(BookingInvalid) as caught:
        create_booking(db, small, citizen, booking_input(area), now=NOW)
    assert list(caught.value.messages) == ["pickup_window"]
    cancel_booking(db, citizen, first.case.id, now=NOW)
    assert windows()[0] == "08:00"
    # Less than an hour ahead is not offered; no couriers, nothing offered.
    assert "08:00" not in [
        f"{s:%H:%M}"
        for s, _ in offerable_windows(
            db,
            post_office_id=area.post_office.id,
            lat=lat,
            lon=lon,
            day=NOW.date(),
            now=NOW + timedelta(minutes=30),
            settings=small,
        )  # fmt: skip
    ]
    empty = make_area(db, "19789", couriers=0)
    assert offerable_windows(db, post_office_id=empty.post_office.id, lat=0, lon=0,
                             day=NOW.date(), now=NOW, settings=small) == []  # fmt: skip


def test_cancel_is_a_ledger_event_and_only_before_pickup(db: Session, settings: Settings) -> None:
    area = make_area(db)
    citizen = make_user(db, "citizen")
    created = create_booking(db, settings, citizen, booking_input(area), now=NOW)
    view = cancel_booking(db, citizen, created.case.id, now=NOW)
    assert view.cancelled and view.dossier_status == "cancelled"
    event = db.scalars(select(CustodyEvent).where(CustodyEvent.kind == "cancelled").order_by(
        CustodyEvent.id.desc())).first()  # fmt: skip
    assert event is not None and event.actor_user_id == citizen.id
    with pytest.raises(Conflict):
        cancel_booking(db, citizen, created.case.id, now=NOW)

    picked = create_booking(db, settings, citizen, booking_input(area), now=NOW)
    courier = actor_for(area.couriers[0])
    assert picked.item_code
    record_one(db, courier, scan("picked_up", picked.item_code, details=PICKUP_DETAILS))
    with pytest.raises(Conflict):
        cancel_booking(db, citizen, picked.case.id, now=NOW)
    with pytest.raises(Conflict):
        reschedule_booking(db, settings, citizen, picked.case.id, next_window(FIRST_WINDOW),
                           now=NOW)  # fmt: skip


def test_receive_only_booking_cancels_without_an_item(db: Session, settings: Settings) -> None:
    area = make_area(db)
    citizen = make_user(db, "citizen")
    created = create_booking(db, settings, citizen, booking_input(area, service_option="receive",
                                                  receive_reference=unique("") + "/TN"),
                             now=NOW)  # fmt: skip
    assert created.item_code is None
    view = cancel_booking(db, citizen, created.case.id, now=NOW)
    assert view.cancelled and view.terms is not None and view.terms.cancelled_at == NOW


def test_reschedule_moves_the_window_within_capacity(db: Session, settings: Settings) -> None:
    area = make_area(db)
    citizen = make_user(db, "citizen")
    created = create_booking(db, settings, citizen, booking_input(area), now=NOW)
    later = next_window(FIRST_WINDOW, 2)
    view = reschedule_booking(db, settings, citizen, created.case.id, later, now=NOW)
    assert view.context.booking.pickup_window_start == later
    assert view.terms is not None and view.terms.reschedule_count == 1
    with pytest.raises(InvalidInput) as caught:
        reschedule_booking(db, settings, citizen, created.case.id,
                           later + timedelta(minutes=5), now=NOW)  # fmt: skip
    assert caught.value.field == "pickup_window"


def test_another_citizen_cannot_see_or_change_the_case(db: Session, settings: Settings) -> None:
    area = make_area(db)
    owner, other = make_user(db, "citizen"), make_user(db, "citizen")
    created = create_booking(db, settings, owner, booking_input(area), now=NOW)
    for attempt in (
        lambda: citizen_case(db, other, created.case.id),
        lambda: cancel_booking(db, other, created.case.id, now=NOW),
        lambda: reschedule_booking(db, settings, other, created.case.id,
                                   next_window(FIRST_WINDOW), now=NOW),
        lambda: rate_case(db, other, created.case.id, 5, None, now=NOW),
    ):  # fmt: skip
        with pytest.raises(NotFound):
            attempt()
    state = db.get(ItemState, created.case.dossier_item_id)
    assert state is not None and state.status == "booked"


def _deliver(db: Session, settings: Settings, area_office_id: int, case: Case) -> None:
    desk = actor_for(make_user(db, "desk_officer", office_id=area_office_id))
    courier = actor_for(make_user(db, "courier"))
    result = register_result(db, settings, desk, case, now=NOW)
    record_one(db, courier, scan("handover_offered", result.code, to_party=courier.party))
    record_one(db, desk, scan("handover_confirmed", result.code))
    record_one(db, courier, scan("out_for_delivery", result.code))
    record_one(db, courier, scan("delivered", result.code,
                                 evidence={"proof": "otp", "otp_verified": True}))  # fmt: skip


def test_rating_only_after_delivery_and_once(db: Session, settings: Settings) -> None:
    area = make_area(db)
    citizen = make_user(db, "citizen")
    created = create_booking(db, settings, citizen, booking_input(area, service_option="receive",
                                                  receive_reference=unique("") + "/TN"),
                             now=NOW)  # fmt: skip
    with pytest.raises(Conflict, match="delivered"):
        rate_case(db, citizen, created.case.id, 5, "Nhanh", now=NOW)
    _deliver(db, settings, area.office.id, created.case)
    for stars in (0, 6):
        with pytest.raises(InvalidInput) as caught:
            rate_case(db, citizen, created.case.id, stars, None, now=NOW)
        assert caught.value.field == "stars"
    rating = rate_case(db, citizen, created.case.id, 5, "  Bưu tá rất nhiệt tình ", now=NOW)
    assert (rating.stars, rating.comment) == (5, "Bưu tá rất nhiệt tình")
    with pytest.raises(Conflict, match="already"):
        rate_case(db, citizen, created.case.id, 4, None, now=NOW)
    assert db.get(CaseRating, created.case.id) is not None


def test_sign_in_creates_the_citizen_once_and_counts_wrong_codes(
    db: Session, settings: Settings
) -> None:
    phone = "0987000111"
    issue_code(db, settings, phone=phone, purpose="sign_in", now=NOW)
    code = sent_code(db, phone)
    wrong = sign_in_with_code(db, settings, phone=phone, code=f"{(int(code) + 1) % 10**6:06d}",
                              now=NOW)  # fmt: skip
    assert not wrong.check.ok and wrong.user is None and "4 tries left" in wrong.check.reason
    right = sign_in_with_code(db, settings, phone=phone, code=code, now=NOW)
    assert right.user is not None and right.user.role == "citizen" and right.user.phone == phone
    issue_code(db, settings, phone=phone, purpose="sign_in", now=NOW + timedelta(minutes=2))
    code2 = sent_code(db, phone)
    again = sign_in_with_code(db, settings, phone=phone, code=code2,
                              now=NOW + timedelta(minutes=2))  # fmt: skip
    assert again.user is not None and again.user.id == right.user.id
    assert db.scalar(select(func.count()).where(User.phone == phone)) == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0912345678", "0912345678"),
        ("0912 345 678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("091.234.5678", "0912345678"),
        ("0212345678", None),  # landline prefix
        ("091234567", None),
        ("", None),
    ],
)
def test_phone_numbers(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


def test_an_address_longer_than_any_real_one_is_refused_before_it_is_parsed(
    db: Session,
) -> None:
    """The parser's time grows faster than its text (reliability report D3): every edge that
    parses an address, JSON or the booking page's form, goes through this check."""
    with pytest.raises(InvalidInput) as refused:
        check_address(db, "Kinh Bắc Bắc Ninh " * (MAX_ADDRESS_CHARS // 10))
    assert refused.value.field == "address"
    assert str(MAX_ADDRESS_CHARS) in refused.value.detail
