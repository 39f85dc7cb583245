"""A citizen's journey in a phone browser: sign in, book, pay by VietQR, track, rate."""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.cases.service import register_result
from core.custody.parties import party
from core.custody.service import record_one
from core.identity.service import actor_for
from core.settings import Settings
from tests.core.booking.helpers import Area, make_area
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of, make_case, make_user, sent_code
from vntime import VN

pytestmark = pytest.mark.browser

# Phường Ninh Kiều, Cần Thơ: no other test commits data in this province.
NINH_KIEU = "31135"
_phones = itertools.count(1)


def _phone() -> str:
    return f"0966{next(_phones):03d}{datetime.now(VN):%M%S}"[:10]


def _area(committing: sessionmaker[Session]) -> Area:
    with committing.begin() as session:
        area = make_area(session, NINH_KIEU, couriers=2)
        session.expunge_all()
    return area


def _sign_in(
    page: Any, base: str, committing: sessionmaker[Session], phone: str, next_path: str
) -> None:
    page.goto(f"{base}{next_path}")
    page.wait_for_url(re.compile(r".*/citizen/sign-in\?next=.*"))
    page.fill("#phone", phone)
    page.click("button[type=submit]")
    page.wait_for_selector("#code")
    with committing() as session:
        code = sent_code(session, phone)
    page.fill("#code", code)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")


def test_complete_booking_on_a_phone(
    live_server: str, phone: Any, committing: sessionmaker[Session], screenshot: Any
) -> None:
    area = _area(committing)
    number = _phone()
    _sign_in(phone, live_server, committing, number, "/book")
    assert phone.locator("h1").inner_text() == "Đặt lịch nhận hồ sơ tại nhà"

    # Search the catalogue, no diacritics needed. The agency's own word too: tests that commit
    # leave many procedures of this name behind, and the page lists the first 50.
    phone.fill("#q", f"ly lich tu phap {area.procedure.agency.split()[-1]}")
    phone.click("form.search button")
    phone.check("input[name=service_option][value=both]")
    phone.select_option("#procedure_id", str(area.procedure.id))
    phone.fill("#address", "23 Hai Bà Trưng, P. Ninh Kiều, TP Cần Thơ")
    screenshot(phone, "booking_1_address")
    phone.click("#book-form button[type=submit]")

    assert "Phường Ninh Kiều, Thành phố Cần Thơ" in phone.locator("#address-confirmed").inner_text()
    assert "bản chính" in phone.locator("ul.docs").inner_text()
    # Errors appear beside their fields, and nothing is booked.
    phone.fill("#contact_name", "Lê Thị Thu")
    phone.fill("#cccd", "092085012345")  # a man's number (digit 4 = 0) ...
    phone.check("input[name=citizen_sex][value=female]")  # ... for a woman
    phone.fill("#citizen_birth_year", "1985")
    phone.click("#book-form button[type=submit]")
    assert phone.locator("#err-cccd").is_visible()
    assert "giới tính" in phone.locator("#err-cccd").inner_text()
    screenshot(phone, "booking_2_field_error")

    phone.fill("#cccd", "092185012345")
    phone.check("input[name=payment_method][value=vietqr]")
    phone.check("input[name=pay_fee_on_behalf]")
    phone.click("#book-form button[type=submit]")
    total = phone.locator("#quote-total").inner_text()
    assert total == "260.000 ₫"  # 2 × 26.000 same commune + 200.000 fee + 8.000 transfer
    screenshot(phone, "booking_3_quote")

    phone.click("#confirm")
    phone.wait_for_selector("#booked-ok")
    item = phone.locator("#item-id").inner_text()
    assert re.fullmatch(r"DH \d{3} \d{3} \d{3} VN", item)
    # The barcode, tracking QR and VietQR images really load: wait until each has finished
    # (a loaded machine serves the images after the page), then it must have a size.
    for selector in ("img.barcode", "img.qr >> nth=0", "#vietqr"):
        image = phone.locator(selector)
        image.evaluate(
            "img => img.complete ? null : new Promise(done => {"
            " img.addEventListener('load', done); img.addEventListener('error', done); })"
        )
        width = image.evaluate("img => img.naturalWidth")
        assert width > 0, selector
    # A booking gets a quote, not a receipt: nothing has been paid yet.
    assert phone.locator("#quote-link").get_attribute("href", timeout=1000)
    assert phone.locator("#payment-state").get_attribute("data-state") == "quoted"
    assert phone.locator("#receipts").count() == 0
    screenshot(phone, "booking_4_confirmation")

    with phone.expect_download() as download:
        phone.click("#quote-link")
    path = download.value.path()
    assert path is not None and open(path, "rb").read(5) == b"%PDF-"

    phone.click("#track-link")
    assert phone.locator("#status").inner_text() == "Đã đặt lịch lấy hồ sơ"
    assert number not in phone.locator("main").inner_text()
    assert phone.locator(".who").inner_text() == "Lê Thị Thu"  # named by the booking
    screenshot(phone, "booking_5_tracking")


def test_tracking_page_shows_both_legs_in_plain_vietnamese_and_english(
    live_server: str,
    phone: Any,
    committing: sessionmaker[Session],
    live_settings: Settings,
    screenshot: Any,
) -> None:
    area = _area(committing)
    with committing.begin() as session:
        case = make_case(session, live_settings, post_office=area.post_office, office=area.office,
                         commune_code=NINH_KIEU, contact_phone="0912345678",
                         address_text="23 Hai Bà Trưng, Phường Ninh Kiều, Thành phố Cần Thơ",
                         lat=10.03, lon=105.78)  # fmt: skip
        courier = actor_for(area.couriers[0])
        desk = actor_for(make_user(session, "desk_officer", office_id=area.office.id))
        dossier = dossier_of(session, case).code
        record_one(session, courier, scan("picked_up", dossier, details=PICKUP_DETAILS))
        record_one(session, courier, scan("handover_offered", dossier,
                                          to_party=party("office", area.office.id)))  # fmt: skip
        record_one(session, desk, scan("handover_confirmed", dossier))
        result = register_result(session, live_settings, desk, case, now=datetime.now(VN)).code

    phone.goto(f"{live_server}/t/{result}")
    assert phone.locator("#status").inner_text() == "Kết quả đã có tại bộ phận một cửa"
    legs = phone.locator("#legs").inner_text()
    assert "Đã bàn giao cho bộ phận một cửa" in legs
    timeline = phone.locator("#timeline").inner_text()
    assert "Đăng ký kết quả" in timeline
    assert phone.locator("#masked-phone").inner_text() == "09******78"
    screenshot(phone, "tracking_both_legs_vi")
    phone.click("a.lang")
    assert phone.locator("#status").inner_text() == "Result ready at the office"
    screenshot(phone, "tracking_both_legs_en")
    phone.goto(f"{live_server}/t/{dossier}?lang=vi")
    steps = phone.locator("#timeline li").all_inner_texts()
    assert [s.split(" — ")[1].split(" (")[0] for s in steps] == [
        "Xác nhận bàn giao", "Đề nghị bàn giao", "Nhận hồ sơ tại nhà", "Đặt lịch lấy hồ sơ",
    ]  # fmt: skip


def test_rating_after_delivery(
    live_server: str,
    phone: Any,
    committing: sessionmaker[Session],
    live_settings: Settings,
    screenshot: Any,
) -> None:
    area = _area(committing)
    number = _phone()
    with committing.begin() as session:
        citizen = make_user(session, "citizen", phone=number, full_name="Phạm Văn Quang")
        case = make_case(session, live_settings, post_office=area.post_office, office=area.office,
                         commune_code=NINH_KIEU, contact_phone=number, service_option="receive",
                         citizen_user_id=citizen.id, lat=10.03, lon=105.78)  # fmt: skip
        courier = actor_for(area.couriers[0])
        desk = actor_for(make_user(session, "desk_officer", office_id=area.office.id))
        result = register_result(session, live_settings, desk, case, now=datetime.now(VN)).code
        record_one(session, courier, scan("handover_offered", result, to_party=courier.party))
        record_one(session, desk, scan("handover_confirmed", result))
        record_one(session, courier, scan("out_for_delivery", result))
        proof = {"proof": "otp", "otp_verified": True}
        record_one(session, courier, scan("delivered", result, evidence=proof))
        case_id = case.id

    _sign_in(phone, live_server, committing, number, f"/my/cases/{case_id}")
    # Sending without stars names the field.
    phone.click("#rate button[type=submit]")
    assert phone.locator("#err-stars").is_visible()
    phone.check("input[name=stars][value='5']")
    phone.fill("#comment", "Bưu tá đến đúng giờ, rất nhiệt tình.")
    screenshot(phone, "rating_form")
    phone.click("#rate button[type=submit]")
    phone.wait_for_selector("#rating-done")
    assert phone.locator("#rating-done .stars").inner_text() == "★★★★★"
    assert "rất nhiệt tình" in phone.locator("#rating-done").inner_text()
    assert phone.locator("#rate").count() == 0  # one rating per case
    screenshot(phone, "rating_done")
