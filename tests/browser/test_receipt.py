"""A citizen checks the receipt of their delivery in the browser, with the public key only."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.booking.notify import notify_pass
from core.cases.service import register_result
from core.custody.checkpoints import make_checkpoint
from core.custody.service import record_one
from core.identity.service import actor_for
from core.outbox.models import OutboxMessage
from core.settings import Settings
from tests.browser.test_booking import NINH_KIEU, _area, _phone
from tests.core.custody.helpers import scan
from tests.factories import make_case, make_user
from vntime import VN


def _delivered(committing: sessionmaker[Session], settings: Settings) -> str:
    """A result delivered to the citizen; the SMS they got; its receipt link's path."""
    area = _area(committing)
    number = _phone()
    with committing.begin() as session:
        case = make_case(session, settings, post_office=area.post_office, office=area.office,
                         commune_code=NINH_KIEU, contact_phone=number, service_option="receive",
                         lat=10.03, lon=105.78)  # fmt: skip
        courier = actor_for(area.couriers[0])
        desk = actor_for(make_user(session, "desk_officer", office_id=area.office.id))
        result = register_result(session, settings, desk, case, now=datetime.now(VN)).code
        record_one(session, courier, scan("handover_offered", result, to_party=courier.party))
        record_one(session, desk, scan("handover_confirmed", result))
        record_one(session, courier, scan("out_for_delivery", result))
        proof = {"proof": "otp", "otp_verified": True}
        record_one(session, courier, scan("delivered", result, evidence=proof))
    notify_pass(committing, settings, now=datetime.now(UTC))
    with committing() as session:
        texts = [
            str(m.payload["text"])
            for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            if m.payload.get("phone") == number and m.payload.get("kind") == "delivered"
        ]
    assert len(texts) == 1, texts
    found = re.search(r"Biên nhận: \S+(/r/[0-9a-f-]{36})", texts[0])
    assert found, texts[0]
    return found.group(1)


def test_a_citizen_sees_their_delivery_receipt_valid_and_a_changed_one_not(
    live_server: str,
    phone: Any,
    committing: sessionmaker[Session],
    live_settings: Settings,
    screenshot: Any,
) -> None:
    path = _delivered(committing, live_settings)
    # Before the next head: the page says so, and claims nothing.
    phone.goto(f"{live_server}{path}")
    phone.wait_for_selector("#verdict[data-state]")
    assert phone.locator("#verdict").get_attribute("data-state") == "pending"
    # The worker signs a head within the minute; here, at once.
    with committing.begin() as session:
        make_checkpoint(session, live_settings, now=datetime.now(UTC), force=True)
    phone.goto(f"{live_server}{path}")
    phone.wait_for_selector("#verdict[data-state]")
    assert phone.locator("#verdict").get_attribute("data-state") == "valid"
    assert phone.locator("#verdict").inner_text().startswith("Hợp lệ")
    assert (
        "Đã phát" in phone.locator("#receipt-summary").inner_text()
        or phone.locator("#receipt-summary").inner_text()
    )
    screenshot(phone, "receipt_valid")

    # One character changed: the kind of event (a forged "attempt failed" would read
    # differently), then one digit of the event's hash.
    text = phone.locator("#receipt-text").input_value()
    receipt = json.loads(text)
    changed = text.replace(receipt["event"]["hash"], "f" + receipt["event"]["hash"][1:]
                           if receipt["event"]["hash"][0] != "f"
                           else "e" + receipt["event"]["hash"][1:])  # fmt: skip
    assert sum(a != b for a, b in zip(text, changed, strict=True)) == 1
    phone.click("#receipt-check summary")
    phone.fill("#receipt-text", changed)
    phone.click("#check-again")
    phone.wait_for_selector("#verdict[data-state=invalid]")
    assert phone.locator("#verdict").inner_text() == "Không hợp lệ:"
    problems = phone.locator("#problems li").all_inner_texts()
    assert problems and "không khớp với mã băm lá" in problems[0], problems
    screenshot(phone, "receipt_changed")

    # The same in English, and a changed signature on the head.
    phone.goto(f"{live_server}{path}?lang=en")
    phone.wait_for_selector("#verdict[data-state=valid]")
    text = phone.locator("#receipt-text").input_value()
    receipt = json.loads(text)
    note = receipt["checkpoint"]
    signature = note.rsplit(" ", 1)[1]
    # A character inside the Ed25519 signature (the first six carry the key id).
    flipped = signature[:20] + ("B" if signature[20] != "B" else "C") + signature[21:]
    receipt["checkpoint"] = note.replace(signature, flipped)
    phone.click("#receipt-check summary")
    phone.fill("#receipt-text", json.dumps(receipt))
    phone.click("#check-again")
    phone.wait_for_selector("#verdict[data-state=invalid]")
    problems = phone.locator("#problems li").all_inner_texts()
    assert any("signature" in p for p in problems), problems


def test_an_unknown_receipt_is_a_clear_404(live_server: str, phone: Any) -> None:
    response = phone.goto(f"{live_server}/r/00000000-0000-4000-8000-000000000000")
    assert response.status == 404
    assert "Không tìm thấy biên nhận" in phone.locator("[role=alert]").inner_text()
