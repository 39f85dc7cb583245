"""The dispatcher page and its JSON endpoints, inside the test's rolled-back transaction."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.custody.service import record_one
from core.dispatch.day import today_in_vietnam
from core.dispatch.live import update_day
from core.dispatch.models import RouteStop
from core.dispatch.service import plan_day
from core.identity.models import User
from core.identity.service import actor_for
from core.places.models import PostOffice
from core.settings import Settings
from edge.texts.en import TEXTS as EN_TEXTS
from edge.texts.vi import TEXTS as VI_TEXTS
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.core.dispatch.checks import saved_plan_violations
from tests.factories import dossier_of, make_case, make_office, make_post_office, make_user
from vntime import VN

PASSWORD = "correct horse battery"


def _sign_in(client: TestClient, user: User) -> None:
    response = client.post("/login", data={"username": user.username, "password": PASSWORD},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303


@pytest.fixture
def planned(db: Session, settings: Settings) -> tuple[PostOffice, User, list[User]]:
    """Tomorrow at a fresh post office: two couriers, six pickups, planned."""
    post = make_post_office(db)
    office = make_office(db)
    couriers = [
        make_user(db, "courier", post_office_id=post.id, full_name=name)
        for name in ("Hoàng Văn Em", "Vũ Thị Giang")
    ]
    dispatcher = make_user(db, "dispatcher", post_office_id=post.id, password=PASSWORD)
    day = today_in_vietnam(datetime.now(VN)) + timedelta(days=1)
    rng = random.Random(2)
    for hour in (8, 9, 10, 13, 14, 15):
        start = datetime(day.year, day.month, day.day, hour, tzinfo=VN)
        make_case(db, settings, post_office=post, office=office, service_option="send",
                  pickup_window_start=start, pickup_window_end=start + timedelta(hours=2),
                  lat=21.18 + rng.uniform(-0.02, 0.02), lon=106.07 + rng.uniform(-0.02, 0.02),
                  contact_name=f"Khách {hour}")  # fmt: skip
    plan_day(db, settings, post_office_id=post.id, day=day, now=datetime.now(VN),
             time_limit_s=0.3)  # fmt: skip
    # Releases the savepoint only: a request that fails rolls back to here, not further.
    db.commit()
    return post, dispatcher, couriers


def test_page_shows_routes_and_unassigned_in_vietnamese(
    client: TestClient, planned: tuple[PostOffice, User, list[User]]
) -> None:
    post, dispatcher, couriers = planned
    day = (today_in_vietnam(datetime.now(VN)) + timedelta(days=1)).isoformat()
    _sign_in(client, dispatcher)
    page = client.get(f"/dispatch?date={day}")
    assert page.status_code == 200
    assert "Điều phối" in page.text and "Lập lại kế hoạch" in page.text
    assert "Nhận hồ sơ tại nhà" in page.text and "Chưa phân công" in page.text
    assert all(c.full_name in page.text for c in couriers)
    assert "/static/vendor/leaflet/leaflet.js" in page.text
    en = client.get(f"/dispatch?date={day}&lang=en")
    assert "Re-plan the day" in en.text and "Pickup at home" in en.text


def test_day_json_move_and_lock(
    client: TestClient, db: Session, settings: Settings,
    planned: tuple[PostOffice, User, list[User]],
) -> None:  # fmt: skip
    post, dispatcher, couriers = planned
    day = (today_in_vietnam(datetime.now(VN)) + timedelta(days=1)).isoformat()
    _sign_in(client, dispatcher)
    body = client.get(f"/api/v1/dispatch/day?date={day}").json()
    assert body["post_office"]["code"] == post.code
    assert body["plan"]["stops_assigned"] == 12
    routed = [s for c in body["couriers"] for s in c["stops"]]
    assert len(routed) == 12 and body["unassigned"] == []

    stop = next(s for s in routed if s["kind"] == "home_pickup")
    target = next(c for c in couriers if c.id != stop["courier_id"])
    moved = client.post(f"/api/v1/dispatch/stops/{stop['id']}/move",
                        json={"courier_id": target.id})  # fmt: skip
    assert moved.status_code == 200, moved.text
    row = db.get(RouteStop, stop["id"])
    assert row is not None and row.courier_id == target.id and row.locked
    mine = next(c for c in moved.json()["couriers"] if c["id"] == target.id)
    assert stop["id"] in [s["id"] for s in mine["stops"]]
    assert saved_plan_violations(db, settings, post.id, row.service_date) == []

    unlocked = client.post(f"/api/v1/dispatch/stops/{stop['id']}/lock", json={"locked": False})
    assert unlocked.status_code == 200
    db.refresh(row)
    assert not row.locked

    wrong = client.post(f"/api/v1/dispatch/stops/{stop['id']}/move", json={"courier_id": 0})
    assert wrong.status_code == 422 and wrong.json()["field"] == "courier_id"


def test_endpoints_refuse_strangers(
    client: TestClient, db: Session, planned: tuple[PostOffice, User, list[User]]
) -> None:
    assert client.get("/api/v1/dispatch/day").status_code == 401
    assert client.get("/dispatch", follow_redirects=False).status_code == 303
    other = make_user(db, "dispatcher", post_office_id=make_post_office(db).id, password=PASSWORD)
    courier = make_user(db, "courier", password=PASSWORD)
    db.commit()
    _sign_in(client, other)
    stop = db.query(RouteStop).filter(RouteStop.post_office_id == planned[0].id).first()
    assert stop is not None
    response = client.post(f"/api/v1/dispatch/stops/{stop.id}/lock", json={"locked": True})
    assert response.status_code == 403
    _sign_in(client, courier)
    assert client.get("/api/v1/dispatch/day").status_code == 403


def test_openapi_documents_the_dispatch_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/dispatch/day", "/api/v1/dispatch/plan",
            "/api/v1/dispatch/stops/{stop_id}/move",
            "/api/v1/dispatch/stops/{stop_id}/lock"} <= set(paths)  # fmt: skip


def test_bad_input_is_refused_with_a_reason_and_changes_nothing(
    client: TestClient, db: Session, settings: Settings,
    planned: tuple[PostOffice, User, list[User]],
) -> None:  # fmt: skip
    post, dispatcher, couriers = planned
    _sign_in(client, dispatcher)
    stops = db.query(RouteStop).filter(RouteStop.post_office_id == post.id).all()
    pickup = next(s for s in stops if s.kind == "home_pickup")
    before = (pickup.courier_id, pickup.sequence, pickup.locked)

    # A courier of another post office.
    elsewhere = make_user(db, "courier", post_office_id=make_post_office(db).id)
    db.commit()
    moved = client.post(f"/api/v1/dispatch/stops/{pickup.id}/move",
                        json={"courier_id": elsewhere.id})  # fmt: skip
    assert moved.status_code == 422
    assert moved.json()["field"] == "courier_id"
    assert moved.json()["message"] == VI_TEXTS["dispatch.courier_elsewhere"]
    db.refresh(pickup)
    assert (pickup.courier_id, pickup.sequence, pickup.locked) == before

    # A stop the courier has already done (the ledger says so; no re-plan since).
    case = db.get(Case, pickup.case_id)
    assert case is not None and case.pickup_courier_id == pickup.courier_id
    courier = actor_for(next(c for c in couriers if c.id == pickup.courier_id))
    record_one(db, courier, scan("picked_up", dossier_of(db, case).code, details=PICKUP_DETAILS))
    db.commit()
    locked = client.post(f"/api/v1/dispatch/stops/{pickup.id}/lock", json={"locked": True})
    assert locked.status_code == 409, locked.text
    assert locked.json()["message"] == VI_TEXTS["dispatch.stop_under_way"]
    db.refresh(pickup)
    assert not pickup.locked


def test_an_unassigned_stop_says_why_in_vietnamese(
    client: TestClient, db: Session, settings: Settings,
    planned: tuple[PostOffice, User, list[User]],
) -> None:  # fmt: skip
    post, dispatcher, _ = planned
    day = today_in_vietnam(datetime.now(VN)) + timedelta(days=1)
    # A booking nobody can reach in its window (the other end of the country) joins the
    # live plan: it stays out, with the reason.
    start = datetime(day.year, day.month, day.day, 8, tzinfo=VN)
    make_case(db, settings, post_office=post, office=make_office(db), service_option="send",
              pickup_window_start=start, pickup_window_end=start + timedelta(hours=2),
              lat=10.78, lon=106.70, contact_name="Khách xa")  # fmt: skip
    update_day(db, settings, post_office_id=post.id, day=day, now=datetime.now(VN))
    db.commit()
    _sign_in(client, dispatcher)
    body = client.get(f"/api/v1/dispatch/day?date={day.isoformat()}").json()
    assert body["plan"]["trigger"] == "update"
    reasons = {(s["unassigned_reason_code"], s["unassigned_reason"]) for s in body["unassigned"]}
    code = "dispatch.unassigned.window_unreachable"
    assert reasons == {(code, VI_TEXTS[code])}
    en = client.get(f"/api/v1/dispatch/day?date={day.isoformat()}&lang=en").json()
    assert {s["unassigned_reason"] for s in en["unassigned"]} == {EN_TEXTS[code]}
    page = client.get(f"/dispatch?date={day.isoformat()}")
    assert VI_TEXTS[code].split("(")[0].strip() in page.text
