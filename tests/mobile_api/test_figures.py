"""A courier's own figures on the phone (GET /mobile/v1/figures): the dashboard's measures,
the dashboard's authorisation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.settings import Settings
from tests.core.sla.helpers import todays_courier_work
from tests.factories import make_post_office, make_user
from tests.mobile_api.helpers import bearer, login
from vntime import VN


def _now_with_room() -> datetime:
    now = datetime.now(VN)
    if (now - timedelta(minutes=45)).date() != now.date():
        pytest.skip("the hand-built work needs the 45 minutes before now to be today in Vietnam")
    return now


def _rates(body: dict[str, object]) -> dict[str, tuple[int, int]]:
    figures = body["figures"]
    assert isinstance(figures, list)
    return {f["measure"]: (f["hits"], f["total"]) for f in figures}


def test_a_courier_reads_their_own_figures_for_today_and_the_week(
    client: TestClient, db: Session, settings: Settings
) -> None:
    work = todays_courier_work(db, settings, now=_now_with_room())
    headers = bearer(login(client, work.courier)["token"])
    for range_name in ("today", "week"):
        response = client.get(f"/mobile/v1/figures?range={range_name}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["courier_id"] == work.courier.id and body["range"] == range_name
        rates = _rates(body)
        assert rates["pickup_on_time"] == (3, 4)
        assert rates["first_attempt"] == (1, 2)
        assert rates["satisfaction"] == (1, 1)
        assert rates["rating_response"] == (1, 2)
    labels = {f["measure"]: f["label"] for f in body["figures"]}
    assert labels["pickup_on_time"] == "Lấy hồ sơ đúng khung giờ hẹn"
    english = client.get("/mobile/v1/figures", headers={**headers, "Accept-Language": "en"})
    assert {f["measure"]: f["label"] for f in english.json()["figures"]}["pickup_on_time"] == (
        "Pickups within the booked window"
    )
    # The colleague's late pickup is the colleague's alone.
    colleague = bearer(login(client, work.colleague)["token"])
    assert _rates(client.get("/mobile/v1/figures", headers=colleague).json())["pickup_on_time"] == (
        0,
        1,
    )


def test_another_couriers_figures_are_refused_but_their_dispatcher_reads_them(
    client: TestClient, db: Session, settings: Settings
) -> None:
    work = todays_courier_work(db, settings, now=_now_with_room())
    colleague = bearer(login(client, work.colleague)["token"])
    refused = client.get(f"/mobile/v1/figures?courier_id={work.courier.id}", headers=colleague)
    assert refused.status_code == 403
    assert refused.json()["field"] == "id"
    assert refused.json()["message"] == "Bạn không được xem số liệu của cấp hoặc đơn vị này."
    dispatcher = bearer(login(client, work.dispatcher)["token"])
    read = client.get(f"/mobile/v1/figures?courier_id={work.courier.id}", headers=dispatcher)
    assert read.status_code == 200
    assert _rates(read.json())["pickup_on_time"] == (3, 4)
    # Another post office's dispatcher may not.
    stranger = make_user(db, "dispatcher", post_office_id=make_post_office(db).id)
    other = client.get(f"/mobile/v1/figures?courier_id={work.courier.id}",
                       headers=bearer(login(client, stranger)["token"]))  # fmt: skip
    assert other.status_code == 403


def test_bad_input_is_refused_naming_the_field(client: TestClient, db: Session) -> None:
    courier = make_user(db, "courier")
    headers = bearer(login(client, courier)["token"])
    month = client.get("/mobile/v1/figures?range=month", headers=headers)
    assert month.status_code == 422
    assert month.json()["field"] == "range"
    assert "hôm nay hoặc tuần này" in month.json()["message"]
    unknown = client.get("/mobile/v1/figures?courier_id=987654321", headers=headers)
    assert unknown.status_code == 404 and unknown.json()["field"] == "id"
