"""The courier's day on the run sheet: a stop is done when its scan is accepted (no re-plan
needed), the sheet counts done/remaining, and the "arrived" step is recorded once."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.courier.models import StopArrival
from core.dispatch.models import RouteStop
from core.settings import Settings
from edge.texts.vi import TEXTS
from tests.factories import dossier_of, make_case, todays_stop
from tests.mobile_api.helpers import (
    event,
    pickup_event,
    result_out_for_delivery,
    scans,
    signed_in,
)
from vntime import VN


def _sheet(client: TestClient, headers: dict[str, str]) -> dict[str, object]:
    response = client.get("/mobile/v1/runsheet", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_stop_is_done_on_the_sheet_once_its_scan_is_accepted(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    now = datetime.now(VN)
    pickup_case = make_case(db, settings)
    failed_case, failed_item = result_out_for_delivery(db, settings, courier)
    pickup = todays_stop(db, courier, kind="home_pickup", sequence=1, start=now,
                         case_id=pickup_case.id)  # fmt: skip
    failed = todays_stop(db, courier, kind="home_delivery", sequence=2, start=now,
                         case_id=failed_case.id)  # fmt: skip
    later = todays_stop(db, courier, kind="home_pickup", sequence=3, start=now,
                        case_id=make_case(db, settings).id)  # fmt: skip
    gone = todays_stop(db, courier, kind="home_pickup", sequence=4, start=now,
                       case_id=make_case(db, settings).id, status="cancelled")  # fmt: skip

    before = _sheet(client, headers)
    assert (before["finished"], before["total"], before["remaining"]) == (0, 3, 3)

    answers = scans(
        client, headers,
        pickup_event(dossier_of(db, pickup_case).code),
        event("attempt_failed", failed_item.code, details={"reason_code": "addressee_absent"}),
    )  # fmt: skip
    assert [r["outcome"] for r in answers["results"]] == ["accepted", "accepted"], answers

    after = _sheet(client, headers)
    status = {s["id"]: s["status"] for s in after["stops"]}  # type: ignore[attr-defined]
    assert status == {pickup.id: "done", failed.id: "failed", later.id: "planned",
                      gone.id: "cancelled"}  # fmt: skip
    assert (after["finished"], after["total"], after["remaining"]) == (2, 3, 1)
    done = next(s for s in after["stops"] if s["id"] == pickup.id)  # type: ignore[attr-defined]
    assert done["finished_at"] is not None
    # The plan's own rows are the planner's to write; the sheet read the ledger.
    db.refresh(pickup)
    assert pickup.status == "planned"


def test_arrival_is_recorded_once_and_resent_arrivals_change_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    _, other_headers = signed_in(client, db)
    now = datetime.now(VN)
    stop = todays_stop(db, courier, kind="home_pickup", sequence=1, start=now,
                       case_id=make_case(db, settings).id)  # fmt: skip
    tapped = (now - timedelta(minutes=3)).replace(microsecond=0)
    db.commit()  # a refused request rolls back to here
    url = f"/mobile/v1/stops/{stop.id}/arrival"

    first = client.post(url, json={"arrived_at": tapped.isoformat()}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["new"] is True
    assert datetime.fromisoformat(first.json()["arrived_at"]) == tapped

    # The offline queue resends it later with a later tap: the first one stands.
    again = client.post(
        url, json={"arrived_at": (tapped + timedelta(minutes=1)).isoformat()}, headers=headers
    )
    assert again.status_code == 200 and again.json()["new"] is False
    assert datetime.fromisoformat(again.json()["arrived_at"]) == tapped
    assert (
        len(db.scalars(select(StopArrival).where(StopArrival.route_stop_id == stop.id)).all()) == 1
    )

    sheet = _sheet(client, headers)
    shown = sheet["stops"][0]  # type: ignore[index]
    assert shown["status"] == "arrived"
    assert datetime.fromisoformat(shown["arrived_at"]) == tapped
    # The plan keeps a stop the courier stands at with them when the day is re-planned.
    db.refresh(stop)
    assert stop.status == "arrived"

    # Another courier's tap on it is refused, and tells them nothing about it.
    other = client.post(url, json={"arrived_at": now.isoformat()}, headers=other_headers)
    assert other.status_code == 403 and "arrived_at" not in other.json()


def test_bad_arrivals_are_refused_with_the_field_and_reason(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    fellow, fellow_headers = signed_in(client, db)
    now = datetime.now(VN)
    stop = todays_stop(db, courier, kind="home_pickup", sequence=1, start=now,
                       case_id=make_case(db, settings).id)  # fmt: skip
    dropped = todays_stop(db, courier, kind="home_pickup", sequence=2, start=now,
                          case_id=make_case(db, settings).id, status="cancelled")  # fmt: skip
    body = {"arrived_at": now.isoformat()}
    db.commit()  # a refused request rolls back to here

    def refused(url: str, payload: dict[str, str], who: dict[str, str]) -> tuple[int, str]:
        """The status and the Vietnamese text's catalogue key it matches."""
        response = client.post(url, json=payload, headers=who)
        message = response.json()["message"]
        keys = [k for k, v in TEXTS.items() if k.split(".")[0] in ("stop", "arrival")
                and v.format(stop=url.split("/")[-2]) == message]  # fmt: skip
        return response.status_code, keys[0] if keys else message

    assert refused(f"/mobile/v1/stops/{stop.id}/arrival", body, fellow_headers) == (
        403, "stop.not_yours")  # fmt: skip
    assert refused(f"/mobile/v1/stops/{dropped.id}/arrival", body, headers) == (
        409, "stop.cancelled")  # fmt: skip
    assert refused("/mobile/v1/stops/999999/arrival", body, headers) == (404, "stop.unknown")
    ahead = {"arrived_at": (now + timedelta(hours=2)).isoformat()}
    assert refused(f"/mobile/v1/stops/{stop.id}/arrival", ahead, headers) == (
        422, "arrival.future")  # fmt: skip
    yesterday = {"arrived_at": (now - timedelta(days=1)).isoformat()}
    assert refused(f"/mobile/v1/stops/{stop.id}/arrival", yesterday, headers) == (
        422, "arrival.other_day")  # fmt: skip
    naive = client.post(f"/mobile/v1/stops/{stop.id}/arrival",
                        json={"arrived_at": "2026-12-03T08:00:00"}, headers=headers)  # fmt: skip
    assert naive.status_code == 422
    mine = select(StopArrival).where(StopArrival.route_stop_id.in_([stop.id, dropped.id]))
    assert db.scalars(mine).all() == []
    db.refresh(stop)
    assert stop.status == "planned" and fellow.id != courier.id
    assert db.get(RouteStop, dropped.id).status == "cancelled"  # type: ignore[union-attr]
