"""The citizens' JSON API: sign-in, the booking form's look-ups, bookings and own cases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.custody.models import CustodyEvent
from core.otp.models import OtpChallenge
from core.otp.service import PER_IP_PER_HOUR
from core.outbox.models import OutboxMessage
from core.settings import Settings
from labels.vietqr import parse_vietqr
from tests.api.citizen_helpers import at_now, fresh_phone, sign_in
from tests.core.booking.helpers import (
    ADDRESS,
    CCCD_FEMALE_1990,
    FIRST_WINDOW,
    Area,
    make_area,
    next_window,
)
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import make_user, sent_code


def _body(area: Area, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_option": "both",
        "procedure_id": area.procedure.id,
        "address": ADDRESS,
        "office_id": area.office.id,
        "pickup_window_start": FIRST_WINDOW.isoformat(),
        "contact_name": "Trần Thị Hoa",
        "contact_phone": "0912345678",
        "cccd": CCCD_FEMALE_1990,
        "citizen_sex": "female",
        "citizen_birth_year": 1990,
        "payment_method": "vietqr",
        "pay_fee_on_behalf": True,
    }
    body.update(overrides)
    return body


def _counts(db: Session) -> tuple[int, int, int]:
    return (
        db.scalar(select(func.count()).select_from(Case)) or 0,
        db.scalar(select(func.count()).select_from(CustodyEvent)) or 0,
        db.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
    )


# -- sign-in ------------------------------------------------------------------------------


def test_sign_in_by_code_sets_a_session_and_counts_wrong_guesses(
    client: TestClient, db: Session
) -> None:
    at_now(client)
    phone = fresh_phone()
    sent = client.post("/api/v1/citizen/sign-in/code", json={"phone": "+84 " + phone[1:]})
    assert sent.status_code == 202 and sent.json()["phone"] == phone
    wrong = client.post("/api/v1/citizen/sign-in", json={"phone": phone, "code": "000000"})
    if wrong.status_code == 200:  # one chance in a million that 000000 was the code
        pytest.skip("the random code was 000000")
    assert wrong.status_code == 401 and wrong.json()["field"] == "code"
    # The wrong guess was committed, not rolled back with the error.
    attempts = db.scalar(select(OtpChallenge.attempts).where(OtpChallenge.phone == phone))
    assert attempts == 1
    assert client.get("/api/v1/my/cases").status_code == 401

    ok = client.post("/api/v1/citizen/sign-in", json={"phone": phone, "code": sent_code(db, phone)})
    assert ok.status_code == 200
    assert "hoso_session" in ok.cookies
    assert client.get("/api/v1/my/cases").json() == []
    headers = {"Authorization": f"Bearer {ok.json()['token']}"}
    client.cookies.clear()
    assert client.get("/api/v1/my/cases", headers=headers).status_code == 200


def test_codes_are_rate_limited_per_phone_and_per_ip(client: TestClient) -> None:
    at_now(client)
    phone = fresh_phone()
    assert client.post("/api/v1/citizen/sign-in/code", json={"phone": phone}).status_code == 202
    again = client.post("/api/v1/citizen/sign-in/code", json={"phone": phone})
    assert again.status_code == 429 and again.json()["field"] == "phone"
    for _ in range(PER_IP_PER_HOUR - 1):
        response = client.post("/api/v1/citizen/sign-in/code", json={"phone": fresh_phone()})
        assert response.status_code == 202
    blocked = client.post("/api/v1/citizen/sign-in/code", json={"phone": fresh_phone()})
    assert blocked.status_code == 429 and "address" in blocked.json()["detail"]


@pytest.mark.parametrize("phone", ["12345", "0212345678", "abc", ""])
def test_a_bad_phone_is_422_naming_it(client: TestClient, phone: str) -> None:
    response = client.post("/api/v1/citizen/sign-in/code", json={"phone": phone})
    assert response.status_code == 422 and response.json()["field"] == "phone"


def test_staff_cannot_use_the_citizen_endpoints(
    client: TestClient, db: Session, settings: Settings
) -> None:
    from core.identity.service import issue_token

    courier = make_user(db, "courier")
    token = issue_token(db, settings, courier, now=FIRST_WINDOW - timedelta(hours=1)).token
    at_now(client)
    response = client.get("/api/v1/my/cases", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


# -- look-ups -------------------------------------------------------------------------------


def test_form_lookups(client: TestClient, db: Session) -> None:
    at_now(client)
    area = make_area(db)
    own_word = area.procedure.agency.split()[-1]
    found = client.get("/api/v1/procedures", params={"q": f"ly lich tu phap {own_word}"}).json()
    assert area.procedure.id in [p["id"] for p in found]
    documents = next(p for p in found if p["id"] == area.procedure.id)["documents"]
    assert documents[0]["form"] == "original"

    old = "5 Lê Lợi, P. Vĩnh Ninh, TP Huế, Thừa Thiên Huế"
    parsed = client.post("/api/v1/addresses/parse", json={"text": old}).json()
    assert (parsed["commune_code"], parsed["was_legacy"]) == ("19789", True)
    assert parsed["display"] == "5 Lê Lợi, Phường Thuận Hóa, Thành phố Huế"
    assert parsed["legacy_text"]

    offices = client.get("/api/v1/offices", params={"commune_code": area.commune.code}).json()
    assert offices[0]["id"] == area.office.id and offices[0]["suggested"]

    day = {"commune_code": area.commune.code, "day": "2026-11-23"}
    windows = client.get("/api/v1/windows", params=day).json()
    assert [w["start"][11:16] for w in windows] == ["08:00", "10:00", "13:30", "15:30"]

    quote = client.post("/api/v1/quotes", json={
        "service_option": "both", "procedure_id": area.procedure.id,
        "commune_code": area.commune.code, "office_id": area.office.id,
        "pay_fee_on_behalf": True,
    }).json()  # fmt: skip
    assert quote["zone"] == "same_commune"
    assert [line["code"] for line in quote["lines"]] == [
        "postage_dossier", "postage_result", "admin_fee", "fee_transfer"]  # fmt: skip
    assert quote["total_vnd"] == 26_000 * 2 + 200_000 + 8_000


def test_unrecognised_address_is_422_naming_address(client: TestClient) -> None:
    response = client.post("/api/v1/addresses/parse", json={"text": "Xã Không Tồn Tại, Tỉnh Mơ"})
    assert response.status_code == 422 and response.json()["field"] == "address"


# -- bookings -------------------------------------------------------------------------------


def test_book_then_read_receipt_and_payment_qr(client: TestClient, db: Session) -> None:
    at_now(client)
    area = make_area(db)
    sign_in(client, db)
    response = client.post("/api/v1/bookings", json=_body(area))
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["status"] == "booked" and case["can_cancel"] and not case["can_rate"]
    item = case["legs"][0]["item_id"]
    assert case["tracking_url"].endswith(f"/t/{item}")
    qr = parse_vietqr(case["payment"]["vietqr_payload"])
    assert qr.amount == case["payment"]["amount_vnd"] == 260_000
    assert qr.purpose == f"HOSO {item}"
    pdf = client.get(f"/api/v1/my/cases/{case['case_id']}/quote.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    png = client.get(f"/api/v1/my/cases/{case['case_id']}/payment-qr.png")
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    listed = client.get("/api/v1/my/cases").json()
    assert [c["case_id"] for c in listed] == [case["case_id"]]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"service_option": "fax"}, "service_option"),
        ({"procedure_id": 0}, "procedure_id"),
        ({"procedure_id": "abc"}, "procedure_id"),
        ({"address": "Phường Không Có, Tỉnh Không Có"}, "address"),
        ({"commune_code": "00070"}, "commune_code"),
        ({"office_id": 0}, "office_id"),
        ({"lat": 21.0, "lon": 105.8}, "lat"),
        ({"pickup_window_start": "2026-11-23T08:30:00+07:00"}, "pickup_window"),
        ({"pickup_window_start": "not a time"}, "pickup_window_start"),
        ({"contact_name": ""}, "contact_name"),
        ({"contact_phone": "0212345678"}, "contact_phone"),
        ({"cccd": "12345"}, "cccd"),
        ({"cccd": "001085067890"}, "cccd"),  # a man's number, sex given as female
        ({"citizen_sex": "other"}, "citizen_sex"),
        ({"citizen_birth_year": 1850}, "citizen_birth_year"),
        ({"payment_method": "cheque"}, "payment_method"),
        ({"weight_g": 9000}, "weight_g"),
        ({"service_option": "receive", "receive_reference": "12/TNHS"}, "pay_fee_on_behalf"),
        ({"notify_channel": "fax"}, "notify_channel"),
        ({"notify_channel": "email"}, "email"),
        ({"notify_channel": "email", "email": "hoa at example.vn"}, "email"),
        ({"notify_channel": "sms", "email": "hoa@example"}, "email"),
    ],
)
def test_every_invalid_field_is_422_naming_it_and_creates_nothing(
    client: TestClient, db: Session, overrides: dict[str, Any], field: str
) -> None:
    at_now(client)
    area = make_area(db)
    sign_in(client, db)
    before = _counts(db)
    response = client.post("/api/v1/bookings", json=_body(area, **overrides))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert _counts(db) == before


def test_booking_needs_a_signed_in_citizen(client: TestClient, db: Session) -> None:
    at_now(client)
    area = make_area(db)
    response = client.post("/api/v1/bookings", json=_body(area))
    assert response.status_code == 401 and response.json()["field"] == "authorization"


def test_cancel_reschedule_and_rating_through_the_api(
    client: TestClient, db: Session, settings: Settings
) -> None:
    at_now(client)
    area = make_area(db)
    sign_in(client, db)
    case_id = client.post("/api/v1/bookings", json=_body(area)).json()["case_id"]
    later = next_window(FIRST_WINDOW, 1).isoformat()
    moved = client.post(f"/api/v1/my/cases/{case_id}/reschedule",
                        json={"pickup_window_start": later})  # fmt: skip
    assert moved.status_code == 200 and moved.json()["pickup_window_start"][11:16] == "10:00"
    early = client.post(f"/api/v1/my/cases/{case_id}/rating", json={"stars": 5})
    assert early.status_code == 409
    bad = client.post(f"/api/v1/my/cases/{case_id}/rating", json={"stars": 9})
    assert bad.status_code == 422 and bad.json()["field"] == "stars"
    cancelled = client.post(f"/api/v1/my/cases/{case_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"/api/v1/my/cases/{case_id}/cancel").status_code == 409


# -- one citizen cannot reach another's case ----------------------------------------------------

TEN_O_CLOCK = "2026-11-23T10:00:00+07:00"
OWN_CASE_ENDPOINTS = [
    ("get", "/api/v1/my/cases/{id}", None),
    ("post", "/api/v1/my/cases/{id}/cancel", None),
    ("post", "/api/v1/my/cases/{id}/reschedule", {"pickup_window_start": TEN_O_CLOCK}),
    ("post", "/api/v1/my/cases/{id}/rating", {"stars": 5, "comment": "x"}),
    ("get", "/api/v1/my/cases/{id}/quote.pdf", None),
    ("get", "/api/v1/my/cases/{id}/receipts/1.pdf", None),
    ("get", "/api/v1/my/cases/{id}/payment-qr.png", None),
]


@pytest.mark.parametrize(("method", "path", "body"), OWN_CASE_ENDPOINTS)
def test_another_citizen_is_refused_on_every_endpoint(
    client: TestClient,
    db: Session,
    settings: Settings,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    at_now(client)
    area = make_area(db)
    owner = sign_in(client, db)
    case = client.post("/api/v1/bookings", json=_body(area), headers=owner).json()
    client.cookies.clear()
    intruder = sign_in(client, db)
    client.cookies.clear()
    before = _counts(db)
    url = path.format(id=case["case_id"])
    kwargs: dict[str, Any] = {"headers": intruder}
    if body is not None:
        kwargs["json"] = body
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == 404 and response.json()["field"] == "case_id"
    assert _counts(db) == before
    # Without any session, 401; the owner still sees the case untouched.
    anonymous = getattr(client, method)(url, **({"json": body} if body else {}))
    assert anonymous.status_code == 401
    mine = client.get(f"/api/v1/my/cases/{case['case_id']}", headers=owner).json()
    assert mine["status"] == "booked" and mine["rating_stars"] is None
    assert mine["pickup_window_start"] == case["pickup_window_start"]
    their_list = client.get("/api/v1/my/cases", headers=intruder).json()
    assert their_list == []


def test_rating_after_delivery_once(client: TestClient, db: Session, settings: Settings) -> None:
    from core.cases.models import Case as CaseRow
    from core.cases.service import register_result
    from core.custody.service import record_one
    from core.identity.service import actor_for

    at_now(client)
    area = make_area(db)
    sign_in(client, db)
    case_id = client.post("/api/v1/bookings", json=_body(area)).json()["case_id"]
    case = db.get(CaseRow, case_id)
    assert case is not None
    courier = actor_for(area.couriers[0])
    desk = actor_for(make_user(db, "desk_officer", office_id=area.office.id))
    code = client.get(f"/api/v1/my/cases/{case_id}").json()["legs"][0]["item_id"]
    record_one(db, courier, scan("picked_up", code, details=PICKUP_DETAILS))
    result = register_result(db, settings, desk, case, now=FIRST_WINDOW)
    record_one(db, courier, scan("handover_offered", result.code, to_party=courier.party))
    record_one(db, desk, scan("handover_confirmed", result.code))
    record_one(db, courier, scan("out_for_delivery", result.code))
    record_one(db, courier, scan("delivered", result.code,
                                 evidence={"proof": "otp", "otp_verified": True}))  # fmt: skip
    assert client.get(f"/api/v1/my/cases/{case_id}").json()["can_rate"]
    rated = client.post(f"/api/v1/my/cases/{case_id}/rating", json={"stars": 4, "comment": "Tốt"})
    assert rated.status_code == 201 and rated.json()["stars"] == 4
    again = client.post(f"/api/v1/my/cases/{case_id}/rating", json={"stars": 5})
    assert again.status_code == 409
    assert client.get(f"/api/v1/my/cases/{case_id}").json()["rating_stars"] == 4
