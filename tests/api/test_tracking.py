from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.cases.models import Booking
from core.cases.service import register_result
from core.custody.service import record_one
from core.identity.service import actor_for
from core.settings import Settings
from labels.s10 import format_item_id, make_item_id
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of, make_case, make_user
from vntime import VN


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    spec = client.get("/openapi.json").json()
    assert "/api/v1/tracking/{item_id}" in spec["paths"]


def test_tracking_shows_status_and_timeline_with_personal_data_masked(
    client: TestClient, db: Session, settings: Settings
) -> None:
    case = make_case(db, settings, contact_name="Trần Thị Hoa", contact_phone="0912345678")
    item = dossier_of(db, case)
    courier = make_user(db, "courier", full_name="Lê Văn Bưu")
    record_one(db, actor_for(courier), scan("picked_up", item.code, details=PICKUP_DETAILS))

    # Spaces and lower case as people type them from the label.
    response = client.get(f"/api/v1/tracking/{format_item_id(item.code).lower()}")
    assert response.status_code == 200
    body = response.json()
    assert body["item_id"] == item.code
    assert (body["status"], body["status_vi"]) == ("picked_up", "Bưu tá đã nhận hồ sơ")
    assert [e["kind"] for e in body["timeline"]] == ["booked", "picked_up"]
    assert body["timeline"][1]["upu_code"] == "EMA"
    assert body["contact_phone_masked"] == "09******78"
    text = response.text
    for secret in ("Trần Thị Hoa", "0912345678", "Lê Văn Bưu", "Nguyễn Gia Thiều", "SEAL-001"):
        assert secret not in text


def test_malformed_id_is_422_naming_the_problem(client: TestClient) -> None:
    response = client.get("/api/v1/tracking/DH12")
    assert response.status_code == 422
    assert response.json()["field"] == "item_id"
    assert "13 characters" in response.json()["detail"]


def test_wrong_check_digit_is_422(client: TestClient) -> None:
    good = make_item_id("DH", 12345678)
    bad = good[:10] + str((int(good[10]) + 1) % 10) + "VN"
    response = client.get(f"/api/v1/tracking/{bad}")
    assert response.status_code == 422
    assert "check digit should be" in response.json()["detail"]


def test_unknown_valid_id_is_404(client: TestClient) -> None:
    response = client.get(f"/api/v1/tracking/{make_item_id('DH', 99999998)}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_tracking_a_result_shows_both_legs_in_journey_order(
    client: TestClient, db: Session, settings: Settings
) -> None:
    case = make_case(db, settings)
    booking = db.get(Booking, case.booking_id)
    assert booking is not None
    desk = make_user(db, "desk_officer", office_id=booking.office_id)
    result = register_result(db, settings, actor_for(desk), case, now=datetime.now(VN))
    body = client.get(f"/api/v1/tracking/{result.code}").json()
    assert body["status_vi"] == "Kết quả đã có tại bộ phận một cửa"
    assert [(leg["kind"], leg["status"]) for leg in body["legs"]] == [
        ("dossier", "booked"),
        ("result", "result_registered"),
    ]
    assert body["office_name"] and body["area_vi"] == "Phường Kinh Bắc, Tỉnh Bắc Ninh"


def test_the_label_qr_and_the_home_form_lead_to_tracking(
    client: TestClient, db: Session, settings: Settings
) -> None:
    item = dossier_of(db, make_case(db, settings))
    response = client.get(f"/t?id={format_item_id(item.code)}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/t/{item.code}"
    page = client.get(f"/t/{item.code}")
    assert page.status_code == 200 and "Đã đặt lịch lấy hồ sơ" in page.text
    assert client.get("/t/DH12").status_code == 422


def test_a_missing_parameter_is_422_naming_it(client: TestClient) -> None:
    response = client.get("/t")
    assert response.status_code == 422
    body = response.json()
    assert (body["error"], body["field"]) == ("invalid_input", "id")
    assert body["detail"].startswith("id: ")


def test_tracking_answers_for_an_item_whose_ledger_names_a_party_that_cannot_exist(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """Before receivers were checked, a hand-off to office:99999999999999999999 could be
    written to the append-only ledger; tracking that item answered 500 for good (D5)."""
    courier = actor_for(make_user(db, "courier"))
    for receiver in ("office:99999999999999999999", "post_office:999999"):
        item = dossier_of(db, make_case(db, settings))
        record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
        record_one(db, courier, scan("handover_offered", item.code, to_party=receiver))

        response = client.get(f"/api/v1/tracking/{item.code}")
        assert response.status_code == 200, response.text
        assert response.json()["timeline"][-1]["kind"] == "handover_offered"
        page = client.get(f"/t/{item.code}")
        assert page.status_code == 200
        assert item.code in page.text
