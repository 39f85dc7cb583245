"""Issue 18's counter test in a real browser: a walk-in dossier digitised at the counter from
a flatbed scanner's files (a bad file refused first, naming it; pages reordered, removed and
re-taken) and the desk's webcam (Chromium's fake camera fed a rendered page), received with
the checklist ticked from the pages, labelled, bagged to another post office and arriving
there, handed to the one-stop desk with both signatures, and its result collected back at
the counter on the chip ID card QR as a 2D scanner types it.

The searchable text layer is the worker's job: the request's copy has none, the job's copy
has the Vietnamese word, and the case page then says so."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.cases.models import Case
from core.cases.service import register_result
from core.counter.reception import book_walk_in
from core.custody.commands import ScanCommand
from core.custody.models import CustodyEvent, Item
from core.custody.parties import Actor, party
from core.custody.service import record_one
from core.db import transaction
from core.digitising.assemble import tesseract_for
from core.digitising.models import DigitisedCopy
from core.digitising.service import latest_copy
from core.digitising.text_layer import TEXT_LAYER_TOPIC, add_text_layer
from core.handovers.service import open_handover
from core.identity.models import User
from core.identity.service import actor_for
from core.money.state import payment_state
from core.outbox.models import OutboxMessage
from core.settings import Settings
from tests.browser.test_counter import (
    ADDRESS,
    DESK_SCREEN,
    MY_THUONG,
    PASSWORD,
    _sign,
    _sign_in,
    _state,
)
from tests.conftest import launch_chromium
from tests.core.booking.helpers import booking_input, make_area
from tests.core.counter.test_counter import CARD
from tests.digitising_pages import KNOWN_WORD, render_page
from tests.factories import make_post_office, make_user, unique
from vntime import VN

pytestmark = pytest.mark.browser


# The webcam's frame: a rendered page, A4-proportioned, even sides for 4:2:0.
FRAME = (566, 800)


def _y4m_of_page(jpeg: bytes, path: Path) -> None:
    """A short Y4M video (what Chromium's fake camera plays) of a page held under a webcam."""
    with Image.open(io.BytesIO(jpeg)) as image:
        frame = image.convert("RGB").resize(FRAME)
    rgb = np.asarray(frame, dtype=np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128

    def subsample(plane: Any) -> Any:
        return plane.reshape(FRAME[1] // 2, 2, FRAME[0] // 2, 2).mean(axis=(1, 3))

    planes = b"".join(
        np.clip(p, 0, 255).astype(np.uint8).tobytes() for p in (y, subsample(u), subsample(v))
    )
    header = f"YUV4MPEG2 W{FRAME[0]} H{FRAME[1]} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"".join(b"FRAME\n" + planes for _ in range(10)))


@pytest.fixture
def webcam_browser(playwright_driver: Any, tmp_path: Path) -> Iterator[Any]:
    """Chromium whose webcam shows a rendered page (the counter's desktop camera)."""
    video = tmp_path / "page.y4m"
    _y4m_of_page(render_page(5), video)
    instance = launch_chromium(
        playwright_driver,
        ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
         f"--use-file-for-fake-video-capture={video}"],
    )  # fmt: skip
    yield instance
    instance.close()


@pytest.fixture
def counter_page(webcam_browser: Any) -> Iterator[Any]:
    context = webcam_browser.new_context(**DESK_SCREEN)
    page = context.new_page()
    yield page
    context.close()


def _file(name: str, data: bytes, mime: str = "image/jpeg") -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


def _pages_shown(page: Any, count: int) -> None:
    page.locator(f"#digitise-summary[data-pages='{count}']").wait_for()


def _text_of(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


def test_a_walk_in_digitised_at_the_counter_travels_to_the_desk_and_its_result_comes_back(
    live_server: str,
    counter_page: Any,
    webcam_browser: Any,
    committing: sessionmaker[Session],
    settings: Settings,
    screenshot: Any,
) -> None:
    username, second_clerk, desk_name = unique("quay"), unique("quay"), unique("motcua")
    with transaction(committing) as session:
        area = make_area(session, MY_THUONG)
        clerk = make_user(session, "counter_clerk", post_office_id=area.post_office.id,
                          username=username, password=PASSWORD)  # fmt: skip
        here = area.post_office
        second = make_post_office(session, code=unique("PO-D"), name="Bưu cục Vỹ Dạ",
                                  province_code=here.province_code,
                                  commune_code=here.commune_code, address="Vỹ Dạ",
                                  lat=here.lat, lon=here.lon)  # fmt: skip
        make_user(session, "counter_clerk", post_office_id=second.id, username=second_clerk,
                  password=PASSWORD)  # fmt: skip
        make_user(session, "desk_officer", office_id=area.office.id, username=desk_name,
                  full_name="Phan Thị Một Cửa", password=PASSWORD)  # fmt: skip
        walk_in = booking_input(area, window_start=None, result_at_post_office=True,
                                address_text=ADDRESS)  # fmt: skip
        created = book_walk_in(session, settings, clerk, walk_in, now=datetime.now(VN))
        case_id, code = created.case.id, created.item_code
        assert code is not None
        documents = [d["name_vi"] for d in area.procedure.documents if d.get("kind") != "shown"]
        post_office_id, second_id, office_id = here.id, second.id, area.office.id
        courier = area.couriers[0]
    page = counter_page
    _sign_in(page, live_server, username)
    page.goto(f"{live_server}/counter/cases/{case_id}")
    assert "Số hóa hồ sơ" in page.locator("#intake #digitise").inner_text()

    # The scanner's files, one of them not a page: refused, naming it; nothing is kept.
    pages = {n: render_page(n) for n in (1, 2, 3, 4)}
    page.set_input_files("#digitise-files", [
        _file("scan-001.jpg", pages[1]),
        _file("ghi-chu.txt", b"khong phai anh", "text/plain"),
    ])  # fmt: skip
    _pages_shown(page, 2)
    page.click("#digitise-submit")
    page.wait_for_url("**error=*")
    assert "Trang 2 (ghi-chu.txt) bị từ chối" in page.locator("#flash").inner_text()
    with transaction(committing) as session:
        assert (
            session.scalar(select(DigitisedCopy.id).where(DigitisedCopy.case_id == case_id)) is None
        )

    # Scanned out of order, one page too many, one to re-take: put right on the screen.
    page.set_input_files("#digitise-files", [_file("scan-002.jpg", pages[2]),
                                             _file("scan-001.jpg", pages[1])])  # fmt: skip
    _pages_shown(page, 2)
    blurred = render_page(3, quality=5)
    page.set_input_files("#digitise-files", [_file("scan-004.jpg", pages[4]),
                                             _file("scan-003-mo.jpg", blurred)])  # fmt: skip
    _pages_shown(page, 4)
    rows = page.locator("#digitise-pages li")
    rows.nth(1).locator("button.up").click()  # scan-001 first
    rows.nth(2).locator("button.remove").click()  # scan-004 was not of this dossier
    _pages_shown(page, 3)
    with page.expect_file_chooser() as chooser:
        rows.nth(2).locator("button.retake").click()  # the blurred page 3, scanned again
    chooser.value.set_files([_file("scan-003.jpg", pages[3])])
    page.wait_for_function(
        "document.querySelector('#digitise-pages li:nth-child(3)').dataset.name === 'scan-003.jpg'"
    )
    names = [rows.nth(i).get_attribute("data-name") for i in range(3)]
    assert names == ["scan-001.jpg", "scan-002.jpg", "scan-003.jpg"]
    # The last page under the desk's webcam.
    page.click("#webcam-start")
    page.wait_for_function("document.getElementById('webcam').videoWidth > 0")
    page.click("#webcam-shoot")
    _pages_shown(page, 4)
    assert (rows.nth(3).get_attribute("data-name") or "").startswith("webcam-")
    page.fill("#doc-first-0", "1")
    page.fill("#doc-last-0", "4")
    screenshot(page, "counter_digitise_pages")
    page.click("#digitise-submit")
    page.wait_for_url("**ok=digitised*")
    assert "Đã số hóa 4 trang" in page.locator("#flash").inner_text()
    assert page.locator("#digitised-copy").get_attribute("data-pages") == "4"
    # The checklist is ticked from the pages, with their count.
    assert page.locator("input[name=present_0]").is_checked()
    assert page.locator("input[name=pages_0]").input_value() == "4"
    screenshot(page, "counter_digitised")

    with transaction(committing) as session:
        item = session.scalars(select(Item).where(Item.code == code)).one()
        copy = latest_copy(session, item.id)
        assert copy is not None and copy.data is not None and copy.page_count == 4
        assert copy.documents == [{"name": documents[0], "first_page": 1, "last_page": 4}]
        event = session.scalars(
            select(CustodyEvent).where(CustodyEvent.event_id == copy.event_id)
        ).one()
        assert event.kind == "digitised"
        assert event.details["captured_by"] == party("post_office", post_office_id)
        assert event.details["pdf_sha256"] == hashlib.sha256(copy.data).hexdigest()
        # The request did not wait for Tesseract: the copy has no words yet; the job is queued.
        assert copy.text_layer is None and _text_of(copy.data) == ["", "", "", ""]
        message = session.scalars(select(OutboxMessage).where(
            OutboxMessage.topic == TEXT_LAYER_TOPIC,
            OutboxMessage.payload["copy_id"].as_integer() == copy.id)).one()  # fmt: skip
        payload, first_copy_id = dict(message.payload), copy.id
    if tesseract_for("vie") is not None:
        # The worker's job (what `hoso worker` runs for this message).
        with transaction(committing) as session:
            said = add_text_layer(session, payload, settings, datetime.now(VN))
        assert said.startswith("text layer"), said
        with transaction(committing) as session:
            searchable = latest_copy(session, item.id)
            assert searchable is not None and searchable.id != first_copy_id
            assert searchable.data is not None
            # The scanner's pages read in Vietnamese (the webcam's small frame may not).
            assert all(KNOWN_WORD in text for text in _text_of(searchable.data)[:3])
        page.reload()
        assert "có lớp chữ tìm kiếm được" in page.locator("#digitised-copy").inner_text()

    # Received: sealed, both signatures; the label printed.
    page.locator("#seal_number").press_sequentially("NP-2026-0918", delay=5)
    _sign(page, "#citizen-pad")
    _sign(page, "#clerk-pad")
    page.click("#receive")
    page.wait_for_url("**ok=received")
    assert _state(committing, code).status == "at_post_office"
    label = page.request.get(f"{live_server}{page.locator('#label-pdf').get_attribute('href')}")
    assert label.status == 200 and label.headers["content-type"] == "application/pdf"
    screenshot(page, "counter_digitise_received")

    # Bagged to the other post office, sent off, scanned in there.
    page.goto(f"{live_server}/counter")
    page.click("#new-bag")
    page.wait_for_url(f"{live_server}/counter/bags/*")
    bag_code = page.url.rsplit("/", 1)[1]
    page.locator("#bag-item").press_sequentially(code, delay=5)
    page.keyboard.press("Enter")
    page.wait_for_url("**ok=packed*")
    page.select_option("#destination_post_office_id", str(second_id))
    page.fill("#bag_seal_number", "TUI-0918")
    page.click("#seal-button")
    page.wait_for_url("**ok=sealed")
    page.click("#depart")
    page.wait_for_url("**ok=departed")
    there_context = webcam_browser.new_context(**DESK_SCREEN)
    there = there_context.new_page()
    _sign_in(there, live_server, second_clerk)
    there.locator("#receive-code").press_sequentially(bag_code, delay=5)
    there.keyboard.press("Enter")
    there.wait_for_url("**ok=*")
    there_context.close()
    state = _state(committing, code)
    assert (state.status, state.custodian) == ("arrived", party("post_office", second_id))

    # Handed to the one-stop desk: the post office opens the hand-over with the state fee
    # taken at the counter; the desk scans the dossier and both sign the record.
    with transaction(committing) as session:
        giver = session.scalars(select(Item).where(Item.code == code)).one()
        fee = payment_state(session, case_id).lines.get("state_fee", 0)
        second_staff = actor_for(session.scalars(
            select(User).where(User.username == second_clerk)).one())  # fmt: skip
        opened = open_handover(session, second_staff, giver=party("post_office", second_id),
                               receiver=party("office", office_id), item_codes=[giver.code],
                               now=datetime.now(VN), item_fees={code: fee})  # fmt: skip
        assert not opened.refused, opened.refused
        handover_id = opened.handover.id
    desk_context = webcam_browser.new_context(**DESK_SCREEN)
    desk = desk_context.new_page()
    desk.goto(f"{live_server}/login?next=/desk")
    desk.fill("#username", desk_name)
    desk.fill("#password", PASSWORD)
    desk.click("button[type=submit]")
    desk.wait_for_url(f"{live_server}/desk")
    desk.click(f"a[href='/desk/handovers/{handover_id}']")
    desk.wait_for_url(f"{live_server}/desk/handovers/{handover_id}")
    desk.locator("#scan-code").press_sequentially(code, delay=5)
    desk.keyboard.press("Enter")
    desk.locator(f"tr[data-code='{code}'][data-outcome='confirmed']").wait_for()
    _sign(desk, "[data-signature=courier_signature] canvas")
    _sign(desk, "[data-signature=desk_signature] canvas")
    desk.click("#complete")
    desk.wait_for_url(f"**/desk/handovers/{handover_id}?outcome=completed")
    assert desk.locator("#record [data-signed]").count() == 2
    screenshot(desk, "counter_digitise_desk_record")
    desk_context.close()
    state = _state(committing, code)
    assert (state.status, state.custodian) == ("handed_over", party("office", office_id))

    # The result comes back to the counter where the citizen chose to collect it.
    with transaction(committing) as session:
        case = session.get_one(Case, case_id)
        result = register_result(session, settings, Actor.system(), case, now=datetime.now(VN))
        desk_officer = actor_for(session.scalars(
            select(User).where(User.username == desk_name)).one())  # fmt: skip
        later = datetime.now(VN) + timedelta(seconds=1)
        for actor, kind, to_party in (
            (actor_for(courier), "handover_offered", party("courier", courier.id)),
            (desk_officer, "handover_confirmed", None),
            (actor_for(courier), "handover_offered", party("post_office", post_office_id)),
        ):
            answer = record_one(session, actor, ScanCommand(kind=kind, code=result.code,
                                occurred_at=later, to_party=to_party))  # fmt: skip
            assert answer.outcome == "accepted", answer
        result_code = result.code
    page.goto(f"{live_server}/counter")
    page.locator("#receive-code").press_sequentially(result_code, delay=5)
    page.keyboard.press("Enter")
    page.wait_for_url("**ok=received*")
    page.locator("#find-code").press_sequentially(result_code, delay=5)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/counter/cases/*")
    _sign(page, "#recipient-pad")
    # The 2D scanner reads the chip ID card's QR and types it, then Enter: the form goes.
    page.click("#cccd_qr")
    page.keyboard.type(CARD)
    page.keyboard.press("Enter")
    page.wait_for_url("**ok=handed_out")
    screenshot(page, "counter_digitise_result_collected")
    state = _state(committing, result_code)
    assert state.status == "delivered" and state.custodian.startswith("citizen:")
    with transaction(committing) as session:
        kinds = session.scalars(
            select(CustodyEvent.kind).join(Item, Item.id == CustodyEvent.item_id)
            .where(Item.code == code).order_by(CustodyEvent.seq)
        ).all()  # fmt: skip
    # Digitised before it was received; then on the road, in order, to the desk.
    assert kinds[:2] == ["booked", "digitised"]
    road = ["picked_up", "bagged", "bag_sealed", "departed", "arrived", "handover_offered",
            "handover_confirmed"]  # fmt: skip
    assert [k for k in kinds if k in road] == road
