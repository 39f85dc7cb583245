"""Money in a real browser: the courier's door-step amount check, the end-of-day cash-up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.identity.service import actor_for
from core.money import account_balance, accounts, payment_state, record_payment
from core.money.models import CashUp, MoneyException, Receipt
from core.settings import Settings
from tests.browser.conftest import PHONE
from tests.browser.courier_door import pickup_at_nine, sign_in_on_the_phone
from tests.browser.test_courier_app import _sign
from tests.core.money.helpers import TOTAL_BOTH, priced_case
from tests.factories import home_post_office, make_user, unique
from vntime import VN

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def test_the_courier_app_asks_why_when_the_cash_differs_from_what_is_due(
    live_server: str, browser: Any, committing: sessionmaker[Session], live_settings: Settings,
    screenshot: Any,
) -> None:  # fmt: skip
    with committing.begin() as session:
        door = pickup_at_nine(session, lambda s: priced_case(s, live_settings))
    stop_id, code, case_id, courier_id = door.stop_id, door.code, door.case_id, door.courier_id
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        sign_in_on_the_phone(page, live_server, door.username)
        page.goto(f"{live_server}/courier/#/stop/{stop_id}")
        page.wait_for_selector("#collect")
        assert page.locator("#collect").get_attribute("data-due") == str(TOTAL_BOTH)
        assert "260.000" in page.locator("#collect").inner_text()
        assert "Thu tiền mặt" in page.locator("#collect").inner_text()
        screenshot(page, "courier_stop_to_collect")
        page.goto(f"{live_server}/courier/#/pickup/{stop_id}")
        page.wait_for_selector("#pickup-form")
        assert page.locator("#fees").input_value() == str(TOTAL_BOTH)  # what is due, filled in
        assert page.locator("#cash-reason-box").is_hidden()
        boxes = page.locator(".checklist input[type=checkbox]")
        for index in range(boxes.count()):
            boxes.nth(index).check()
        page.fill("#seal", "NP-2026-0099")
        _sign(page, "#citizen-signature")
        _sign(page, "#courier-signature")
        page.fill("#fees", "200000")  # the citizen has only 200,000 in cash
        assert page.locator("#cash-reason-box").is_visible()
        page.click("#pickup-form button[type=submit]")
        assert "khác số cần thu" in page.locator(".form-error").inner_text()
        page.select_option("#cash-reason", "citizen_short_of_cash")
        screenshot(page, "courier_pickup_cash_differs")
        page.click("#pickup-form button[type=submit]")
        page.wait_for_selector(f"#event-list li[data-code='{code}']:not([data-state='pending'])")
        answer = page.locator(f"#event-list li[data-code='{code}']")
        assert answer.get_attribute("data-state") == "accepted", answer.inner_text()
    finally:
        context.close()
    with committing() as session:
        [receipt] = session.scalars(select(Receipt).where(Receipt.case_id == case_id)).all()
        assert (receipt.total_vnd, receipt.method) == (200_000, "cash")
        state = payment_state(session, case_id)
        assert (state.state, state.due_vnd) == ("part_paid", TOTAL_BOTH - 200_000)
        [exception] = session.scalars(
            select(MoneyException).where(MoneyException.case_id == case_id)
        ).all()
        assert (exception.reason_code, exception.expected_vnd, exception.actual_vnd) == (
            "citizen_short_of_cash", TOTAL_BOTH, 200_000,
        )  # fmt: skip
        assert exception.courier_user_id == courier_id


def test_a_dispatcher_cashes_up_a_courier_short_by_ten_thousand(
    live_server: str, browser: Any, committing: sessionmaker[Session], live_settings: Settings,
    screenshot: Any,
) -> None:  # fmt: skip
    username = unique("dieuphoi")
    with committing.begin() as session:
        post = home_post_office(session)
        dispatcher = make_user(session, "dispatcher", username=username, password=PASSWORD,
                               post_office_id=post.id)  # fmt: skip
        courier = make_user(session, "courier", post_office_id=post.id,
                            full_name=unique("Bưu tá Kiểm Quỹ "))  # fmt: skip
        for _ in range(2):
            case = priced_case(session, live_settings)
            record_payment(session, case_id=case.id, method="cash", amount_vnd=TOTAL_BOTH,
                           at=datetime.now(VN), actor_user_id=courier.id, payer="Trần Thị Hoa",
                           reference="", idempotency_key=f"browser-cash-{case.id}")  # fmt: skip
        courier_id = courier.id
        assert actor_for(dispatcher).post_office_id == post.id
    expected = 2 * TOTAL_BOTH
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")  # fmt: skip
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login?next=/money/cash-up")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_selector("#cash-up")
        row = page.locator(f"#courier-{courier_id}")
        assert "520.000" in row.locator(".expected").inner_text()
        page.fill(f"#counted-{courier_id}", str(expected - 10_000))
        page.click(f"#cash-form-{courier_id} button[type=submit]")
        page.wait_for_selector("#cash-error")
        assert "ghi lý do chênh lệch" in page.locator("#cash-error").inner_text()
        page.fill(f"#counted-{courier_id}", str(expected - 10_000))
        page.fill(f"#reason-{courier_id}", "Thiếu 10.000 đồng, bưu tá trả lại tiền thừa nhầm")
        page.click(f"#cash-form-{courier_id} button[type=submit]")
        page.wait_for_selector("#cash-done")
        row = page.locator(f"#courier-{courier_id}")
        assert "-10.000" in row.locator(".difference").inner_text()
        assert page.locator(f"#cash-form-{courier_id}").count() == 0  # no second cash-up
        assert "Nguyễn Văn dispatcher" in row.locator(".confirmed").inner_text()
        screenshot(page, "cash_up_done")
    finally:
        context.close()
    with committing() as session:
        [cash_up] = session.scalars(
            select(CashUp).where(CashUp.courier_user_id == courier_id)
        ).all()
        assert (cash_up.expected_vnd, cash_up.counted_vnd, cash_up.difference_vnd) == (
            expected, expected - 10_000, -10_000,
        )  # fmt: skip
        assert cash_up.reason and cash_up.confirmed_by_user_id != courier_id
        assert account_balance(session, accounts.courier_cash(courier_id)) == 0
