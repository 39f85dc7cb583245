"""The courier's day in a real browser: arrive and pick up offline, the stop done at once and
confirmed on sync, "1/3 xong"; a re-plan named on the sheet; and the citizen of the next stop
reading the courier's first name and ETA on the public tracking page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.courier.models import StopArrival
from core.courier.pings import Fix, record_pings
from core.custody.models import CustodyEvent, Item
from core.dispatch.models import RouteStop
from core.settings import Settings
from tests.browser.conftest import PHONE
from tests.core.money.helpers import TOTAL_BOTH, priced_case
from tests.factories import (
    home_post_office,
    make_case,
    make_procedure,
    make_user,
    todays_stop,
    unique,
)
from vntime import VN

PASSWORD = "correct horse battery"


def _sign(page: Any, selector: str) -> None:
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 30)
    page.mouse.down()
    for step in range(1, 8):
        page.mouse.move(box["x"] + 20 + step * 30, box["y"] + 30 + (step % 2) * 40)
    page.mouse.up()


def _card(page: Any, stop_id: int) -> Any:
    return page.locator(f"a.card[data-stop='{stop_id}']")


def test_the_courier_finishes_a_stop_offline_and_the_next_citizen_sees_the_eta(
    live_server: str, browser: Any, committing: sessionmaker[Session], live_settings: Settings,
    screenshot: Any,
) -> None:  # fmt: skip
    username = unique("buuta")
    now = datetime.now(VN)
    with committing.begin() as session:
        courier = make_user(session, "courier", username=username, password=PASSWORD,
                            full_name="Phan Văn Phúc",
                            post_office_id=home_post_office(session).id)  # fmt: skip
        # The third citizen pays cash at the door: 260.000 ₫ to collect there.
        # One procedure for both: every factory procedure has the same name, and the booking
        # page's search lists 50 (tests/browser/test_booking.py searches it in this database).
        procedure = make_procedure(session)
        cases = [make_case(session, live_settings, procedure_id=procedure.id) for _ in range(2)]
        cases.append(priced_case(session, live_settings))
        stops = [
            todays_stop(
                session,
                courier,
                kind="home_pickup",
                sequence=n + 1,
                start=now,
                case_id=case.id,
                eta=now + timedelta(minutes=30 * (n + 1)),
                lat=21.185 + 0.004 * n,
                lon=106.07,
            )  # fmt: skip
            for n, case in enumerate(cases)
        ]
        # The courier's phone sent a fix a few hundred metres from the second door.
        record_pings(session, courier.id, None,
                     [Fix(fixed_at=now, lat=21.1855, lon=106.0655, accuracy_m=8)],
                     now=now)  # fmt: skip
        first, second, third = (s.id for s in stops)
        codes = [session.get(Item, c.dossier_item_id).code for c in cases]  # type: ignore[union-attr]

    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/courier/")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#progress")
        assert page.locator("#progress").inner_text().startswith("0/3 xong")
        page.evaluate("navigator.serviceWorker.ready")
        page.wait_for_function("navigator.serviceWorker.controller !== null")

        # No signal at the first door: arrive, pick up; both wait in the phone's queue.
        context.set_offline(True)
        page.goto(f"{live_server}/courier/#/stop/{first}")
        page.click("#arrived")
        page.wait_for_selector("#arrived-at")
        assert page.locator("#arrived-at").inner_text().startswith("Đã đến lúc")
        page.goto(f"{live_server}/courier/#/pickup/{first}")
        page.wait_for_selector("#pickup-form")
        boxes = page.locator(".checklist input[type=checkbox]")
        for index in range(boxes.count()):
            boxes.nth(index).check()
        page.fill("#seal", "NP-2026-0077")
        _sign(page, "#citizen-signature")
        _sign(page, "#courier-signature")
        page.click("#pickup-form button[type=submit]")
        page.wait_for_selector(f"#event-list li[data-code='{codes[0]}'][data-state='pending']")

        page.goto(f"{live_server}/courier/#/home")
        page.wait_for_selector("#progress")
        done = _card(page, first)
        assert done.get_attribute("data-status") == "done"
        assert done.get_attribute("data-confirmed") == "0"  # done here, not yet on the server
        assert "chờ gửi" in done.inner_text()
        assert page.locator("#progress").inner_text().startswith("1/3 xong · 2 còn lại")
        assert _card(page, second).get_attribute("data-status") == "planned"
        due = _card(page, third).locator(".collect-short")
        assert due.get_attribute("data-due") == str(TOTAL_BOTH)
        assert due.inner_text().startswith("Thu 260.000")
        screenshot(page, "courier_day_done_offline")

        # Signal again: the queue is sent, the server's sheet confirms the stop.
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        page.wait_for_function(
            "document.querySelector('#pending-count')?.dataset.count === '0'", timeout=20_000
        )
        page.goto(f"{live_server}/courier/#/home")
        page.wait_for_selector(f"a.card[data-stop='{first}'][data-confirmed='1']")
        assert _card(page, first).get_attribute("data-status") == "done"
        assert "✓ Đã xong" in _card(page, first).inner_text()
        assert page.locator("#progress").inner_text().startswith("1/3 xong")
        screenshot(page, "courier_day_synced")

        # The citizen at the second door: the courier's first name, on the way, an ETA.
        citizen = browser.new_context(**PHONE)
        track = citizen.new_page()
        track.goto(f"{live_server}/t/{codes[1]}")
        assert "Phúc" in track.locator("#courier-name").inner_text()
        assert "Phan Văn" not in track.content()
        assert "đang trên đường đến" in track.locator("#live-eta").inner_text()
        assert track.locator("#planned-eta").count() == 1
        assert "21.1855" not in track.content() and "106.0655" not in track.content()
        screenshot(track, "tracking_courier_eta")
        citizen.close()

        # The dispatcher swaps the last two stops: the sheet names what moved.
        with committing.begin() as session:
            for stop_id, sequence in ((second, 3), (third, 2)):
                row = session.get(RouteStop, stop_id)
                assert row is not None
                row.sequence = sequence
        page.reload()
        page.wait_for_selector("#plan-changes")
        changes = page.locator("#plan-changes").inner_text()
        assert "Lộ trình vừa thay đổi" in changes and "Đổi thứ tự" in changes
        assert page.locator("#plan-changes li[data-change='plan_moved']").count() == 2
        assert "(#2 → #3)" in changes and "(#3 → #2)" in changes
        # The stop finished since is progress, not a change of plan.
        assert page.locator("#plan-changes li").count() == 2
        order = [int(s) for s in page.locator("a.card").evaluate_all(
            "cards => cards.map(c => c.dataset.stop)")]  # fmt: skip
        assert order == [first, third, second]
        screenshot(page, "courier_day_plan_changed")
        page.click("#plan-changes-ok")  # said once: gone until the plan changes again
        page.wait_for_selector("#plan-changes", state="detached")
        page.reload()
        page.wait_for_selector("#progress")
        assert page.locator("#plan-changes").count() == 0
    finally:
        context.close()

    with committing() as session:
        arrival = session.get(StopArrival, first)
        assert arrival is not None and arrival.courier_id == courier.id
        assert arrival.arrived_at <= arrival.recorded_at
        pickups = session.scalars(
            select(CustodyEvent).where(CustodyEvent.kind == "picked_up")
            .join(Item, Item.id == CustodyEvent.item_id).where(Item.code == codes[0])
        ).all()  # fmt: skip
        assert len(pickups) == 1
