"""Receive only (QĐ 45/2016 option 2) in real browsers: a citizen who filed in person books
the return of their result on a phone by its dossier code, sees it waiting; the desk sees the
booking waiting, registers the result from its list, and the case's return leg starts."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.cases.models import Case
from core.custody.models import Item, ItemState
from core.custody.parties import party
from tests.browser.test_booking import NINH_KIEU, _phone, _sign_in
from tests.core.booking.helpers import make_area
from tests.factories import make_user, unique
from vntime import VN

pytestmark = pytest.mark.browser

DESK_SCREEN = {"viewport": {"width": 1280, "height": 900}, "locale": "vi-VN",
               "timezone_id": "Asia/Ho_Chi_Minh"}  # fmt: skip


def test_receive_only_booked_on_a_phone_waits_then_the_desk_registers_it(
    live_server: str,
    phone: Any,
    browser: Any,
    committing: sessionmaker[Session],
    screenshot: Any,
) -> None:
    username = unique("motcua")
    with committing.begin() as session:
        area = make_area(session, NINH_KIEU, couriers=1)
        make_user(session, "desk_officer", office_id=area.office.id, username=username,
                  full_name="Phạm Thị Một Cửa", password="correct horse battery")  # fmt: skip
        procedure_id, office_id = area.procedure.id, area.office.id
        # The agency's own word: committed tests leave many procedures of this name behind,
        # and the page lists the first 50.
        own_word = area.procedure.agency.split()[-1]
    # Cần Thơ's agency identifier; today's date, a sequence of this run.
    code = f"000.00.92.H14-{datetime.now(VN):%y%m%d}-{datetime.now(VN):%M%S}"

    _sign_in(phone, live_server, committing, _phone(), "/book")
    phone.fill("#q", f"ly lich tu phap {own_word}")
    phone.click("form.search button")
    phone.check("input[name=service_option][value=receive]")
    phone.select_option("#procedure_id", str(procedure_id))
    phone.fill("#address", "23 Hai Bà Trưng, P. Ninh Kiều, TP Cần Thơ")
    phone.fill("#receive_reference", "DH000000725VN")  # the post's item ID, not the code
    phone.click("#book-form button[type=submit]")
    assert "không phải mã hồ sơ" in phone.locator("#err-receive_reference").inner_text()
    screenshot(phone, "receive_only_1_wrong_code")

    phone.fill("#receive_reference", code)
    phone.click("#book-form button[type=submit]")
    phone.select_option("#office_id", str(office_id))
    phone.fill("#contact_name", "Lê Thị Thu")
    phone.fill("#contact_phone", "0912345678")
    phone.fill("#cccd", "092185012345")
    phone.check("input[name=citizen_sex][value=female]")
    phone.fill("#citizen_birth_year", "1985")
    phone.click("#book-form button[type=submit]")
    assert phone.locator("#review-reference").inner_text() == code
    assert "khi bộ phận một cửa có kết quả" in phone.locator("#review-window").inner_text()
    screenshot(phone, "receive_only_2_review")
    phone.click("#confirm")
    phone.wait_for_selector("#booked-ok")
    assert code in phone.locator("#awaiting-result").inner_text()
    screenshot(phone, "receive_only_3_waiting")
    case_id = int(re.search(r"/my/cases/(\d+)", phone.url).group(1))  # type: ignore[union-attr]

    context = browser.new_context(**DESK_SCREEN)
    desk = context.new_page()
    try:
        desk.goto(f"{live_server}/login")
        desk.fill("#username", username)
        desk.fill("#password", "correct horse battery")
        desk.click("button[type=submit]")
        desk.wait_for_url(f"{live_server}/desk")
        desk.goto(f"{live_server}/desk/results")
        waiting = desk.locator("#receive-waiting")
        assert code in waiting.inner_text()
        screenshot(desk, "receive_only_4_desk_waiting")
        desk.goto(f"{live_server}/desk/cases/{case_id}")
        assert code in desk.locator("#receive-request").inner_text()
        screenshot(desk, "receive_only_5_desk_case")
        desk.click("#register-result")
        desk.wait_for_selector("#registered")
        result = desk.locator("#registered .code").inner_text().replace(" ", "")
        screenshot(desk, "receive_only_6_result_registered")
    finally:
        context.close()

    with committing() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.agency_dossier_code == code
        state = session.scalar(
            select(ItemState).join(Item, Item.id == ItemState.item_id).where(Item.code == result)
        )
        assert state is not None and state.status == "result_registered"
        assert state.custodian == party("office", office_id)
    phone.reload()
    assert phone.locator("#awaiting-result").count() == 0
    assert phone.locator("#item-id").inner_text().replace(" ", "") == result
