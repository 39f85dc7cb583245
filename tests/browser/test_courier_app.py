"""The courier app in a phone browser: offline scanning, camera scanning, reload, sync.

Chromium's fake camera is fed a video made from a real rendered label (the PDF label,
rasterised, cropped to its barcode as a phone held over it would see it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.cases.labels import label_data_for
from core.cases.models import Case
from core.cases.service import register_result
from core.custody.models import CustodyEvent, Item
from core.custody.parties import party
from core.dispatch.models import RouteStop
from core.handovers.service import open_handover, receive_item
from core.identity.models import User
from core.identity.service import actor_for
from core.media.service import missing_media
from core.places.service import reference_documents
from core.settings import Settings
from labels.label import render_label_pdf
from labels.s10 import format_item_id, make_item_id, validate_item_id
from tests.browser.conftest import PHONE
from tests.browser.courier_door import pickup_at_nine, sign_in_on_the_phone
from tests.conftest import launch_chromium
from tests.factories import (
    home_post_office,
    make_case,
    make_office,
    make_procedure,
    make_user,
    unique,
)
from tests.labels.decode import pdf_pages
from vntime import VN

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
FRAME = (640, 480)


def _y4m_of_label_barcode(label_pdf: bytes, path: Path) -> None:
    """A short Y4M video (what Chromium's fake camera plays) of the label's barcode."""
    page = pdf_pages(label_pdf, dpi=300)[0].convert("RGB")
    (barcode,) = [
        r for r in zxingcpp.read_barcodes(page) if r.format == zxingcpp.BarcodeFormat.Code128
    ]
    corners = [barcode.position.top_left, barcode.position.top_right,
               barcode.position.bottom_left, barcode.position.bottom_right]  # fmt: skip
    left, right = min(p.x for p in corners), max(p.x for p in corners)
    top, bottom = min(p.y for p in corners), max(p.y for p in corners)
    margin = 60
    crop = page.crop((left - margin, top - margin, right + margin, bottom + margin))
    crop.thumbnail((FRAME[0] - 40, FRAME[1] - 40))
    frame = Image.new("RGB", FRAME, "white")
    frame.paste(crop, ((FRAME[0] - crop.width) // 2, (FRAME[1] - crop.height) // 2))
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


def _collected_results(
    session: Session, settings: Settings, courier: User, count: int
) -> list[Item]:
    """Result items the courier has collected from the desk, ready to go out."""
    office = make_office(session)
    desk = actor_for(make_user(session, "desk_officer", office_id=office.id))
    courier_actor = actor_for(courier)
    now = datetime.now(VN)
    results = []
    for _ in range(count):
        case = make_case(session, settings, office=office)
        case.delivery_courier_id = courier.id
        results.append(register_result(session, settings, desk, case, now=now))
    handover = open_handover(session, courier_actor, giver=party("office", office.id),
                             receiver=courier_actor.party, item_codes=[i.code for i in results],
                             now=now).handover  # fmt: skip
    for item in results:
        receive_item(session, desk, handover.id, item.code, now=now)
    return results


def _stops_for(session: Session, courier: User, items: list[Item]) -> None:
    today = datetime.now(VN).replace(hour=8, minute=0, second=0, microsecond=0)
    for sequence, item in enumerate(items, start=1):
        case = session.get(Case, item.case_id)
        assert case is not None
        start = today + timedelta(hours=sequence)
        session.add(
            RouteStop(
                post_office_id=courier.post_office_id,
                service_date=today.date(),
                kind="home_delivery",
                courier_id=courier.id,
                sequence=sequence,
                case_id=case.id,
                lat=21.18 + sequence * 0.004,
                lon=106.06 + sequence * 0.003,
                window_start=start,
                window_end=start + timedelta(hours=2),
                eta=start + timedelta(minutes=20),
            )  # fmt: skip
        )
    session.flush()


@pytest.fixture
def camera_browser(
    playwright_driver: Any,
    tmp_path: Path,
    committing: sessionmaker[Session],
    live_settings: Settings,
) -> Iterator[tuple[Any, User, list[Item], str]]:
    username = unique("buuta")
    with committing.begin() as session:
        courier = make_user(session, "courier", username=username, password=PASSWORD,
                            full_name="Lê Văn Bưu",
                            post_office_id=home_post_office(session).id)  # fmt: skip
        items = _collected_results(session, live_settings, courier, 4)
        _stops_for(session, courier, items)
        label = label_data_for(session, live_settings, items[3].code)
        session.expunge_all()
    video = tmp_path / "label.y4m"
    _y4m_of_label_barcode(render_label_pdf([label]), video)
    instance = launch_chromium(
        playwright_driver,
        ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
         f"--use-file-for-fake-video-capture={video}"],
    )  # fmt: skip
    try:
        yield instance, courier, items, username
    finally:
        instance.close()


def _pending(page: Any) -> int:
    return int(page.locator("#pending-count").get_attribute("data-count"))


def test_offline_scans_survive_a_reload_and_sync_exactly_once(
    live_server: str,
    camera_browser: tuple[Any, User, list[Item], str],
    committing: sessionmaker[Session],
    screenshot: Any,
) -> None:
    instance, courier, items, username = camera_browser
    context = instance.new_context(**PHONE, permissions=["camera"])
    page = context.new_page()
    try:
        page.goto(f"{live_server}/courier/")
        page.wait_for_selector("#login-form")
        screenshot(page, "courier_01_sign_in")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("nav.tabs")
        # The app must be able to open with no network: wait until its worker controls it.
        page.evaluate("navigator.serviceWorker.ready")
        page.wait_for_function("navigator.serviceWorker.controller !== null")

        context.set_offline(True)
        page.goto(f"{live_server}/courier/#/scan")
        page.wait_for_selector("#scan-form")
        assert page.locator(".conn").get_attribute("data-online") == "0"
        page.select_option("#scan-kind", "out_for_delivery")
        for item in items[:3]:
            page.fill("#code", format_item_id(item.code).lower())
            page.press("#code", "Enter")
            page.wait_for_selector(f"#event-list li[data-code='{item.code}']")
        wrong = items[0].code[:10] + str((int(items[0].code[10]) + 1) % 10) + "VN"
        page.fill("#code", wrong)
        page.press("#code", "Enter")
        assert "Sai số kiểm tra" in page.locator("#scan-feedback").inner_text()
        assert "bad" in (page.locator("#scan-feedback").get_attribute("class") or "")

        page.click("#camera-toggle")
        page.wait_for_selector(f"#event-list li[data-code='{items[3].code}']", timeout=20_000)
        page.click("#camera-toggle")
        screenshot(page, "courier_05_scan_offline")
        assert _pending(page) == 4

        page.reload()  # offline: the shell comes from the service worker, the queue from IndexedDB
        page.wait_for_selector("#event-list li")
        assert _pending(page) == 4
        assert page.locator("#event-list li[data-state='pending']").count() == 4
        screenshot(page, "courier_06_reloaded_offline")

        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        page.wait_for_function(
            "document.querySelector('#pending-count')?.dataset.count === '0'", timeout=20_000
        )
        page.wait_for_selector("#event-list li[data-state='accepted'] >> nth=3")
        screenshot(page, "courier_07_synced")
    finally:
        context.close()

    with committing() as session:
        ids = [i.id for i in items]
        counts = dict(
            session.execute(
                select(CustodyEvent.item_id, func.count())
                .where(CustodyEvent.item_id.in_(ids), CustodyEvent.kind == "out_for_delivery")
                .group_by(CustodyEvent.item_id)
            ).all()
        )
        assert counts == dict.fromkeys(ids, 1)
        actors = set(
            session.scalars(
                select(CustodyEvent.actor_party).where(
                    CustodyEvent.item_id.in_(ids), CustodyEvent.kind == "out_for_delivery"
                )
            )
        )
        assert actors == {party("courier", courier.id)}


def test_runsheet_map_stop_and_every_form_render_in_both_languages(
    live_server: str, browser: Any, committing: sessionmaker[Session], live_settings: Settings,
    screenshot: Any,
) -> None:  # fmt: skip
    username = unique("buuta")
    with committing.begin() as session:
        courier = make_user(session, "courier", username=username, password=PASSWORD,
                            post_office_id=home_post_office(session).id)  # fmt: skip
        items = _collected_results(session, live_settings, courier, 1)
        _stops_for(session, courier, items)
        stop_id = session.scalar(select(RouteStop.id).where(RouteStop.courier_id == courier.id))
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/courier/")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("[data-stop]")
        assert page.locator("[data-stop]").count() == 1
        screenshot(page, "courier_02_runsheet")
        page.click("text=Bản đồ")
        page.wait_for_selector("#leaflet-map path.stop-marker")
        # a marker per stop, drawn as vector layers without any tile server
        assert page.locator("#leaflet-map path.stop-marker").count() == 1
        screenshot(page, "courier_03_map")
        page.goto(f"{live_server}/courier/#/stop/{stop_id}")
        page.wait_for_selector("text=Chỉ đường")
        assert page.locator("a[href^='https://www.google.com/maps/dir/']").count() == 1
        screenshot(page, "courier_04_stop")
        for name, hash_, marker in [
            ("deliver", f"#/deliver/{stop_id}", "#deliver-form"),
            ("failed", f"#/failed/{stop_id}", "#failed-form"),
            ("pickup", f"#/pickup/{stop_id}", "#pickup-form"),
            ("refuse", f"#/refuse/{stop_id}", "#refuse-form"),
            ("handover", f"#/handover?stop={stop_id}", "#open-handover"),
            ("bags", "#/bags", "#seal-bag"),
            ("queue", "#/queue", "#event-list"),
        ]:
            page.goto(f"{live_server}/courier/{hash_}")
            page.wait_for_selector(marker, state="attached")
            screenshot(page, f"courier_form_{name}")
        page.click("button.lang")
        page.wait_for_selector("text=Queue")
        assert re.search(r"\bQueue\b", page.locator("nav.tabs").inner_text())
        screenshot(page, "courier_queue_en")
    finally:
        context.close()


def test_the_apps_check_digit_agrees_with_the_labels_library(
    live_server: str, browser: Any
) -> None:
    """The phone refuses a mistyped ID before queueing it; it must agree with the server."""
    valid = [make_item_id("DR", serial) for serial in range(0, 99_999_999, 7_654_321)]
    mistyped = [code[:10] + str((int(code[10]) + 3) % 10) + code[11:] for code in valid]
    page = browser.new_page()
    try:
        page.goto(f"{live_server}/static/courier/app.css")  # any same-origin page
        answers = page.evaluate(
            """async (codes) => {
                const s10 = await import('/static/courier/s10.js');
                return codes.map((c) => s10.normalise(c));
            }""",
            [*valid, *mistyped, "dr 000 000 080 vn", "http://x/t/DR000000080VN", "RR12"],
        )
    finally:
        page.close()
    assert [a["code"] for a in answers[: len(valid)]] == valid
    assert all(a == {"ok": False, "reason": "code_check_digit"} for a in answers[len(valid) : -3])
    assert answers[-3] == answers[-2] == {"ok": True, "code": validate_item_id("DR000000080VN")}
    assert answers[-1] == {"ok": False, "reason": "code_format"}


def _sign(page: Any, selector: str) -> None:
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 30)
    page.mouse.down()
    for step in range(1, 8):
        page.mouse.move(box["x"] + 20 + step * 30, box["y"] + 30 + (step % 2) * 40)
    page.mouse.up()


def test_pickup_at_the_door_with_checklist_seal_and_two_signatures(
    live_server: str, browser: Any, committing: sessionmaker[Session], live_settings: Settings,
    screenshot: Any,
) -> None:  # fmt: skip
    with committing.begin() as session:
        # A judicial-record application as the catalogue seeds it: a form to hand over, the
        # ID card only shown, and an authorisation letter only "nếu ủy quyền".
        procedure = make_procedure(
            session, documents=reference_documents("judicial_record_certificate")
        )
        door = pickup_at_nine(
            session, lambda s: make_case(s, live_settings, procedure_id=procedure.id)
        )
    stop_id, code = door.stop_id, door.code
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        sign_in_on_the_phone(page, live_server, door.username)
        page.goto(f"{live_server}/courier/#/pickup/{stop_id}")
        page.wait_for_selector("#pickup-form")
        assert page.locator("#item").input_value() == code
        boxes = page.locator(".checklist input[type=checkbox]")
        assert boxes.count() == 2  # the form (taken) and the ID card (shown)
        assert "nếu ủy quyền" in page.locator(".checklist li[data-kind=conditional]").inner_text()
        assert "không thu" in page.locator(".checklist li[data-kind=shown]").inner_text()
        page.click("#pickup-form button[type=submit]")  # nothing signed: refused on the phone
        assert "Bắt buộc" in page.locator(".form-error").inner_text()
        for index in range(boxes.count()):
            boxes.nth(index).check()
        page.fill(".checklist li[data-kind=mandatory] input.pages", "2")
        # The citizen applies in person: the authorisation letter does not apply.
        page.check(".checklist li[data-kind=conditional] input[value=not_applicable]")
        page.fill("#seal", "NP-2026-0042")
        _sign(page, "#citizen-signature")
        _sign(page, "#courier-signature")
        screenshot(page, "courier_pickup_filled")
        page.click("#pickup-form button[type=submit]")
        page.wait_for_selector(f"#event-list li[data-code='{code}']:not([data-state='pending'])")
        answer = page.locator(f"#event-list li[data-code='{code}']")
        assert answer.get_attribute("data-state") == "accepted", answer.inner_text()
        screenshot(page, "courier_pickup_recorded")
    finally:
        context.close()
    with committing() as session:
        event = session.scalars(
            select(CustodyEvent).where(
                CustodyEvent.item_id == door.item_id, CustodyEvent.kind == "picked_up"
            )
        ).one()
        assert event.details["seal_number"] == "NP-2026-0042"
        statuses = {e["name"]: (e["kind"], e["status"], e["pages"])
                    for e in event.details["checklist"]}  # fmt: skip
        assert statuses == {
            "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp": ("mandatory", "received", 2),
            "Căn cước / Căn cước công dân của người yêu cầu (xuất trình)": ("shown", "shown", 0),
            "Văn bản ủy quyền (nếu ủy quyền nhận thay, chỉ với Phiếu số 1)": (
                "conditional", "not_applicable", 0),
        }  # fmt: skip
        hashes = [event.evidence["citizen_signature_sha256"],
                  event.evidence["courier_signature_sha256"]]  # fmt: skip
        assert missing_media(session, hashes) == []
        assert event.actor_party == party("courier", door.courier_id)
