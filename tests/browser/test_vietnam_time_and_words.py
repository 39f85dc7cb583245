"""What a person reads, in a real browser: Vietnam's time on a phone set to another zone,
Vietnamese server refusals in the courier's queue and on the tracking page, and the small
page fixes (the delivery form shows only the chosen proof, the hand-over names the receiving
office, cancelling a booking asks first)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.custody.models import Item
from core.dispatch.models import RouteStop
from core.identity.service import issue_token
from core.settings import Settings
from labels.s10 import format_item_id, make_item_id
from tests.browser.conftest import PHONE
from tests.factories import home_post_office, make_case, make_office, make_user, unique
from vntime import VN

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
# A phone left on New York time (UTC-5 in December): 10:00 in Vietnam is 22:00 there the day
# before, so a time formatted in the phone's zone cannot pass for Vietnam's.
NEW_YORK_PHONE = {**PHONE, "timezone_id": "America/New_York", "locale": "en-US"}


def _sign_in_courier(page: Any, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/courier/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("nav.tabs")


def test_the_courier_app_shows_vietnam_time_on_a_new_york_phone_and_the_fixed_forms(
    live_server: str,
    browser: Any,
    committing: sessionmaker[Session],
    live_settings: Settings,
    screenshot: Any,
) -> None:
    username = unique("buuta")
    today = datetime.now(VN).date()
    start = datetime.combine(today, time(10, 0), VN)
    with committing.begin() as session:
        post = home_post_office(session)
        courier = make_user(
            session, "courier", username=username, password=PASSWORD, post_office_id=post.id
        )
        office = make_office(session, name_vi="TTPVHCC phường Kinh Bắc")
        case = make_case(session, live_settings, office=office)
        home = RouteStop(
            post_office_id=post.id,
            service_date=today,
            kind="home_delivery",
            courier_id=courier.id,
            sequence=1,
            case_id=case.id,
            lat=21.18,
            lon=106.06,
            window_start=start,
            window_end=start + timedelta(hours=2),
            eta=start + timedelta(minutes=25),
        )
        drop = RouteStop(
            post_office_id=post.id,
            service_date=today,
            kind="office_drop",
            courier_id=courier.id,
            sequence=2,
            office_id=office.id,
            lat=21.19,
            lon=106.07,
            window_start=start + timedelta(hours=3),
            window_end=start + timedelta(hours=4),
        )
        session.add_all([home, drop])
        session.flush()
        home_id, drop_id, office_id = home.id, drop.id, office.id
    context = browser.new_context(**NEW_YORK_PHONE)
    page = context.new_page()
    try:
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == (
            "America/New_York"
        )
        _sign_in_courier(page, live_server, username)
        page.wait_for_selector(f"[data-stop='{home_id}']")
        sheet = page.locator("#app").inner_text()
        assert "10:00–12:00" in sheet and "10:25" in sheet, sheet
        assert "22:00" not in sheet and "23:00" not in sheet
        screenshot(page, "vn_time_courier_runsheet_new_york_phone")

        # The delivery form shows only the chosen proof's inputs.
        page.goto(f"{live_server}/courier/#/deliver/{home_id}")
        page.wait_for_selector("#deliver-form")
        assert page.locator("#otp").is_visible()
        assert not page.locator("#recipient").is_visible()
        assert not page.locator("#scan-cccd").is_visible()
        screenshot(page, "fix_courier_deliver_otp_only")
        page.check("input[name=proof][value=authorisation]")
        assert page.locator("#recipient").is_visible() and not page.locator("#otp").is_visible()
        page.check("input[name=proof][value=cccd_qr]")
        assert (
            page.locator("#scan-cccd").is_visible() and not page.locator("#recipient").is_visible()
        )
        screenshot(page, "fix_courier_deliver_cccd_only")

        # The hand-over names the receiving office, not "office:12".
        page.goto(f"{live_server}/courier/#/handover?stop={drop_id}")
        page.wait_for_selector("#open-handover")
        chosen = page.locator("#counterparty option:checked")
        assert chosen.inner_text() == "TTPVHCC phường Kinh Bắc"
        assert chosen.get_attribute("value") == f"office:{office_id}"
        assert "office:" not in page.locator("#app").inner_text()
        screenshot(page, "fix_courier_handover_names_office")

        # A server refusal reads in Vietnamese in the queue, with the time it was queued.
        unknown = make_item_id("DR", 99_999_990)
        page.goto(f"{live_server}/courier/#/scan")
        page.wait_for_selector("#scan-form")
        page.select_option("#scan-kind", "out_for_delivery")
        page.fill("#code", format_item_id(unknown))
        page.press("#code", "Enter")
        row = page.locator(f"#event-list li[data-code='{unknown}']")
        page.wait_for_selector(f"#event-list li[data-code='{unknown}'][data-state='rejected']")
        assert f"Không tìm thấy bưu gửi {unknown}." in row.inner_text()
        assert "no item" not in row.inner_text()
        queued = row.locator("time").inner_text()
        now_vn = datetime.now(VN)
        assert queued.endswith(now_vn.strftime("%d/%m/%Y")) or queued.endswith(
            (now_vn - timedelta(minutes=5)).strftime("%d/%m/%Y")
        )
        screenshot(page, "words_courier_queue_refusal_vi")
    finally:
        context.close()


def test_tracking_errors_read_in_vietnamese_then_english(
    live_server: str, phone: Any, screenshot: Any
) -> None:
    page = phone
    page.goto(f"{live_server}/t/DH000001112VN")
    detail = page.locator("#error-detail").inner_text()
    assert detail == "Sai số kiểm tra trong mã DH000001112VN: quét hoặc nhập lại."
    screenshot(page, "words_tracking_error_vi")
    page.goto(f"{live_server}/t/DH000001112VN?lang=en")
    assert "Wrong check digit" in page.locator("#error-detail").inner_text()
    page.goto(f"{live_server}/t/DH000001112VN?lang=vi")
    unknown = make_item_id("DH", 99_999_991)
    page.goto(f"{live_server}/t/{unknown}")
    assert page.locator("#error-detail").inner_text() == f"Không tìm thấy bưu gửi {unknown}."


def test_cancelling_a_booking_asks_first(
    live_server: str,
    browser: Any,
    committing: sessionmaker[Session],
    live_settings: Settings,
    screenshot: Any,
) -> None:
    with committing.begin() as session:
        citizen = make_user(session, "citizen")
        start = datetime.now(VN).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        case = make_case(
            session,
            live_settings,
            citizen_user_id=citizen.id,
            pickup_window_start=start.replace(hour=8),
            pickup_window_end=start.replace(hour=10),
        )
        token = issue_token(session, live_settings, citizen, now=datetime.now(UTC)).token
        case_id = case.id
    context = browser.new_context(**PHONE)
    context.add_cookies([{"name": "hoso_session", "value": token, "url": live_server}])
    page = context.new_page()
    try:
        page.goto(f"{live_server}/my/cases/{case_id}")
        assert not page.locator("#cancel-confirm").is_visible()
        page.click("#cancel")  # the first tap only asks
        assert page.locator("#cancel-question").is_visible()
        assert page.locator("#cancelled-note").count() == 0  # nothing sent yet
        screenshot(page, "fix_citizen_cancel_asks")
        page.click("#cancel-confirm")
        page.wait_for_selector("#cancelled-note")
        screenshot(page, "fix_citizen_cancelled")
    finally:
        context.close()


def test_the_desk_reads_a_refusal_in_vietnamese(
    live_server: str,
    browser: Any,
    committing: sessionmaker[Session],
    live_settings: Settings,
    screenshot: Any,
) -> None:
    with committing.begin() as session:
        owner = make_office(session, name_vi="TTPVHCC phường Kinh Bắc")
        code = make_case(session, live_settings, office=owner).dossier_item_id
        item = session.get(Item, code)
        assert item is not None
        code_text = item.code
        stranger = make_user(session, "desk_officer")
        token = issue_token(session, live_settings, stranger, now=datetime.now(UTC)).token
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    context.add_cookies([{"name": "hoso_session", "value": token, "url": live_server}])
    page = context.new_page()
    try:
        page.goto(f"{live_server}/desk")
        page.fill("#find-code", format_item_id(code_text))
        page.press("#find-code", "Enter")
        page.wait_for_selector("p.error")
        shown = page.locator("p.error").inner_text()
        assert "Hồ sơ này thuộc TTPVHCC phường Kinh Bắc" in shown, shown
        assert "another office" not in page.content()
        screenshot(page, "words_desk_other_office_vi")
    finally:
        context.close()
