"""The run sheet: the courier's own stops in order, phone numbers only where they are theirs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.cases.models import Booking, Case
from core.cases.service import register_result
from core.custody.parties import Actor
from core.dispatch.models import RouteStop
from core.settings import Settings
from edge.deps import get_now
from tests.factories import (
    dossier_of,
    home_post_office,
    make_case,
    make_post_office,
    make_procedure,
)
from tests.mobile_api.helpers import signed_in
from vntime import VN

DAY = date(2026, 11, 23)


def _stop(
    db: Session,
    courier_id: int | None,
    sequence: int | None,
    kind: str,
    case: Case | None = None,
    office_id: int | None = None,
) -> RouteStop:
    start = datetime(2026, 11, 23, 8, tzinfo=VN) + timedelta(minutes=30 * (sequence or 0))
    stop = RouteStop(
        post_office_id=home_post_office(db).id,
        service_date=DAY,
        kind=kind,
        courier_id=courier_id,
        sequence=sequence,
        case_id=case.id if case else None,
        office_id=office_id,
        lat=21.18,
        lon=106.07,
        window_start=start,
        window_end=start + timedelta(hours=2),
        eta=start + timedelta(minutes=10),
        unassigned_reason=None if courier_id else "no courier free",
    )
    db.add(stop)
    db.flush()
    return stop


def test_the_run_sheet_lists_own_stops_in_order_with_their_items(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    other, _ = signed_in(client, db)
    pickup_case = make_case(db, settings)
    delivery_case = make_case(db, settings, contact_phone="0987654321")
    register_result(db, settings, Actor.system(), delivery_case, now=datetime.now(VN))
    booking = db.get(Booking, pickup_case.booking_id)
    assert booking is not None
    _stop(db, courier.id, 3, "home_delivery", delivery_case)
    _stop(db, courier.id, 1, "home_pickup", pickup_case)
    _stop(db, courier.id, 2, "office_drop", pickup_case, office_id=booking.office_id)
    _stop(db, other.id, 1, "home_pickup", make_case(db, settings))
    _stop(db, None, None, "home_pickup", make_case(db, settings))

    sheet = client.get("/mobile/v1/runsheet", params={"date": DAY.isoformat()}, headers=headers)
    assert sheet.status_code == 200, sheet.text
    stops = sheet.json()["stops"]
    assert [(s["sequence"], s["kind"]) for s in stops] == [
        (1, "home_pickup"),
        (2, "office_drop"),
        (3, "home_delivery"),
    ]
    pickup, drop, delivery = stops
    assert pickup["items"] == [
        {"code": dossier_of(db, pickup_case).code, "kind": "dossier", "status": "booked"}
    ]
    assert pickup["contact_phone"] == "0912345678" and pickup["place"] == booking.address_text
    assert drop["contact_phone"] is None and "Trung tâm" in drop["place"]
    assert drop["items"] == pickup["items"]
    assert delivery["items"][0]["kind"] == "result"
    assert delivery["contact_phone"] == "0987654321"
    assert pickup["window_start"].startswith("2026-11-23T01:30:00")  # 08:30 in Vietnam
    assert (
        client.get("/mobile/v1/runsheet", params={"date": "2026-11-24"}, headers=headers).json()[
            "stops"
        ]
        == []
    )


def test_others_read_a_sheet_with_phones_masked_or_not_at_all(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, _ = signed_in(client, db)
    _, fellow = signed_in(client, db)
    _, dispatcher = signed_in(client, db, "dispatcher")
    _, far_dispatcher = signed_in(client, db, "dispatcher", post_office_id=make_post_office(db).id)
    _stop(db, courier.id, 1, "home_pickup", make_case(db, settings))
    params = {"date": DAY.isoformat(), "courier_id": str(courier.id)}
    seen = client.get("/mobile/v1/runsheet", params=params, headers=dispatcher)
    assert seen.status_code == 200
    assert seen.json()["stops"][0]["contact_phone"] == "09******78"
    assert client.get("/mobile/v1/runsheet", params=params, headers=fellow).status_code == 403
    assert (
        client.get("/mobile/v1/runsheet", params=params, headers=far_dispatcher).status_code == 403
    )


def test_a_procedure_asking_for_a_certified_copy_is_on_the_sheet(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """The catalogue's three forms (original, certified copy, copy) all reach the phone; the
    demo's run sheet once failed with a 500 on a certified copy."""
    courier, headers = signed_in(client, db)
    documents = [
        {"name_vi": "Giấy khai sinh", "name_en": "Birth certificate",
         "form": "certified_copy", "quantity": 1},
    ]  # fmt: skip
    case = make_case(db, settings, procedure_id=make_procedure(db, documents=documents).id)
    _stop(db, courier.id, 1, "home_pickup", case)
    sheet = client.get("/mobile/v1/runsheet", params={"date": DAY.isoformat()}, headers=headers)
    assert sheet.status_code == 200, sheet.text
    assert sheet.json()["stops"][0]["documents"][0]["form"] == "certified_copy"


def test_without_a_date_the_sheet_is_of_today_by_the_servers_clock(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """The day asked for by default is the server clock's (``edge.deps.get_now``) day in
    Vietnam: at 00:30 there (17:30 UTC the evening before) it is already the new day."""
    courier, headers = signed_in(client, db)
    _stop(db, courier.id, 1, "home_pickup", make_case(db, settings))
    half_past_midnight = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)  # 00:30 on DAY in Vietnam
    client.app.dependency_overrides[get_now] = lambda: half_past_midnight  # type: ignore[attr-defined]
    sheet = client.get("/mobile/v1/runsheet", headers=headers)
    assert sheet.status_code == 200, sheet.text
    assert sheet.json()["date"] == DAY.isoformat()
    assert [s["sequence"] for s in sheet.json()["stops"]] == [1]
