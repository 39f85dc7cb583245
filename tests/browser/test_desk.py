"""The desk in a real browser: a courier's hand-over of 5 items, received by typed scanner
input, one missing and one extra; then dossier codes in bulk and a result registered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.custody.models import Item, ItemState
from core.custody.parties import party
from core.db import transaction
from core.handovers.service import open_handover
from core.identity.service import actor_for
from tests.factories import make_case, make_office, make_user, unique
from tests.journey import pick_up
from vntime import VN

# A dossier code carries the day the agency received the dossier: today, in Vietnam.
DAY = f"{datetime.now(VN):%y%m%d}"

pytestmark = pytest.mark.browser

DESK_SCREEN = {"viewport": {"width": 1280, "height": 900}, "locale": "vi-VN",
               "timezone_id": "Asia/Ho_Chi_Minh"}  # fmt: skip


@pytest.fixture
def desk_page(browser: Any) -> Iterator[Any]:
    """A desktop browser at the counter (the USB scanner types into it)."""
    context = browser.new_context(**DESK_SCREEN)
    page = context.new_page()
    yield page
    context.close()


def _custodians(factory: sessionmaker[Session], codes: list[str]) -> dict[str, str]:
    with transaction(factory) as session:
        rows = session.execute(
            select(Item.code, ItemState.custodian)
            .join(ItemState, ItemState.item_id == Item.id)
            .where(Item.code.in_(codes))
        )
        return {row[0]: row[1] for row in rows}


def _sign(page: Any, selector: str) -> None:
    canvas = page.locator(selector)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = box["x"], box["y"]
    page.mouse.move(x + 20, y + 100)
    page.mouse.down()
    for dx, dy in ((60, 30), (110, 95), (170, 35), (230, 100), (300, 40)):
        page.mouse.move(x + dx, y + dy, steps=4)
    page.mouse.up()


def test_desk_receives_five_with_one_missing_and_one_extra_by_typed_scans(
    live_server: str,
    desk_page: Any,
    committing: sessionmaker[Session],
    settings: Any,
    screenshot: Any,
) -> None:
    username = unique("motcua")
    with transaction(committing) as session:
        office = make_office(session)
        make_user(session, "desk_officer", office_id=office.id, username=username,
                  full_name="Nguyễn Thị Một Cửa", password="correct horse battery")  # fmt: skip
        courier = make_user(session, "courier", full_name="Trần Văn Bưu Tá")
        listed = [pick_up(session, make_case(session, settings, office=office), courier)
                  for _ in range(5)]  # fmt: skip
        stray = pick_up(session, make_case(session, settings, office=office), courier)
        opened = open_handover(session, actor_for(courier), giver=party("courier", courier.id),
                               receiver=party("office", office.id), item_codes=listed,
                               now=datetime.now(UTC),
                               item_fees=dict.fromkeys(listed, 226_000))  # fmt: skip
        handover_id, handover_code = opened.handover.id, opened.handover.code
        office_party, courier_party = party("office", office.id), party("courier", courier.id)
    page = desk_page

    page.goto(f"{live_server}/login?next=/desk")
    page.fill("#username", username)
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/desk")
    assert handover_code in page.locator("#open-handovers").inner_text()
    assert "Trần Văn Bưu Tá" in page.locator("#incoming").inner_text()
    screenshot(page, "desk_dashboard")

    page.click(f"a[href='/desk/handovers/{handover_id}']")
    page.wait_for_url(f"{live_server}/desk/handovers/{handover_id}")
    screenshot(page, "desk_handover_open")
    matched, missing = listed[:4], listed[4]
    for code in [*matched, stray]:
        # A USB scanner is a keyboard: the characters, then Enter.
        page.locator("#scan-code").press_sequentially(code, delay=5)
        page.keyboard.press("Enter")
        expected = "confirmed" if code in matched else "extra"
        try:
            page.locator(f"tr[data-code='{code}'][data-outcome='{expected}']").wait_for()
        except Exception:  # say what the desk saw, not only that it timed out
            pytest.fail(
                f"{code} not {expected}; the page said: {page.locator('#flash').inner_text()}"
            )
        assert page.evaluate("document.activeElement.id") == "scan-code"  # ready for the next
    assert "THỪA" in page.locator("#flash").inner_text()
    assert page.locator("[data-count=confirmed]").inner_text() == "4"
    assert page.locator("[data-count=expected]").inner_text() == "1"
    screenshot(page, "desk_handover_scanned")

    # Each dossier's fee as declared, but the missing dossier's fee never reached the desk.
    assert page.locator(f"#fee-{listed[0]}").input_value() == "226000"
    page.fill(f"#fee-{missing}", "0")
    _sign(page, "[data-signature=courier_signature] canvas")
    _sign(page, "[data-signature=desk_signature] canvas")
    screenshot(page, "desk_handover_signing")
    page.click("#complete")
    page.wait_for_url(f"**/desk/handovers/{handover_id}?outcome=completed")
    if page.locator("#record").count() == 0:
        pytest.fail(f"no record on the completed page: {page.locator('body').inner_text()[:2000]}")
    record = page.locator("#discrepancies").inner_text()
    assert f"{missing[:2]} {missing[2:5]}" in record and "Thiếu" in record
    assert f"{stray[:2]} {stray[2:5]}" in record and "Thừa" in record
    assert (
        page.locator(f"#discrepancies li[data-outcome=missing][data-code='{missing}']").count() == 1
    )
    assert page.locator(f"#discrepancies li[data-outcome=extra][data-code='{stray}']").count() == 1
    assert page.locator("#discrepancies li").count() == 2
    # The difference is on the record, per dossier and in total.
    assert "-226.000" in page.locator("#fees-mismatch").inner_text()
    assert "-226.000" in page.locator(f"#fee-lines tr[data-code='{missing}']").inner_text()
    assert page.locator("#record [data-signed]").count() == 2
    screenshot(page, "desk_handover_record")

    held = _custodians(committing, [*listed, stray])
    assert {code: held[code] for code in matched} == dict.fromkeys(matched, office_party)
    assert held[missing] == courier_party and held[stray] == courier_party

    record_pdf = page.request.get(f"{live_server}/print/handovers/{handover_id}.pdf")
    assert record_pdf.status == 200 and record_pdf.headers["content-type"] == "application/pdf"

    # Dossier codes in bulk: scan the item, Enter moves to the code, Enter saves.
    page.goto(f"{live_server}/desk/codes")
    for n, code in enumerate(matched[:2], start=1):
        page.locator("#code-item").press_sequentially(code, delay=5)
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "code-code"
        page.locator("#code-code").press_sequentially(f"000.00.24.H05-{DAY}-{n:04d}", delay=5)
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/desk/codes?done=000.00.24.H05-{DAY}-{n:04d}")
    assert page.locator("#recorded tbody tr").count() == 2
    screenshot(page, "desk_codes")

    page.goto(f"{live_server}/desk/results")
    page.locator("#result-code").press_sequentially(f"000.00.24.H05-{DAY}-0001", delay=5)
    page.keyboard.press("Enter")
    page.wait_for_url("**/desk/results?registered=*")
    assert page.locator("#print-label").count() == 1
    screenshot(page, "desk_results")
