"""The citizens' pages without JavaScript: plain form posts, errors beside their fields."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.cases.models import Case
from tests.api.citizen_helpers import at_now, fresh_phone
from tests.core.booking.helpers import (
    CCCD_FEMALE_1990,
    FIRST_WINDOW,
    Area,
    make_area,
)
from tests.factories import sent_code


def _sign_in_by_page(client: TestClient, db: Session) -> str:
    phone = fresh_phone()
    # A redirected request rolls the test session back to its last commit: keep the setup.
    db.commit()
    page = client.get("/book", follow_redirects=True)
    assert "Đăng nhập bằng số điện thoại" in page.text
    bad = client.post("/citizen/sign-in", data={"phone": "123", "stage": "phone", "next": "/book"})
    assert bad.status_code == 422 and 'id="err-phone"' in bad.text
    sent = client.post("/citizen/sign-in", data={"phone": phone, "stage": "phone", "next": "/book"})
    assert 'name="code"' in sent.text
    short = {"phone": phone, "stage": "code", "code": "12345", "next": "/book"}
    wrong = client.post("/citizen/sign-in", data=short)
    assert wrong.status_code == 422 and 'id="err-code"' in wrong.text
    done = client.post(
        "/citizen/sign-in",
        data={"phone": phone, "stage": "code", "code": sent_code(db, phone), "next": "/book"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/book"
    return phone


def _details(area: Area, **overrides: str) -> dict[str, str]:
    form = {
        "stage": "details", "service_option": "both", "procedure_id": str(area.procedure.id),
        "address": "12 Le Ngo Cat, P. Thuy Xuan, Hue", "lat": "", "lon": "", "gps_accuracy_m": "",
        "commune_code": area.commune.code, "office_id": str(area.office.id),
        "pickup_window_start": FIRST_WINDOW.isoformat(), "weight_g": "100",
        "contact_name": "Trần Thị Hoa", "contact_phone": "0912345678", "cccd": CCCD_FEMALE_1990,
        "citizen_sex": "female", "citizen_birth_year": "1990", "payment_method": "cash",
    }  # fmt: skip
    form.update(overrides)
    return form


def test_booking_without_javascript_in_three_steps(client: TestClient, db: Session) -> None:
    at_now(client)
    area = make_area(db)
    _sign_in_by_page(client, db)
    search = client.get("/book", params={"q": f"ly lich {area.procedure.agency.split()[-1]}"})
    assert f'value="{area.procedure.id}"' in search.text

    step1 = client.post("/book", data={"stage": "address", "service_option": "both",
                                       "procedure_id": str(area.procedure.id),
                                       "address": "12 Le Ngo Cat, P. Thuy Xuan, Hue"})  # fmt: skip
    assert step1.status_code == 200, step1.text
    assert "Phường Thủy Xuân, Thành phố Huế" in step1.text  # shown back, with diacritics
    assert "Tờ khai" in step1.text and "bản chính" in step1.text  # documents to prepare
    assert FIRST_WINDOW.isoformat() in step1.text  # offered windows

    before = db.scalar(select(func.count()).select_from(Case))
    wrong = client.post("/book", data=_details(area, cccd="001085067890", contact_phone="12"))
    assert wrong.status_code == 422
    assert 'id="err-cccd"' in wrong.text and 'id="err-contact_phone"' in wrong.text
    assert 'id="err-contact_name"' not in wrong.text
    assert db.scalar(select(func.count()).select_from(Case)) == before

    review = client.post("/book", data=_details(area))
    assert review.status_code == 200 and 'id="quote-total"' in review.text
    assert "26.000 ₫" in review.text and "52.000 ₫" in review.text
    # No channel named in the form: the citizen's saved one (SMS, the default) is shown.
    assert '<dd id="review-channel">Tin nhắn SMS</dd>' in review.text
    confirmed = client.post("/book", data=_details(area, stage="confirm"), follow_redirects=False)
    assert confirmed.status_code == 303
    page = client.get(confirmed.headers["location"])
    assert 'id="booked-ok"' in page.text
    item = re.search(r'id="item-id">([A-Z]{2}(?: \d{3}){3} [A-Z]{2})<', page.text)
    assert item is not None
    code = item.group(1).replace(" ", "")
    assert client.get(f"/t/{code}/barcode.svg").headers["content-type"].startswith("image/svg")
    tracking = client.get(f"/t/{code}")
    assert "Đã đặt lịch lấy hồ sơ" in tracking.text and "0912345678" not in tracking.text
    assert "09******78" in tracking.text and 'id="expected-window"' in tracking.text

    case_id = int(confirmed.headers["location"].split("/")[3].split("?")[0])
    cancelled = client.post(f"/my/cases/{case_id}/cancel", follow_redirects=True)
    assert 'id="cancelled-note"' in cancelled.text


def test_an_old_address_is_converted_and_shown_back(client: TestClient, db: Session) -> None:
    at_now(client)
    area = make_area(db, "19789")
    _sign_in_by_page(client, db)
    old = "5 Lê Lợi, P. Vĩnh Ninh, TP Huế, Thừa Thiên Huế"
    form = {"stage": "address", "service_option": "send", "procedure_id": str(area.procedure.id),
            "address": old}  # fmt: skip
    step1 = client.post("/book", data=form)
    assert 'id="legacy-note"' in step1.text
    assert "5 Lê Lợi, Phường Thuận Hóa, Thành phố Huế" in step1.text


def test_first_step_errors_are_beside_their_fields(client: TestClient, db: Session) -> None:
    at_now(client)
    _sign_in_by_page(client, db)
    page = client.post("/book", data={"stage": "address", "service_option": "",
                                      "procedure_id": "", "address": "abc"})  # fmt: skip
    assert page.status_code == 422
    for field in ("service_option", "procedure_id", "address"):
        assert f'id="err-{field}"' in page.text


def test_another_citizens_case_page_is_not_found(client: TestClient, db: Session) -> None:
    at_now(client)
    area = make_area(db)
    _sign_in_by_page(client, db)
    client.post("/book", data=_details(area, stage="confirm"))
    case_id = db.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
    client.cookies.clear()
    _sign_in_by_page(client, db)
    assert client.get(f"/my/cases/{case_id}").status_code == 404
    moved = {"pickup_window_start": FIRST_WINDOW.isoformat()}
    for action, form in (("cancel", {}), ("rating", {"stars": "5"}), ("reschedule", moved)):
        assert client.post(f"/my/cases/{case_id}/{action}", data=form).status_code == 404
    assert client.get(f"/api/v1/my/cases/{case_id}/quote.pdf").status_code == 404
    assert f"#{case_id}" not in client.get("/my").text


def test_the_channel_is_chosen_on_the_form_and_changed_on_my_page(
    client: TestClient, db: Session
) -> None:
    at_now(client)
    area = make_area(db)
    _sign_in_by_page(client, db)
    first = client.get("/book")
    assert 'id="notify-channel"' not in first.text  # asked on the details step
    step2 = client.post("/book", data=_details(area, stage="edit"))
    assert 'name="notify_channel" value="sms" checked' in step2.text

    no_address = client.post("/book", data=_details(area, notify_channel="email"))
    assert no_address.status_code == 422 and 'id="err-email"' in no_address.text
    assert "Nhập địa chỉ email để nhận thông báo qua email." in no_address.text
    review = client.post("/book", data=_details(area, notify_channel="email",
                                                email="Hoa.Tran@Example.vn"))  # fmt: skip
    assert review.status_code == 200
    assert re.search(r'id="review-channel">Thư điện tử \(email\) \(hoa.tran@example.vn\)<',
                     review.text)  # fmt: skip
    confirmed = client.post("/book", data=_details(area, stage="confirm", notify_channel="email",
                                                   email="Hoa.Tran@Example.vn"),
                            follow_redirects=False)  # fmt: skip
    assert confirmed.status_code == 303
    mine = client.get("/my")
    assert 'name="notify_channel" value="email" checked' in mine.text
    assert 'value="hoa.tran@example.vn"' in mine.text

    refused = client.post("/my/channel", data={"notify_channel": "email", "email": "hoa@"})
    assert refused.status_code == 422 and 'id="err-email"' in refused.text
    changed = client.post("/my/channel", data={"notify_channel": "zalo", "email": ""},
                          follow_redirects=True)  # fmt: skip
    assert 'name="notify_channel" value="zalo" checked' in changed.text
    assert "Đã lưu cách nhận thông báo." in changed.text
