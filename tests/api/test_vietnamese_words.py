"""Words a person reads are Vietnamese first: JSON errors add ``message`` in the asked language
(``detail`` stays English for tools), the courier's scan answers say why in Vietnamese, the
desk and the booking form show catalogue texts, never an English server sentence."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.identity.service import issue_token
from core.settings import Settings
from labels.s10 import make_item_id
from tests.api.citizen_helpers import at_now
from tests.api.test_citizen_pages import _sign_in_by_page
from tests.core.booking.helpers import make_area
from tests.factories import make_case, make_office, make_user
from tests.journey import pick_up
from tests.mobile_api.helpers import event, scans, signed_in


def test_json_errors_keep_their_shape_and_add_the_message_in_the_asked_language(
    client: TestClient,
) -> None:
    vi = client.get("/api/v1/tracking/DH000001112VN")
    assert vi.status_code == 422
    body = vi.json()
    assert body["error"] == "invalid_input" and body["field"] == "item_id"
    assert body["detail"] == "check digit should be 1, got 2 in DH000001112VN"  # unchanged
    assert body["message"] == "Sai số kiểm tra trong mã DH000001112VN: quét hoặc nhập lại."
    en = client.get("/api/v1/tracking/DH000001112VN", headers={"Accept-Language": "en-GB"})
    assert en.json()["message"] == "Wrong check digit in DH000001112VN: scan or type it again."
    asked = client.get("/api/v1/tracking/DH000001112VN?lang=vi", headers={"Accept-Language": "en"})
    assert asked.json()["message"].startswith("Sai số kiểm tra")
    unknown = make_item_id("DH", 99_999_992)
    missing = client.get(f"/api/v1/tracking/{unknown}")
    assert missing.status_code == 404 and missing.json()["message"] == (
        f"Không tìm thấy bưu gửi {unknown}."
    )
    # A schema refusal (pydantic's English) names the field in Vietnamese.
    schema = client.post("/api/v1/addresses/parse", json={})
    assert schema.status_code == 422 and schema.json()["message"] == (
        "Giá trị của trường “text” chưa hợp lệ."
    )
    # Signing in: wrong password, in both languages, still 401 with its shape.
    wrong = client.post(
        "/mobile/v1/auth/login",
        json={
            "username": "nobody-here",
            "password": "wrong password",
            "device": {"install_id": "install-words-1", "name": "p", "platform": "android"},
        },
    )
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Sai tên đăng nhập hoặc mật khẩu."


def test_the_couriers_scan_answers_say_why_in_vietnamese(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    unknown = make_item_id("DH", 99_999_993)
    answer = scans(client, headers, event("out_for_delivery", unknown))["results"][0]
    assert answer["outcome"] == "rejected" and answer["reason_code"] == "unknown_item"
    assert answer["message"] == f"Không tìm thấy bưu gửi {unknown}."
    assert answer["detail"] == f"no item {unknown}" and "params" not in answer
    # An item in the wrong state: the refusal names the action and the status in Vietnamese.
    code = pick_up(db, make_case(db, settings), courier)
    kept = scans(client, headers, event("out_for_delivery", code))["results"][0]
    assert kept["outcome"] in ("rejected", "exception"), kept
    assert "“Bắt đầu phát”" in kept["message"] or "Bắt đầu phát" in kept["message"], kept
    assert "is not allowed" not in kept["message"]
    english = client.post(
        "/mobile/v1/scans",
        json={"events": [event("out_for_delivery", unknown)]},
        headers={**headers, "Accept-Language": "en"},
    )
    assert english.json()["results"][0]["message"] == f"No item {unknown}."


def test_the_desk_reads_refusals_in_vietnamese_naming_the_other_office(
    client: TestClient, db: Session, settings: Settings
) -> None:
    owner = make_office(db, name_vi="TTPVHCC phường Kinh Bắc")
    code = pick_up(db, make_case(db, settings, office=owner), make_user(db, "courier"))
    stranger = make_user(db, "desk_officer")  # bound to another office
    db.commit()
    token = issue_token(db, settings, stranger, now=datetime.now(UTC)).token
    client.cookies.set("hoso_session", token)
    found = client.post("/desk/find", data={"code": code})
    assert "Hồ sơ này thuộc TTPVHCC phường Kinh Bắc, không thuộc bộ phận của bạn." in found.text
    assert "another office" not in found.text
    bad = client.post("/desk/find", data={"code": "DH000001112VN"})
    assert "Sai số kiểm tra trong mã DH000001112VN" in bad.text
    english = client.post("/desk/find?lang=en", data={"code": code}, follow_redirects=False)
    assert (
        "TTPVHCC" in english.headers["location"]
        and "not+to+your+office" in (english.headers["location"])
    )


def test_the_booking_address_error_is_vietnamese_only(client: TestClient, db: Session) -> None:
    at_now(client)
    area = make_area(db)
    _sign_in_by_page(client, db)
    page = client.post(
        "/book",
        data={
            "stage": "address",
            "service_option": "both",
            "procedure_id": str(area.procedure.id),
            "address": "nhà bà Tư gần chợ",
        },
    )
    assert page.status_code == 422
    assert "Không nhận ra" in page.text and "“nhà bà Tư gần chợ”" in page.text
    assert "not recognised" not in page.text
    english = client.post(
        "/book?lang=en",
        data={
            "stage": "address",
            "service_option": "both",
            "procedure_id": str(area.procedure.id),
            "address": "nhà bà Tư gần chợ",
        },
    )
    assert "was not recognised" in english.text and "Không nhận ra" not in english.text
