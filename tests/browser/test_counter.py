"""The post office's counter in a real browser: a walk-in dossier received (checklist, seal,
both signatures on the screen's pads, cash), its label printed, bagged to another post office
(refused at a third, arriving at the right one); the
queue's ticket taken on a phone and called; a result collected at the counter on the chip ID
card QR as a 2D scanner types it (the characters, then Enter)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.cases.service import register_result
from core.counter.queue import queue_times
from core.counter.reception import book_walk_in, receive_at_counter
from core.custody.commands import ScanCommand
from core.custody.models import CustodyEvent, CustodyException, Item, ItemState
from core.custody.parties import Actor, party
from core.custody.service import record_one
from core.db import transaction
from core.identity.service import actor_for
from core.money.state import payment_state
from core.settings import Settings
from tests.browser.conftest import PHONE
from tests.core.booking.helpers import CCCD_FEMALE_1990, booking_input, make_area
from tests.core.counter.test_counter import CARD, _intake
from tests.factories import make_post_office, make_user, unique
from vntime import VN

# A ward of its own: these tests commit their post offices, and a booking goes to the first
# post office of its ward, so they keep out of Thủy Xuân where the rolled-back tests book.
MY_THUONG = "19930"
ADDRESS = "25 Tố Hữu, Phường Mỹ Thượng, Huế"

pytestmark = pytest.mark.browser

DESK_SCREEN = {"viewport": {"width": 1280, "height": 1000}, "locale": "vi-VN",
               "timezone_id": "Asia/Ho_Chi_Minh"}  # fmt: skip
PASSWORD = "correct horse battery"


@pytest.fixture
def counter_page(browser: Any) -> Iterator[Any]:
    """The clerk's desktop (the USB and 2D scanners type into it)."""
    context = browser.new_context(**DESK_SCREEN)
    page = context.new_page()
    yield page
    context.close()


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


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/counter")


def _state(factory: sessionmaker[Session], code: str) -> ItemState:
    with transaction(factory) as session:
        state = session.scalar(
            select(ItemState).join(Item, Item.id == ItemState.item_id).where(Item.code == code)
        )
        assert state is not None
        session.expunge(state)
        return state


def test_a_walk_in_dossier_is_received_labelled_and_bagged_to_another_post_office(
    live_server: str,
    counter_page: Any,
    browser: Any,
    committing: sessionmaker[Session],
    screenshot: Any,
) -> None:
    username = unique("quay")
    with transaction(committing) as session:
        area = make_area(session, MY_THUONG)
        make_user(session, "counter_clerk", post_office_id=area.post_office.id,
                  username=username, full_name="Lê Thị Giao Dịch", password=PASSWORD)  # fmt: skip
        procedure_id, office_id = area.procedure.id, area.office.id
        post_office_id = area.post_office.id
        here = area.post_office
        clerks = []
        for name in ("Bưu cục Phú Hội", "Bưu cục An Cựu"):
            other = make_post_office(session, code=unique("PO-T"), name=name,
                                     province_code=here.province_code,
                                     commune_code=here.commune_code, address=name,
                                     lat=here.lat, lon=here.lon)  # fmt: skip
            clerk_name = unique("quay")
            make_user(session, "counter_clerk", post_office_id=other.id, username=clerk_name,
                      password=PASSWORD)  # fmt: skip
            clerks.append((other.id, clerk_name))
        (second_id, second_clerk), (_, third_clerk) = clerks
    page = counter_page
    _sign_in(page, live_server, username)

    page.click("#new-walk-in")
    page.wait_for_url(f"{live_server}/counter/walk-in")
    page.select_option("#procedure_id", str(procedure_id))
    page.select_option("#office_id", str(office_id))
    page.fill("#contact_name", "Trần Thị Hoa")
    page.fill("#contact_phone", "0912 345 678")
    page.fill("#cccd", CCCD_FEMALE_1990)
    page.select_option("#citizen_sex", "female")
    page.fill("#citizen_birth_year", "1990")
    page.fill("#address", ADDRESS)
    page.check("#result_at_post_office")
    screenshot(page, "counter_walk_in")
    page.click("#book-walk-in")
    page.wait_for_url(f"{live_server}/counter/cases/*")
    code = page.locator("#dossier-code").inner_text().replace(" ", "")
    due = page.locator("#fees_collected_vnd").input_value()
    assert int(due) > 0 and "Đã đặt lịch" in page.locator("#dossier-status").inner_text()
    # The slot where digitising (the pages captured) attaches, before the dossier is sealed.
    assert page.locator("#intake #digitise").count() == 1

    # Signed and sealed, but a document not ticked: refused, naming it, nothing moved.
    page.locator("#seal_number").press_sequentially("NP-2026-0001", delay=5)
    _sign(page, "#citizen-pad")
    _sign(page, "#clerk-pad")
    page.click("#receive")
    page.wait_for_url("**error=*")
    assert "Tờ khai" in page.locator("#flash").inner_text()
    assert _state(committing, code).status == "booked"

    page.check("input[name=present_0]")
    page.locator("#seal_number").press_sequentially("NP-2026-0001", delay=5)
    _sign(page, "#citizen-pad")
    _sign(page, "#clerk-pad")
    screenshot(page, "counter_intake")
    page.click("#receive")
    page.wait_for_url("**ok=received")
    assert "Tại bưu cục" in page.locator("#dossier-status").inner_text()
    assert page.locator("#due").inner_text().startswith("0")
    screenshot(page, "counter_received")
    state = _state(committing, code)
    assert (state.status, state.custodian) == ("at_post_office", f"post_office:{post_office_id}")

    # Printed on the spot: the label (PDF and the thermal printer's ZPL), slip and receipt.
    for link, kind in (("#label-pdf", "application/pdf"), ("#slip-pdf", "application/pdf"),
                       (".receipt", "application/pdf"), ("#label-zpl", "zebra")):  # fmt: skip
        href = page.locator(link).first.get_attribute("href")
        answer = page.request.get(f"{live_server}{href}")
        assert answer.status == 200 and kind in answer.headers["content-type"], (link, answer)
    zpl = page.request.get(f"{live_server}{page.locator('#label-zpl').get_attribute('href')}")
    assert "^CI28" in zpl.text() and code in zpl.text()

    # On in a bag to another post office: packed by scanning, sealed to it, its manifest
    # printed, sent off.
    page.goto(f"{live_server}/counter")
    page.click("#new-bag")
    page.wait_for_url(f"{live_server}/counter/bags/*")
    bag_code = page.url.rsplit("/", 1)[1]
    page.locator("#bag-item").press_sequentially(code, delay=5)
    page.keyboard.press("Enter")
    page.wait_for_url("**ok=packed*")
    assert page.locator("#bag-count").inner_text() == "1"
    page.select_option("#destination_post_office_id", str(second_id))
    page.fill("#bag_seal_number", "TUI-0001")
    page.click("#seal-button")
    page.wait_for_url("**ok=sealed")
    manifest = page.request.get(f"{live_server}/print/bags/{bag_code}/manifest.pdf")
    assert manifest.status == 200 and manifest.headers["content-type"] == "application/pdf"
    screenshot(page, "counter_bag_sealed")
    page.click("#depart")
    page.wait_for_url("**ok=departed")
    assert _state(committing, code).status == "in_transit"

    # Scanned in at a post office it was not sent to: refused there, kept for a dispatcher.
    for name, expect_ok in ((third_clerk, False), (second_clerk, True)):
        context = browser.new_context(**DESK_SCREEN)
        there = context.new_page()
        _sign_in(there, live_server, name)
        there.locator("#receive-code").press_sequentially(bag_code, delay=5)
        there.keyboard.press("Enter")
        there.wait_for_url("**ok=*" if expect_ok else "**error=*")
        if not expect_ok:
            assert "bưu cục khác" in there.locator("#flash").inner_text()
            assert _state(committing, code).status == "in_transit"
            screenshot(there, "counter_bag_wrong_post_office")
        context.close()
    state = _state(committing, code)
    assert (state.status, state.custodian) == ("arrived", f"post_office:{second_id}")
    with transaction(committing) as session:
        events = session.scalars(
            select(CustodyEvent.kind).join(Item, Item.id == CustodyEvent.item_id)
            .where(Item.code == code).order_by(CustodyEvent.seq)
        ).all()  # fmt: skip
        kept = session.scalar(select(CustodyException.reason_code).join(
            Item, Item.id == CustodyException.item_id).where(Item.code == code))  # fmt: skip
    assert list(events) == ["booked", "picked_up", "bagged", "bag_sealed", "departed", "arrived"]
    assert kept == "conflict"


def test_a_result_is_collected_at_the_counter_on_the_chip_id_card_qr_typed_by_a_scanner(
    live_server: str,
    counter_page: Any,
    browser: Any,
    committing: sessionmaker[Session],
    settings: Settings,
    screenshot: Any,
) -> None:
    username = unique("quay")
    with transaction(committing) as session:
        area = make_area(session, MY_THUONG)
        clerk = make_user(session, "counter_clerk", post_office_id=area.post_office.id,
                          username=username, password=PASSWORD)  # fmt: skip
        now = datetime.now(VN)
        walk_in = booking_input(area, window_start=None, result_at_post_office=True,
                                address_text=ADDRESS)  # fmt: skip
        created = book_walk_in(session, settings, clerk, walk_in, now=now)
        due = payment_state(session, created.case.id).due_vnd
        received = receive_at_counter(session, settings, clerk, created.case.id,
                                      _intake(session, area, due), now=now)  # fmt: skip
        assert received.outcome == "accepted"
        result = register_result(session, settings, Actor.system(), created.case, now=now)
        courier = area.couriers[0]
        desk = actor_for(make_user(session, "desk_officer", office_id=area.office.id))
        later = now + timedelta(minutes=5)
        for actor, kind, to_party in (
            (actor_for(courier), "handover_offered", party("courier", courier.id)),
            (desk, "handover_confirmed", None),
            # The courier brings it to the post office; the clerk scans it in below.
            (actor_for(courier), "handover_offered", party("post_office", area.post_office.id)),
        ):
            answer = record_one(session, actor, ScanCommand(kind=kind, code=result.code,
                                occurred_at=later, to_party=to_party))  # fmt: skip
            assert answer.outcome == "accepted", answer
        result_code, post_office_id = result.code, area.post_office.id

    # The citizen takes a number on their phone (the QR on the wall opens this page).
    phone_context = browser.new_context(**PHONE)
    phone = phone_context.new_page()
    phone.goto(f"{live_server}/q/{post_office_id}")
    phone.click("#take-ticket")
    phone.wait_for_url(f"{live_server}/q/{post_office_id}/1")
    assert phone.locator("#ticket-number").inner_text() == "1"
    screenshot(phone, "counter_ticket_phone")

    page = counter_page
    _sign_in(page, live_server, username)
    page.click("#call-next")
    page.wait_for_url("**ok=called*")
    assert page.locator("#called-number").inner_text() == "1"
    # The same number called again: refused, and it stays called once.
    page.fill("input[name=number]", "1")
    page.click("#call-number")
    page.wait_for_url("**error=*")
    assert "đã được gọi" in page.locator("#flash").inner_text()
    phone.reload()
    assert "Đã đến lượt bạn" in phone.locator("main").inner_text()
    phone_context.close()

    # The courier's hand-off: the clerk scans the result's label in (USB scanner + Enter).
    page.locator("#receive-code").press_sequentially(result_code, delay=5)
    page.keyboard.press("Enter")
    page.wait_for_url("**ok=received*")
    assert _state(committing, result_code).status == "at_post_office"
    assert result_code in page.locator("#to-collect").inner_text().replace(" ", "")

    page.locator("#find-code").press_sequentially(result_code, delay=5)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/counter/cases/*")
    _sign(page, "#recipient-pad")
    screenshot(page, "counter_hand_out")
    # The 2D scanner reads the chip ID card's QR and types it, then Enter: the form goes.
    page.click("#cccd_qr")
    page.keyboard.type(CARD)
    page.keyboard.press("Enter")
    page.wait_for_url("**ok=handed_out")
    assert "Đã phát thành công" in page.locator("#result-status").inner_text()
    screenshot(page, "counter_handed_out")
    state = _state(committing, result_code)
    assert state.status == "delivered" and state.custodian.startswith("citizen:")
    with transaction(committing) as session:
        delivered = session.scalars(
            select(CustodyEvent).join(Item, Item.id == CustodyEvent.item_id)
            .where(Item.code == result_code).order_by(CustodyEvent.seq.desc())
        ).first()  # fmt: skip
        assert delivered is not None and delivered.kind == "delivered"
        assert delivered.evidence["cccd_last4"] == CCCD_FEMALE_1990[-4:]
        assert "cccd_qr" not in delivered.evidence
        times = queue_times(session, post_office_id, now.astimezone(VN).date())
    assert [t.number for t in times.tickets] == [1] and times.tickets[0].waited_s is not None
