"""A dispatcher corrects the ledger in a real browser: the exceptions page lists a scan the
ledger kept, the item's history declares a wrong damage note with the right reason (its
corrective event), and the exception is resolved."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.custody.models import CustodyEvent, CustodyException, Item
from core.custody.service import record, record_one
from core.db import transaction
from core.identity.service import actor_for
from core.settings import Settings
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of, make_case, make_post_office, make_user

pytestmark = pytest.mark.browser
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "vi-VN",
           "timezone_id": "Asia/Ho_Chi_Minh"}  # fmt: skip


@pytest.fixture
def desktop(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    yield page
    context.close()


def test_a_dispatcher_resolves_an_exception_and_corrects_an_event(
    live_server: str, desktop: Any, committing: sessionmaker[Session], settings: Settings,
    screenshot: Any,
) -> None:  # fmt: skip
    with transaction(committing) as session:
        post_office = make_post_office(session)
        dispatcher = make_user(session, "dispatcher", post_office_id=post_office.id)
        courier = make_user(session, "courier", post_office_id=post_office.id)
        code = dossier_of(session, make_case(session, settings, post_office=post_office)).code
        record_one(session, actor_for(courier), scan("picked_up", code, details=PICKUP_DETAILS))
        (kept,) = record(session, actor_for(courier), [scan("departed", code)])
        assert kept.outcome == "exception"
        record_one(session, actor_for(courier), scan("damage_noted", code,
                                                     details={"reason_code": "torn"}))  # fmt: skip
        username = dispatcher.username
    page = desktop
    page.goto(f"{live_server}/login?next=/")
    page.fill("#username", username)
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.get_by_role("link", name="Ngoại lệ quét và đính chính").click()
    page.wait_for_url(f"{live_server}/ledger/exceptions")
    row = page.locator("#exceptions tr", has_text=code)
    assert "departed" in row.inner_text()
    screenshot(page, "ledger_exceptions")
    row.locator("input[name=resolution]").fill("Bưu tá quét nhầm, đã gọi xác nhận")
    row.get_by_role("button", name="Đã xử lý").click()
    page.locator("#done").wait_for()
    assert page.locator("#exceptions tr", has_text=code).count() == 0
    page.fill("#item-code", code)
    page.get_by_role("button", name="Mở").click()
    page.wait_for_url(f"{live_server}/ledger/items/{code}")
    damage = page.locator("#event-3")
    assert "Ghi nhận hư hỏng" in damage.inner_text() and "torn" in damage.inner_text()
    damage.locator("select[name=reason]").select_option("incorrect_data")
    damage.locator("input[name=corrective_reason_code]").fill("wet")
    damage.locator("input[name=note]").fill("Ướt, không rách")
    damage.get_by_role("button", name="Khai báo sai").click()
    page.locator("#corrected").wait_for()
    assert "Đã khai báo là sai" in page.locator("#event-3").inner_text()
    assert "Sự kiện đính chính" in page.locator("#event-5").inner_text()
    assert "wet" in page.locator("#event-5").inner_text()
    screenshot(page, "ledger_item_corrected")
    with transaction(committing) as session:
        item = session.scalars(select(Item).where(Item.code == code)).one()
        kinds = list(session.scalars(select(CustodyEvent.kind).where(
            CustodyEvent.item_id == item.id).order_by(CustodyEvent.seq)))  # fmt: skip
        assert kinds == ["booked", "picked_up", "damage_noted", "error_declared", "damage_noted"]
        resolved = session.scalars(select(CustodyException).where(
            CustodyException.item_id == item.id)).one()  # fmt: skip
        assert resolved.resolution == "Bưu tá quét nhầm, đã gọi xác nhận"
