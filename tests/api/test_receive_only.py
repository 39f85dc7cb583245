"""Receive only (QĐ 45/2016 option 2): the citizen filed in person, books only the return of
the result under the dossier code or slip number they hold, and the result the desk or the
agency registers under it is attached to their case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.agency.service import create_system, issue_key
from core.cases.models import Case, ReceiveRequest
from core.custody.models import CustodyEvent, Item, ItemState
from core.custody.parties import party
from core.identity.models import User
from core.identity.service import issue_token
from core.outbox.models import OutboxMessage
from core.settings import Settings
from edge.deps import get_now
from tests.agency_client import signed_post
from tests.api.citizen_helpers import at_now, sign_in
from tests.core.booking.helpers import ADDRESS, CCCD_FEMALE_1990, FIRST_WINDOW, Area, make_area
from tests.factories import make_user, unique

# Huế (46): the test area's province.
CODE = "000.00.46.H30-261120-0042"


def _body(area: Area, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_option": "receive",
        "receive_reference": CODE,
        "procedure_id": area.procedure.id,
        "address": ADDRESS,
        "office_id": area.office.id,
        "pickup_window_start": FIRST_WINDOW.isoformat(),
        "contact_name": "Trần Thị Hoa",
        "contact_phone": "0912345678",
        "cccd": CCCD_FEMALE_1990,
        "citizen_sex": "female",
        "citizen_birth_year": 1990,
        "payment_method": "cash",
    }
    body.update(overrides)
    return body


def _desk(client: TestClient, db: Session, settings: Settings, user: User) -> TestClient:
    """A second browser, the desk's, on the same app (the citizen keeps their own session)."""
    desk = TestClient(client.app, follow_redirects=False)
    desk.cookies.set("hoso_session", issue_token(db, settings, user, now=datetime.now(UTC)).token)
    return desk


def _counts(db: Session) -> tuple[int, int, int]:
    return (
        db.scalar(select(func.count()).select_from(ReceiveRequest)) or 0,
        db.scalar(select(func.count()).select_from(CustodyEvent)) or 0,
        db.scalar(select(func.count()).select_from(Item)) or 0,
    )


def test_the_booking_waits_visibly_then_the_desk_registers_the_result_on_it(
    client: TestClient, db: Session, settings: Settings
) -> None:
    at_now(client)
    area = make_area(db)
    citizen = sign_in(client, db)
    booked = client.post(
        "/api/v1/bookings", json=_body(area, receive_reference=" 000.00.46.h30-261120-0042 ")
    )
    assert booked.status_code == 201, booked.text
    case = booked.json()
    assert (case["status"], case["receive_reference"], case["legs"]) == (
        "awaiting_result", CODE, [],
    )  # fmt: skip
    # The price is the return leg's alone.
    assert [line["code"] for line in case["quote"]["lines"]] == ["postage_result"]
    sms = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert (
        sms is not None and CODE in sms.payload["text"] and "Bưu tá đến" not in sms.payload["text"]
    )
    page = client.get(f"/my/cases/{case['case_id']}")
    assert "Đang chờ bộ phận một cửa trả kết quả" in page.text and CODE in page.text

    desk = _desk(client, db, settings, make_user(db, "desk_officer", office_id=area.office.id))
    listed = desk.get("/desk/results")
    assert listed.status_code == 200
    assert CODE in listed.text.split('id="receive-waiting"')[1].split("</section>")[0]
    case_page = desk.get(f"/desk/cases/{case['case_id']}")
    # The case page's button registers under the citizen's code (it once posted nothing).
    assert f'name="code" value="{CODE}"' in case_page.text

    registered = desk.post("/desk/results", data={"code": CODE})
    assert registered.status_code == 303
    location = registered.headers["location"]
    assert "registered=" in location, location
    result_code = location.split("registered=")[1]

    after = client.get(f"/api/v1/my/cases/{case['case_id']}", headers=citizen).json()
    assert after["status"] == "result_registered"
    assert after["legs"] == [
        {"item_id": result_code, "kind": "result", "status": "result_registered"}
    ]
    assert after["agency_dossier_code"] == CODE
    item = db.scalar(select(Item).where(Item.code == result_code))
    assert item is not None and item.case_id == case["case_id"]
    state = db.get(ItemState, item.id)
    assert state is not None and state.custodian == party("office", area.office.id)
    event = db.scalar(select(CustodyEvent).where(CustodyEvent.item_id == item.id))
    assert event is not None and event.kind == "result_registered"
    # No longer waiting: the desk lists it with the results for a courier to collect.
    again = desk.get("/desk/results").text
    assert CODE not in again.split('id="receive-waiting"')[1].split("</section>")[0]
    assert result_code in again.split('id="waiting"')[1].split("</section>")[0]


def test_a_slip_number_is_matched_at_its_office_only(
    client: TestClient, db: Session, settings: Settings
) -> None:
    at_now(client)
    area = make_area(db)
    sign_in(client, db)
    slip = f"{unique('')[-4:]}/TNHS"
    case = client.post("/api/v1/bookings", json=_body(area, receive_reference=slip.lower()))
    assert case.status_code == 201, case.text
    assert case.json()["receive_reference"] == slip

    elsewhere = _desk(client, db, settings, make_user(db, "desk_officer"))
    refused = elsewhere.post("/desk/results", data={"code": slip})
    assert "error=" in refused.headers["location"]
    assert db.scalar(select(Case.result_item_id).where(Case.id == case.json()["case_id"])) is None

    desk = _desk(client, db, settings, make_user(db, "desk_officer", office_id=area.office.id))
    registered = desk.post("/desk/results", data={"code": slip})
    assert "registered=" in registered.headers["location"]
    db.expire_all()
    assert db.scalar(select(Case.result_item_id).where(Case.id == case.json()["case_id"]))
    # A slip number is no dossier code: the case keeps none.
    assert (
        db.scalar(select(Case.agency_dossier_code).where(Case.id == case.json()["case_id"])) is None
    )


def test_a_code_no_booking_has_is_refused_at_the_desk_and_changes_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    area = make_area(db)
    desk = _desk(client, db, settings, make_user(db, "desk_officer", office_id=area.office.id))
    before = _counts(db)
    answer = desk.post("/desk/results", data={"code": "000.00.46.H30-261120-0999"})
    assert answer.status_code == 303 and "error=" in answer.headers["location"]
    assert "field=code" in answer.headers["location"]
    assert _counts(db) == before


@pytest.mark.parametrize(
    "reference",
    [
        "",  # receive only needs one
        "000.00.46.H30-261399-0001",  # no 99th day of the 13th month
        "000.00.46.H30-261120",  # no sequence
        "DH000000725VN",  # a postal item ID
        "ab",  # too short for a slip number
        "số 12 / TN",  # letters no slip carries
    ],
)
def test_bad_references_are_refused_naming_the_field(
    client: TestClient, db: Session, reference: str
) -> None:
    at_now(client)
    area = make_area(db)
    sign_in(client, db)
    before = _counts(db)
    answer = client.post("/api/v1/bookings", json=_body(area, receive_reference=reference))
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "receive_reference"
    assert _counts(db) == before


def test_the_same_result_cannot_be_booked_twice_until_the_first_is_cancelled(
    client: TestClient, db: Session
) -> None:
    at_now(client)
    area = make_area(db)
    sign_in(client, db)
    first = client.post("/api/v1/bookings", json=_body(area))
    assert first.status_code == 201, first.text
    twice = client.post("/api/v1/bookings", json=_body(area))
    assert (twice.status_code, twice.json()["field"]) == (422, "receive_reference")
    cancelled = client.post(f"/api/v1/my/cases/{first.json()['case_id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post("/api/v1/bookings", json=_body(area))
    assert again.status_code == 201, again.text


def test_the_booking_page_asks_for_the_code_and_refuses_a_bad_one_in_vietnamese(
    client: TestClient, db: Session
) -> None:
    at_now(client)
    area = make_area(db)
    sign_in(client, db)
    form = client.get("/book").text
    assert 'name="receive_reference"' in form and "giấy hẹn trả kết quả" in form
    refused = client.post(
        "/book",
        data={"stage": "address", "service_option": "receive", "receive_reference": "DH000000725VN",
              "procedure_id": str(area.procedure.id), "address": ADDRESS},
    )  # fmt: skip
    assert refused.status_code == 422
    assert "Đây là mã bưu gửi, không phải mã hồ sơ" in refused.text


def test_the_agency_result_for_the_code_lands_on_the_receive_only_case(
    client: TestClient, db: Session, settings: Settings
) -> None:
    at_now(client)
    area = make_area(db)
    sign_in(client, db)
    case_id = client.post("/api/v1/bookings", json=_body(area)).json()["case_id"]
    # Signed requests are checked against the real clock, not the booking's frozen one.
    client.app.dependency_overrides.pop(get_now)  # type: ignore[attr-defined]
    system = create_system(db, code=unique("sys-"), name="Một cửa Huế",
                           kind="provincial_one_stop", province_code="46")  # fmt: skip
    key = issue_key(db, settings, system, now=datetime.now(UTC))
    # The nonce is spent in a transaction of its own; the setup must be visible to it.
    db.commit()
    other = create_system(db, code=unique("sys-"), name="Một cửa Bắc Ninh",
                          kind="provincial_one_stop", province_code="24")  # fmt: skip
    other_key = issue_key(db, settings, other, now=datetime.now(UTC))
    db.commit()

    wrong_province = signed_post(client, other_key, "/api/agency/v1/results",
                                 {"agency_dossier_code": CODE})  # fmt: skip
    assert wrong_province.status_code == 404, wrong_province.text

    ready = signed_post(client, key, "/api/agency/v1/results", {"agency_dossier_code": CODE})
    assert ready.status_code == 200, ready.text
    assert ready.json()["case_id"] == case_id and ready.json()["created"] is True
    again = signed_post(client, key, "/api/agency/v1/results", {"agency_dossier_code": CODE})
    assert again.json()["created"] is False
    assert again.json()["result_item_id"] == ready.json()["result_item_id"]
