"""The issue's test day in a real browser: the bank's part through the pages.

The day's doors, hand-overs and cash-ups are played through the services (their own pages
are driven in tests/browser/test_money.py, test_courier_app.py and test_desk.py); then a
dispatcher, in Chromium, imports the bank's statement (a duplicate transfer, an unknown one,
the transfer of a booking cancelled meanwhile), refunds the cancelled booking's transfer from
the queue, and reads the day's reconciliation: balanced to the đồng, four exceptions open.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.bankdesk.day import DAY_SIZE, money_day
from core.money import payment_state
from core.settings import Settings
from tests.core.money.helpers import priced_case
from tests.core.money.test_money_day import EXEMPTION
from tests.factories import make_office, make_post_office, make_user, unique
from vntime import VN

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def test_a_dispatcher_imports_the_statement_refunds_and_reconciles_the_day(
    live_server: str, browser: Any, committing: sessionmaker[Session], live_settings: Settings,
    screenshot: Any, tmp_path: Path,
) -> None:  # fmt: skip
    start = datetime.now(VN).replace(hour=8, minute=0, second=0, microsecond=0)
    username = unique("dieuphoi")
    with committing.begin() as session:
        po = make_post_office(session)
        offices = [make_office(session), make_office(session)]
        couriers = [make_user(session, "courier", post_office_id=po.id) for _ in range(2)]
        desks = [make_user(session, "desk_officer", office_id=o.id) for o in offices]
        dispatcher = make_user(session, "dispatcher", post_office_id=po.id, username=username,
                               password=PASSWORD)  # fmt: skip
        cases = [
            priced_case(
                session, live_settings, method="cash" if i < 14 else "vietqr", post_office=po,
                office=offices[0] if i < 7 else offices[1],
                exemption=dict(EXEMPTION, lines=list(EXEMPTION["lines"])) if i == 1 else None,
            ).id
            for i in range(DAY_SIZE)
        ]  # fmt: skip
        day = money_day(session, cases=cases, couriers=couriers, desks=desks,
                        supervisor=dispatcher, start=start, bank_by_hand=True)  # fmt: skip
        po_id, cancelled = po.id, day.cancelled_case
    statement = tmp_path / f"saoke-{start:%Y%m%d}.csv"
    statement.write_bytes(day.statement_csv)

    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh", accept_downloads=True,
    )  # fmt: skip
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login?next=/money/bank")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_selector("#statement-upload")
        page.set_input_files("#file", str(statement))
        page.click("#statement-upload button[type=submit]")
        page.wait_for_selector("#done")
        assert "Đã nhập 14 dòng mới" in page.locator("#done").inner_text()
        # The same page in English says the same in English (the text comes from the
        # catalogue in the page's language, not from the redirect).
        page.click("a.lang")
        page.wait_for_selector("#done")
        assert "Imported 14 new lines" in page.locator("#done").inner_text()
        assert "Duplicate (case already paid): 1" in page.locator("#done").inner_text()
        page.click("a.lang")
        page.wait_for_selector("#done")
        rows = page.locator("#bank-lines tbody tr")
        assert rows.count() == 3  # the duplicate, the unknown, the cancelled booking's
        assert page.locator("#bank-lines .outcome-duplicate").count() == 1
        assert page.locator("#bank-lines .outcome-unmatched").count() == 1
        screenshot(page, "bank_queue_after_import")

        # The same file again: nothing changes.
        page.set_input_files("#file", str(statement))
        page.click("#statement-upload button[type=submit]")
        page.wait_for_selector("#done")
        assert "đã được nhập trước đó" in page.locator("#done").inner_text()
        assert page.locator("#bank-lines tbody tr").count() == 3

        cancelled_row = page.locator("#bank-lines .outcome-cancelled_paid")
        refund = cancelled_row.locator("form.refund")
        refund.locator("input[name=note]").fill("Lịch hẹn đã huỷ, hoàn lại tiền chuyển khoản")
        refund.locator("button[type=submit]").click()
        page.wait_for_selector("#done")
        assert "hoàn tiền" in page.locator("#done").inner_text()
        assert page.locator("#bank-lines tbody tr").count() == 2

        page.goto(f"{live_server}/money/reconciliation?date={start:%d/%m/%Y}"
                  f"&post_office_id={po_id}")  # fmt: skip
        page.wait_for_selector("#verdict")
        assert "Cân đối đến từng đồng" in page.locator("#verdict").inner_text()
        assert page.locator("#exceptions tr").count() == 4
        assert page.locator("#checks tr.error").count() == 0
        screenshot(page, "bank_reconciliation_day")
        with page.expect_download() as download:
            page.click("text=Excel")
        saved = tmp_path / "doi-soat.xlsx"
        download.value.save_as(saved)
        assert saved.read_bytes()[:4] == b"PK\x03\x04"
    finally:
        context.close()
    with committing() as session:
        assert payment_state(session, cancelled).state == "cancelled"
