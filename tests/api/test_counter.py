"""The counter's pages as plain forms: bad input is refused with a reason, and changes nothing."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.booking.service import create_booking
from core.cases.models import Booking
from core.counter.models import CounterTicket
from core.counter.reception import book_walk_in
from core.custody.models import CustodyEvent, Item, ItemState
from core.identity.service import issue_token
from core.settings import Settings
from tests.core.booking.helpers import NOW, booking_input, make_area
from tests.factories import make_user
from tests.labels.samples import signature_png

SIGNED = "data:image/png;base64," + base64.b64encode(signature_png("Ký")).decode()


def _error(response: object) -> str:
    """The refusal the page shows (the redirect's ``error``), with the field it names."""
    query = parse_qs(urlsplit(response.headers["location"]).query)  # type: ignore[attr-defined]
    assert "error" in query, query
    return f"{query['error'][0]} [{query.get('field', [''])[0]}]"


def test_bad_counter_input_is_refused_and_changes_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    area = make_area(db)
    clerk = make_user(db, "counter_clerk", post_office_id=area.post_office.id)
    client.cookies.set(
        "hoso_session", issue_token(db, settings, clerk, now=datetime.now(UTC)).token
    )
    created = book_walk_in(db, settings, clerk, booking_input(area, window_start=None),
                           now=datetime.now(UTC))  # fmt: skip
    code = created.item_code
    events = db.scalar(select(func.count()).select_from(CustodyEvent))
    case_url = f"/counter/cases/{created.case.id}"

    # A row count that is not a number, an amount that is not đồng, no signature.
    for form, words in (
        ({"documents": "abc", "seal_number": "S", "citizen_signature": SIGNED,
          "clerk_signature": SIGNED, "fees_collected_vnd": "0"}, "[details.checklist]"),
        ({"documents": "1", "name_0": "Tờ khai", "form_0": "original", "present_0": "on",
          "seal_number": "S", "citizen_signature": SIGNED, "clerk_signature": SIGNED,
          "fees_collected_vnd": "12,5 nghìn"}, "[fees_collected_vnd]"),
        ({"documents": "1", "name_0": "Tờ khai", "form_0": "original", "present_0": "on",
          "seal_number": "S", "fees_collected_vnd": "0"}, "[citizen_signature]"),
    ):  # fmt: skip
        answer = client.post(f"{case_url}/receive", data=form, follow_redirects=False)
        assert answer.status_code == 303 and words in _error(answer), form
    # A ticket number that is not one, or was never taken; a bag for a place that does not exist.
    assert "Nhập số" in _error(client.post("/counter/queue/call", data={"number": "abc"},
                                           follow_redirects=False))  # fmt: skip
    assert "9999" in _error(client.post("/counter/queue/call", data={"number": "9999"},
                                        follow_redirects=False))  # fmt: skip
    assert client.post("/q/999999999", follow_redirects=False).status_code == 404
    assert client.get("/q/1/99999").status_code == 404
    bag = client.post("/counter/bags", follow_redirects=False).headers["location"]
    nowhere = {"seal_number": "T-1", "destination_post_office_id": "999999"}
    refused = client.post(f"{bag}/seal", data=nowhere, follow_redirects=False)
    assert "bưu cục" in _error(refused)
    assert "Niêm phong túi" in _error(client.post(f"{bag}/depart", follow_redirects=False))
    # Another post office's case is not opened here.
    other = make_user(db, "counter_clerk", post_office_id=make_area(db).post_office.id)
    client.cookies.set(
        "hoso_session", issue_token(db, settings, other, now=datetime.now(UTC)).token
    )
    assert client.get(case_url).status_code == 403

    db.expire_all()
    assert db.scalar(select(func.count()).select_from(CustodyEvent)) == events
    state = db.scalar(select(ItemState).join(Item, Item.id == ItemState.item_id)
                      .where(Item.code == code))  # fmt: skip
    assert state is not None and state.status == "booked"
    assert db.scalar(select(func.count()).select_from(CounterTicket).where(
        CounterTicket.post_office_id == area.post_office.id)) == 0  # fmt: skip


def test_the_citizen_switches_to_collect_at_the_post_office_on_my(
    client: TestClient, db: Session, settings: Settings
) -> None:
    area = make_area(db)
    citizen = make_user(db, "citizen", phone="0912345678")
    created = create_booking(db, settings, citizen, booking_input(area), now=NOW)
    client.cookies.set("hoso_session", issue_token(db, settings, citizen,
                                                   now=datetime.now(UTC)).token)  # fmt: skip
    page = client.get(f"/my/cases/{created.case.id}")
    assert "Chuyển sang nhận tại bưu cục" in page.text
    switched = client.post(f"/my/cases/{created.case.id}/result-leg",
                           data={"result_at_post_office": "1"}, follow_redirects=False)  # fmt: skip
    assert switched.status_code == 303
    db.expire_all()
    booking = db.get(Booking, created.case.booking_id)
    assert booking is not None and booking.result_at_post_office is True
    page = client.get(f"/my/cases/{created.case.id}")
    assert "Bạn tự đến nhận tại bưu cục" in page.text
    assert client.get(f"/api/v1/my/cases/{created.case.id}").json()["result_at_post_office"]
