"""The issue's test day (issue 14, "Done means") driven through the pages in a real browser.

Thirty bookings at one post office. The routine of the day goes through the services
(``core.bankdesk.day.money_day``: twelve of the fourteen cash doors, the cancellation); a
person does the rest in Chromium, in the order the day happens:
- a courier, in the courier app, collects cash at two doors: exactly what is due at one, and
  50,000 ₫ short at the other, with the reason picked from the list;
- the two desks each receive their courier's seven dossiers by scanner, the state fee of each
  dossier as the courier declared it, and sign the hand-over record;
- a dispatcher imports the bank's statement (a duplicate transfer, one nobody can claim, the
  transfer of a booking cancelled meanwhile), refunds the cancelled booking's transfer from
  the queue (a note and one click), cashes up the two couriers (one 10,000 ₫ short, with a
  reason), and reads the day's reconciliation: balanced to the đồng, exactly four exceptions
  open.
The day is yesterday's in Vietnam, for the services, the server and the phone alike
(``day_clock``), so the test runs at any hour. The service-level twin is
tests/core/money/test_money_day.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.bankdesk.day import (
    CASH_UP_SHORT,
    DAY_SIZE,
    SHORT_BY,
    UNKNOWN_LINE_VND,
    dossier_code,
    money_day,
    open_handovers,
)
from core.cases.models import Case
from core.custody.models import CustodyEvent, Item
from core.identity.models import User
from core.money import payment_state
from core.money.reconcile import reconcile
from core.settings import Settings
from tests.browser.conftest import PHONE, server_clock
from tests.browser.test_courier_app import _sign as sign_on_phone
from tests.browser.test_desk import DESK_SCREEN
from tests.browser.test_desk import _sign as sign_at_desk
from tests.core.money.helpers import FEE, TOTAL_BOTH, priced_case
from tests.core.money.test_money_day import EXEMPTION
from tests.factories import make_office, make_post_office, make_user, todays_stop, unique
from vntime import VN

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


@contextmanager
def signed_in(
    browser: Any, live_server: str, username: str, path: str, **screen: Any
) -> Iterator[Any]:
    """A fresh browser context signed in as ``username`` on the staff pages, at ``path``."""
    context = browser.new_context(**(screen or DESK_SCREEN), accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login?next={path}")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(f"**{path}")
        yield page
    finally:
        context.close()


def _collect_at_door(page: Any, live_server: str, stop_id: int, code: str, short: bool) -> None:
    """The courier app's pickup form: every paper ticked, sealed, both signatures, the cash
    (what is due, as the form fills it in; or less, with the reason)."""
    page.goto(f"{live_server}/courier/#/pickup/{stop_id}")
    page.wait_for_selector("#pickup-form")
    due = int(page.locator("#fees").input_value())
    boxes = page.locator(".checklist input[type=checkbox]")
    for index in range(boxes.count()):
        boxes.nth(index).check()
    page.fill("#seal", f"NP-{stop_id}")
    sign_on_phone(page, "#citizen-signature")
    sign_on_phone(page, "#courier-signature")
    if short:
        page.fill("#fees", str(due - SHORT_BY))
        page.select_option("#cash-reason", "citizen_short_of_cash")
    page.click("#pickup-form button[type=submit]")
    page.wait_for_selector(f"#event-list li[data-code='{code}']:not([data-state='pending'])")
    answer = page.locator(f"#event-list li[data-code='{code}']")
    assert answer.get_attribute("data-state") == "accepted", answer.inner_text()


def _receive_at_desk(page: Any, handover_id: int, fees: dict[str, int], screenshot: Any) -> None:
    """The desk scans each dossier of the hand-over, keeps each fee as declared, both sign."""
    page.click(f"a[href='/desk/handovers/{handover_id}']")
    page.wait_for_url(f"**/desk/handovers/{handover_id}")
    for code in fees:
        page.locator("#scan-code").press_sequentially(code, delay=5)
        page.keyboard.press("Enter")
        page.locator(f"tr[data-code='{code}'][data-outcome='confirmed']").wait_for()
    for code, fee in fees.items():
        assert page.locator(f"#fee-{code}").input_value() == str(fee)
    sign_at_desk(page, "[data-signature=courier_signature] canvas")
    sign_at_desk(page, "[data-signature=desk_signature] canvas")
    page.click("#complete")
    page.wait_for_url(f"**/desk/handovers/{handover_id}?outcome=completed")
    lines = page.locator("#fee-lines tbody tr")
    assert lines.count() == len(fees)
    assert "200.000" in lines.first.inner_text()
    assert (
        f"{sum(fees.values()):,}".replace(",", ".") in page.locator("#fee-lines tfoot").inner_text()
    )
    assert page.locator("#fees-mismatch").count() == 0
    screenshot(page, f"money_day_handover_{handover_id}")


@pytest.fixture
def day_clock(live_app: FastAPI) -> Iterator[tuple[datetime, Callable[[], datetime]]]:
    """The test day, yesterday in Vietnam (its 08:00), and the clock the pages act on: the
    server's, on that date from 16:00, running. The scripted part of the day
    (``money_day``: doors from 08:00, the bank at noon, the cancellation at 13:00) then lies
    before everything the pages do, at whatever hour the test runs; on today's date, before
    the day was over, the cash-up page counted only the part already past and refused the
    count."""
    start = datetime.combine(datetime.now(VN).date() - timedelta(days=1), time(8), VN)
    with server_clock(live_app, start.replace(hour=16)) as now:
        yield start, now


def test_the_money_day_through_the_pages_balances_with_exactly_the_expected_exceptions(
    live_server: str, browser: Any, committing: sessionmaker[Session], live_settings: Settings,
    screenshot: Any, tmp_path: Path, day_clock: tuple[datetime, Callable[[], datetime]],
) -> None:  # fmt: skip
    start, now = day_clock
    names = {role: unique(role) for role in ("buuta", "motcua1", "motcua2", "dieuphoi")}
    with committing.begin() as session:
        po = make_post_office(session)
        offices = [make_office(session), make_office(session)]
        couriers = [
            make_user(session, "courier", post_office_id=po.id, username=names["buuta"],
                      password=PASSWORD),
            make_user(session, "courier", post_office_id=po.id),
        ]  # fmt: skip
        desks = [
            make_user(session, "desk_officer", office_id=office.id, username=names[key],
                      password=PASSWORD)
            for office, key in zip(offices, ("motcua1", "motcua2"), strict=True)
        ]  # fmt: skip
        dispatcher = make_user(session, "dispatcher", post_office_id=po.id,
                               username=names["dieuphoi"], password=PASSWORD)  # fmt: skip
        cases = [
            priced_case(
                session, live_settings, method="cash" if i < 14 else "vietqr", post_office=po,
                office=offices[0] if i < 7 else offices[1],
                exemption=dict(EXEMPTION, lines=list(EXEMPTION["lines"])) if i == 1 else None,
            ).id
            for i in range(DAY_SIZE)
        ]  # fmt: skip
        # The first courier's short-paid door and one paid in full are left to the app.
        by_app = {cases[0]: True, cases[2]: False}  # case: short of cash
        stops = {}
        for sequence, case_id in enumerate(by_app, start=1):
            session.get_one(Case, case_id).pickup_courier_id = couriers[0].id
            stop = todays_stop(session, couriers[0], kind="home_pickup", sequence=sequence,
                               start=start, case_id=case_id)  # fmt: skip
            stops[case_id] = (stop.id, dossier_code(session, case_id))
        day = money_day(session, cases=cases, couriers=couriers, desks=desks,
                        supervisor=dispatcher, start=start, bank_by_hand=True,
                        doors_by_hand=set(by_app))  # fmt: skip
        po_id, cancelled = po.id, day.cancelled_case
        courier_ids, desk_ids = [c.id for c in couriers], [d.id for d in desks]
    statement = tmp_path / f"saoke-{start:%Y%m%d}.csv"
    statement.write_bytes(day.statement_csv)

    # The doors: the courier app, on a phone whose clock (it stamps the scans) says what the
    # server's says.
    context = browser.new_context(**PHONE)
    context.clock.install(time=now())
    phone = context.new_page()
    try:  # the courier app signs in on its own page (its token stays on the phone)
        phone.goto(f"{live_server}/courier/")
        phone.fill("#username", names["buuta"])
        phone.fill("#password", PASSWORD)
        phone.click("#login-form button[type=submit]")
        phone.wait_for_selector("[data-stop]")
        for case_id, short in by_app.items():
            stop_id, code = stops[case_id]
            _collect_at_door(phone, live_server, stop_id, code, short)
        screenshot(phone, "money_day_courier_doors")
    finally:
        context.close()
    with committing() as session:
        # The phone stamped its two pickups on the test day, and the server took them so.
        stamped = session.scalars(
            select(CustodyEvent.occurred_at)
            .join(Item, Item.id == CustodyEvent.item_id)
            .where(Item.code.in_([code for _, code in stops.values()]),
                   CustodyEvent.kind == "picked_up")
        ).all()  # fmt: skip
        assert [at.astimezone(VN).date() for at in stamped] == [start.date()] * 2, stamped
        short_state = payment_state(session, cases[0])
        assert (short_state.state, short_state.due_vnd) == ("part_paid", SHORT_BY)
        assert payment_state(session, cases[2]).state == "paid"

    # The hand-overs: each courier offers seven dossiers and their fees; each desk receives.
    with committing.begin() as session:
        couriers = [session.get_one(User, i) for i in courier_ids]
        desks = [session.get_one(User, i) for i in desk_ids]
        opened = open_handovers(session, day, couriers, desks, at=now())
    for (handover_id, fees), desk in zip(opened, ("motcua1", "motcua2"), strict=True):
        assert set(fees.values()) == {FEE}
        with signed_in(browser, live_server, names[desk], "/desk") as page:
            _receive_at_desk(page, handover_id, fees, screenshot)

    with signed_in(browser, live_server, names["dieuphoi"], "/money/bank") as page:
        # The bank: the statement, then the cancelled booking's transfer refunded from the queue.
        page.set_input_files("#file", str(statement))
        page.click("#statement-upload button[type=submit]")
        page.wait_for_selector("#done")
        assert "Đã nhập 14 dòng mới" in page.locator("#done").inner_text()
        assert page.locator("#bank-lines .outcome-duplicate").count() == 1
        assert page.locator("#bank-lines .outcome-unmatched").count() == 1
        assert (
            f"{UNKNOWN_LINE_VND:,}".replace(",", ".")
            in page.locator("#bank-lines .outcome-unmatched").inner_text()
        )
        cancelled_row = page.locator("#bank-lines .outcome-cancelled_paid")
        refund = cancelled_row.locator("form.refund")
        refund.locator("input[name=note]").fill("Lịch hẹn đã huỷ, hoàn lại tiền chuyển khoản")
        refund.locator("button[type=submit]").click()
        page.wait_for_url("**done=line_refunded**")
        assert "hoàn tiền" in page.locator("#done").inner_text()
        assert page.locator("#bank-lines tbody tr").count() == 2
        screenshot(page, "money_day_bank_queue")

        # The cash-ups: the first courier's cash is all there; the second's 10,000 ₫ short.
        page.goto(f"{live_server}/money/cash-up")
        page.wait_for_selector("#cash-up")
        for index, courier_id in enumerate(courier_ids):
            # The count starts at what the ledger expects from the courier.
            expected = int(page.locator(f"#counted-{courier_id}").input_value())
            assert expected > 0
            short = index == 1
            page.fill(f"#counted-{courier_id}", str(expected - (CASH_UP_SHORT if short else 0)))
            if short:
                page.fill(f"#reason-{courier_id}", "Thiếu 10.000 ₫ khi đếm tiền")
            page.click(f"#cash-form-{courier_id} button[type=submit]")
            page.wait_for_selector("#cash-done")
            difference = page.locator(f"#courier-{courier_id} .difference").inner_text()
            assert ("-10.000" in difference) == short, difference
        screenshot(page, "money_day_cash_up")

        # The day's reconciliation: balanced, and exactly the four exceptions expected.
        page.goto(f"{live_server}/money/reconciliation?date={start:%d/%m/%Y}"
                  f"&post_office_id={po_id}")  # fmt: skip
        page.wait_for_selector("#verdict")
        assert "Cân đối đến từng đồng" in page.locator("#verdict").inner_text()
        assert page.locator("#checks tr.error").count() == 0
        assert page.locator("#exceptions tr").count() == 4
        screenshot(page, "money_day_reconciliation")

    with committing() as session:
        report = reconcile(session, day=start.date(), post_office_id=po_id)
        assert report.balanced, [(c.name, c.expected_vnd, c.actual_vnd) for c in report.failures()]
        assert sorted((e.kind, e.amount_vnd) for e in report.exceptions) == sorted([
            ("bank_duplicate", TOTAL_BOTH),
            ("bank_unmatched", UNKNOWN_LINE_VND),
            ("doorstep_cash_difference", SHORT_BY),
            ("cash_up_difference", -CASH_UP_SHORT),
        ])  # fmt: skip
        assert report.handed_to_agency_vnd == 14 * FEE
        assert payment_state(session, cancelled).state == "cancelled"
