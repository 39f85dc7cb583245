"""Digitising a dossier in the courier app: pages fed to the camera's file input (rendered
pages with Vietnamese text), previewed, reordered and one re-taken, page ranges given to the
checklist, saved with no signal and synced later; the server's PDF has the pages in the
order the courier left them, and the pickup's checklist is ticked from the captured pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pypdfium2 as pdfium
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.custody.models import CustodyEvent
from core.custody.parties import party
from core.digitising.assemble import tesseract_for
from core.digitising.models import DigitisedCopy
from core.digitising.service import latest_copy
from core.digitising.text_layer import TEXT_LAYER_TOPIC, add_text_layer
from core.outbox.models import OutboxMessage
from core.places.service import reference_documents
from core.settings import Settings
from tests.browser.conftest import PHONE
from tests.browser.courier_door import pickup_at_nine, sign_in_on_the_phone
from tests.digitising_pages import render_page
from tests.factories import (
    make_case,
    make_procedure,
)
from vntime import VN

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def _jpeg(name: str, number: int) -> dict[str, Any]:
    # A camera's JPEG: high quality, so the phone's re-encoding visibly shrinks it.
    return {"name": name, "mimeType": "image/jpeg", "buffer": render_page(number, quality=95)}


def _texts(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


def _wait_for_copy(committing: sessionmaker[Session], item_id: int, page: Any) -> DigitisedCopy:
    for _ in range(120):
        with committing() as session:
            copy = session.scalars(select(DigitisedCopy)
                                   .where(DigitisedCopy.item_id == item_id)).first()  # fmt: skip
            if copy is not None:
                session.expunge(copy)
                return copy
        page.wait_for_timeout(500)
    raise AssertionError("the phone never sent the copy")


def test_the_courier_captures_reorders_retakes_and_the_copy_syncs_later(
    live_server: str, browser: Any, committing: sessionmaker[Session], live_settings: Settings,
    screenshot: Any,
) -> None:  # fmt: skip
    with committing.begin() as session:
        procedure = make_procedure(
            session, documents=reference_documents("judicial_record_certificate")
        )
        door = pickup_at_nine(
            session, lambda s: make_case(s, live_settings, procedure_id=procedure.id)
        )
    stop_id, code, item_id, courier_id = door.stop_id, door.code, door.item_id, door.courier_id
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        sign_in_on_the_phone(page, live_server, door.username)
        page.goto(f"{live_server}/courier/#/pickup/{stop_id}")
        page.click("#digitise-link")
        page.wait_for_selector("#digitise")
        assert code in page.locator("#digitise").inner_text()

        # Three pages from the camera, and a file that is no picture: refused on the phone.
        not_a_picture = {"name": "note.txt", "mimeType": "image/jpeg", "buffer": b"not a photo"}
        page.set_input_files("#page-input", [_jpeg("p1.jpg", 1), _jpeg("p2.jpg", 2),
                                             not_a_picture, _jpeg("p3.jpg", 3)])  # fmt: skip
        page.wait_for_selector("#page-list li[data-sha] >> nth=2")
        assert page.locator("#page-list li[data-sha]").count() == 3
        assert "không phải ảnh" in page.locator("#digitise-error").inner_text()
        sizes = [int(s) for s in page.locator("#page-list li").evaluate_all(
            "items => items.map(li => li.dataset.size)")]  # fmt: skip
        sent = len(render_page(1, quality=95))
        assert all(0 < size < sent for size in sizes), (sizes, sent)

        # Page 3 moved up (1, 3, 2), then the new page 2 re-taken as another page (1, 4, 2).
        page.locator("#page-list li >> nth=2").locator("button.up").click()
        page.wait_for_function("document.querySelectorAll('#page-list li')[1]"
                               ".querySelector('strong').textContent.endsWith('2')")  # fmt: skip
        before = page.locator("#page-list li >> nth=1").get_attribute("data-sha")
        with page.expect_file_chooser() as chooser:
            page.locator("#page-list li >> nth=1").locator("button.retake").click()
        chooser.value.set_files([_jpeg("p4.jpg", 4)])
        page.wait_for_function(
            f"document.querySelectorAll('#page-list li')[1].dataset.sha !== '{before}'"
        )
        assert page.locator("#page-list li[data-sha]").count() == 3
        # The application form is all three pages.
        page.fill("#first-0", "1")
        page.fill("#last-0", "3")
        screenshot(page, "courier_digitise_pages")

        context.set_offline(True)
        page.click("#save-copy")
        page.wait_for_selector("#pickup-form")
        form_row = page.locator(".checklist li[data-kind=mandatory]")
        assert form_row.get_attribute("data-captured") == "1-3"
        assert form_row.locator("input[type=checkbox]").is_checked()
        assert form_row.locator("input.pages").input_value() == "3"
        assert int(page.locator("#pending-count").get_attribute("data-count") or 0) >= 1
        screenshot(page, "courier_digitise_checklist_ticked")
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        copy = _wait_for_copy(committing, item_id, page)
    finally:
        context.close()

    assert copy.page_count == 3 and copy.data is not None
    assert copy.documents == [{"name": "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp",
                               "first_page": 1, "last_page": 3}]  # fmt: skip
    with committing() as session:
        event = session.scalars(select(CustodyEvent).where(
            CustodyEvent.event_id == copy.event_id)).one()  # fmt: skip
        assert event.details["captured_by"] == party("courier", courier_id)
        assert event.details["pdf_sha256"] == copy.pdf_sha256
        # The request made the image-only copy; the text layer is queued for the worker.
        assert copy.text_layer is None and _texts(copy.data) == ["", "", ""]
        message = session.scalars(select(OutboxMessage).where(
            OutboxMessage.topic == TEXT_LAYER_TOPIC,
            OutboxMessage.payload["copy_id"].as_integer() == copy.id)).one()  # fmt: skip
        payload = dict(message.payload)
    if tesseract_for("vie") is not None:
        # The worker's job for that message: the searchable copy, in the phone's page order.
        with committing.begin() as session:
            said = add_text_layer(session, payload, live_settings, datetime.now(VN))
            assert said.startswith("text layer"), said
            searchable = latest_copy(session, item_id)
            assert searchable is not None and searchable.data is not None
            texts = _texts(searchable.data)
        order = [next(n for n in (1, 2, 3, 4) if f"trang {n}" in text) for text in texts]
        assert order == [1, 4, 2], texts
