"""The dashboard, its exports, the monthly report and the JSON API, over the hand-built day."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.admin.users import Binding
from core.counter.queue import call_number, finish_serving, take_ticket
from core.identity.models import User
from core.identity.service import issue_token
from core.settings import Settings
from core.sla.models import SlaWatermark
from core.sla.rollup import catch_up
from edge.security import SESSION_COOKIE
from tests.core.admin.helpers import staff
from tests.core.sla.helpers import DAY, at, build_day
from tests.factories import make_post_office, make_user
from vntime import VN

WEEK = {"range": "custom", "start": DAY.isoformat(), "end": (DAY + timedelta(days=6)).isoformat()}


def _as(client: TestClient, db: Session, settings: Settings, user: User) -> dict[str, str]:
    token = issue_token(db, settings, user, now=datetime.now(VN)).token
    client.cookies.set(SESSION_COOKIE, token)
    return {"Authorization": f"Bearer {token}"}


def test_supervisor_reads_the_province_and_drills_down(
    client: TestClient, db: Session, settings: Settings
) -> None:
    world = build_day(db, settings)
    boss = staff(db, "province_supervisor", Binding(province_code="24"))
    headers = _as(client, db, settings, boss)
    body = client.get("/api/v1/sla/figures", params={"level": "province", "id": "24", **WEEK},
                      headers=headers).json()  # fmt: skip
    got = {f["measure"]: (f["hits"], f["total"]) for f in body["figures"]}
    # The province holds other tests' days too: this day's own figures are its post office's.
    at_post_office = {"level": "post_office", "id": world.post_office.id, **WEEK}
    mine = client.get("/api/v1/sla/figures", headers=headers, params=at_post_office).json()
    own = {f["measure"]: (f["hits"], f["total"]) for f in mine["figures"]}
    assert own["pickup_on_time"] == (7, 10) and own["door_to_desk"] == (5, 8)
    assert mine["median_wait_minutes"] is None  # no queue ticket on the hand-built day
    assert got["pickup_on_time"][1] >= 10
    page = client.get("/sla", params={"level": "post_office", "id": world.post_office.id, **WEEK})
    assert page.status_code == 200
    assert "Lê Văn Bưu" in page.text and "70.0%" in page.text
    # A chart per measure of a post office: nine, the counter's waits, digitised, fees.
    assert page.text.count("<svg") == 12
    assert 'id="sla-queue-medians"' in page.text and 'id="measure-digitised_share"' in page.text
    en = client.get("/sla", params={"level": "province", "id": "24", **WEEK, "lang": "en"})
    assert "Service quality" in en.text and "Pickups within the booked window" in en.text


def test_refusals_name_the_field(client: TestClient, db: Session, settings: Settings) -> None:
    world = build_day(db, settings)
    desk = make_user(db, "desk_officer", office_id=world.office.id)
    headers = _as(client, db, settings, desk)
    own = client.get("/api/v1/sla/figures", params={"level": "office", "id": world.office.id},
                     headers=headers)  # fmt: skip
    assert own.status_code == 200
    other = client.get("/api/v1/sla/figures", params={"level": "province", "id": "24"},
                       headers=headers)  # fmt: skip
    assert other.status_code == 403 and other.json()["field"] == "level"
    # Each refusal reads in the caller's language, from its reason's text (edge/texts).
    assert other.json()["message"] == "Bạn không được xem số liệu của cấp hoặc đơn vị này."
    too_long = client.get("/api/v1/sla/figures", headers=headers,
                          params={"range": "custom", "start": "2020-01-01", "end": "2026-11-30",
                                  "level": "office", "id": world.office.id})  # fmt: skip
    assert too_long.status_code == 422 and too_long.json()["field"] == "end"
    assert "2526" in too_long.json()["detail"]
    assert too_long.json()["message"] == (
        "Khoảng thời gian dài nhất 1098 ngày; khoảng này 2526 ngày."
    )
    unknown = client.get("/api/v1/sla/trend", headers=headers, params={"measure": "speed"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "measure"
    assert unknown.json()["message"] == "Không có chỉ tiêu «speed»."
    english = client.get("/api/v1/sla/trend", params={"measure": "speed"},
                         headers={**headers, "Accept-Language": "en"})  # fmt: skip
    assert english.json()["message"] == "There is no measure 'speed'."
    bad_level = client.get("/api/v1/sla/figures", params={"level": "planet", "id": "1"},
                           headers=headers)  # fmt: skip
    assert bad_level.status_code == 422 and bad_level.json()["field"] == "level"
    page = client.get("/sla", params={"level": "province", "id": "24"})
    assert page.status_code == 403 and "level" in page.text


def test_exports_are_safe_and_the_monthly_report_is_a_pdf(
    client: TestClient, db: Session, settings: Settings
) -> None:
    world = build_day(db, settings)
    world.courier.full_name = '=HYPERLINK("http://evil")'
    db.flush()
    dispatcher = make_user(db, "dispatcher", post_office_id=world.post_office.id)
    _as(client, db, settings, dispatcher)
    params = {"level": "post_office", "id": world.post_office.id, **WEEK}
    csv_file = client.get("/sla/export/by_courier.csv", params=params)
    assert csv_file.status_code == 200
    text = csv_file.content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text
    xlsx = client.get("/sla/export/figures.xlsx", params=params)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert any(row[0] == "Lấy hồ sơ đúng khung giờ hẹn" and row[1:4] == [7, 10, 70.0]
               for row in values)  # fmt: skip
    # The newer measures export like the others: ten dossiers picked up, none digitised; the
    # counter's medians close the table (no ticket this day: no minutes).
    assert any(row[0] == "Hồ sơ được số hóa" and row[1:4] == [0, 10, 0.0] for row in values)
    assert ["Thời gian chờ trung vị tại quầy (phút)", None, 0, None, None, None] in values
    courier_xlsx = client.get("/sla/export/by_courier.xlsx", params=params)
    sheet = load_workbook(io.BytesIO(courier_xlsx.content)).active
    assert sheet is not None
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert client.get("/sla/export/nothing.csv", params=params).status_code == 422
    boss = staff(db, "province_supervisor", Binding(province_code="24"))
    _as(client, db, settings, boss)
    pdf = client.get("/sla/report.pdf", params={"province": "24", "month": "2026-11"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get("/sla/report.pdf", params={"province": "01", "month": "2026-11"}
                      ).status_code == 403  # fmt: skip
    assert client.get("/sla/report.pdf", params={"province": "24", "month": "11/2026"}
                      ).status_code == 422  # fmt: skip


def test_a_courier_sees_only_their_own_figures(
    client: TestClient, db: Session, settings: Settings
) -> None:
    world = build_day(db, settings)
    headers = _as(client, db, settings, world.courier)
    own = client.get("/api/v1/sla/figures", params=WEEK, headers=headers).json()
    assert own["level"] == "courier"
    figures = {f["measure"]: (f["hits"], f["total"]) for f in own["figures"]}
    assert figures["pickup_on_time"] == (7, 10)
    # A courier has no counter queue, nor the office's digitising and fees.
    assert not {"counter_wait", "digitised_share", "fees_handed_on_time"} & set(figures)
    other = make_user(db, "courier", post_office_id=world.post_office.id)
    refused = client.get("/api/v1/sla/figures", params={"level": "courier", "id": other.id},
                         headers=headers)  # fmt: skip
    assert refused.status_code == 403


def test_a_complaint_is_answered_by_the_supervisor_and_measured(
    client: TestClient, db: Session, settings: Settings
) -> None:
    world = build_day(db, settings)
    citizen_headers = _as(client, db, settings, world.citizen)
    case_id = world.cases[0].id
    # A first answered request settles the token before a refused one rolls its savepoint back.
    probe = client.get("/api/v1/my/cases", headers=citizen_headers)
    assert probe.status_code == 200, probe.text
    empty = client.post(f"/api/v1/my/cases/{case_id}/complaints", json={"text": ""},
                        headers=citizen_headers)  # fmt: skip
    assert empty.status_code == 422
    stranger = make_user(db, "citizen")
    refused = client.post(f"/api/v1/my/cases/{case_id}/complaints", json={"text": "Chậm"},
                          headers=_as(client, db, settings, stranger))  # fmt: skip
    assert refused.status_code == 404
    filed = client.post(f"/api/v1/my/cases/{case_id}/complaints",
                        json={"text": "Bưu tá đến muộn hai tiếng"},
                        headers=citizen_headers)  # fmt: skip
    assert filed.status_code == 201, filed.text
    complaint_id = filed.json()["id"]
    due = datetime.fromisoformat(filed.json()["due_at"])
    assert timedelta(days=9, hours=23) < due - datetime.now(VN) <= timedelta(days=10)
    dispatcher = make_user(db, "dispatcher", post_office_id=world.post_office.id)
    _as(client, db, settings, dispatcher)
    assert client.post(f"/sla/complaints/{complaint_id}/answer",
                       data={"answer": "x"}).status_code == 403  # fmt: skip
    boss = staff(db, "province_supervisor", Binding(province_code="24"))
    _as(client, db, settings, boss)
    page = client.get("/sla", params={"level": "province", "id": "24"})
    assert "Bưu tá đến muộn hai tiếng" in page.text
    assert client.post(f"/sla/complaints/{complaint_id}/answer",
                       data={"answer": " "}).status_code == 422  # fmt: skip
    answer = {"answer": "Đã nhắc nhở bưu tá."}
    answered = client.post(f"/sla/complaints/{complaint_id}/answer", data=answer,
                           follow_redirects=False)  # fmt: skip
    assert answered.status_code == 303
    again = client.post(f"/sla/complaints/{complaint_id}/answer", data={"answer": "Lần hai"})
    assert again.status_code == 409
    today = datetime.now(VN).date().isoformat()
    body = client.get("/api/v1/sla/figures", params={"level": "post_office",
                      "id": world.post_office.id, "range": "today"}).json()  # fmt: skip
    got = {f["measure"]: (f["hits"], f["total"]) for f in body["figures"]}
    assert got["complaint_on_time"] == (1, 1), today


def test_the_counters_waits_read_by_a_dispatcher(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """Two tickets called after 5 and 40 minutes (1 of 2 within 30), served 3 minutes."""
    post_office = make_post_office(db, name="Bưu cục Quầy API", province_code="24")
    clerk = make_user(db, "counter_clerk", post_office_id=post_office.id)
    first, second = (take_ticket(db, post_office.id, now=at(0, 8)) for _ in range(2))
    call_number(db, clerk, first.number, now=at(0, 8, 5))
    call_number(db, clerk, second.number, now=at(0, 8, 40))  # finishes the first at 08:40
    finish_serving(db, clerk, now=at(0, 8, 43))
    # Committed tests moved the tickets' time marks to today; this day is in the past.
    db.execute(delete(SlaWatermark).where(SlaWatermark.name.startswith("tickets_")))
    catch_up(db, settings, now=at(0, 10))
    headers = _as(client, db, settings,
                  make_user(db, "dispatcher", post_office_id=post_office.id))  # fmt: skip
    got = client.get("/api/v1/sla/figures", headers=headers, params=WEEK).json()
    figures = {f["measure"]: (f["hits"], f["total"]) for f in got["figures"]}
    assert figures["counter_wait"] == (1, 2)
    # Waits 5 and 40 → the lower median 5; served 35 (the first) and 3 → 3.
    assert (got["median_wait_minutes"], got["median_serve_minutes"]) == (5, 3)
    page = client.get("/sla", params=WEEK)
    assert "trung vị: chờ" in page.text and "5 phút" in page.text
