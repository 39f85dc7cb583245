"""The ledger over HTTP: EPCIS events by reach and for agency systems, corrections and scan
exceptions through the API and the pages."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from jsonschema import Draft7Validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.agency.service import create_system, issue_key
from core.agency.signing import sign_request
from core.custody.models import CustodyEvent, CustodyException, Item
from core.custody.service import record, record_one
from core.identity.models import User
from core.identity.service import actor_for, issue_token
from core.settings import Settings
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of, make_case, make_office, make_post_office, make_user, unique
from tests.journey import pick_up

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "core" / "epcis" / "EPCIS-JSON-Schema.json").read_text()
)
HANOI = {"province_code": "01", "commune_code": "00070", "lat": 21.0245, "lon": 105.853}


def _auth(db: Session, settings: Settings, user: User) -> dict[str, str]:
    token = issue_token(db, settings, user, now=datetime.now(UTC)).token
    # A refused request rolls the request's session back; keep the setup out of its reach.
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def _two_sides(db: Session, settings: Settings) -> dict[str, Any]:
    """A case at post office 1 (Bắc Ninh) picked up and held at the post office, and one at
    post office 2 (Hà Nội)."""
    po1, po2 = make_post_office(db), make_post_office(db, **HANOI)
    dispatcher1 = make_user(db, "dispatcher", post_office_id=po1.id)
    courier1 = make_user(db, "courier", post_office_id=po1.id)
    case1 = make_case(db, settings, post_office=po1)
    code1 = pick_up(db, case1, courier1)
    record_one(db, actor_for(courier1), scan("handover_offered", code1,
                                             to_party=actor_for(dispatcher1).party))  # fmt: skip
    record_one(db, actor_for(dispatcher1), scan("handover_confirmed", code1))
    office2 = make_office(db, **HANOI)
    case2 = make_case(db, settings, post_office=po2, office=office2,
                      address_text="Phường Hoàn Kiếm, Hà Nội", commune_code="00070",
                      lat=21.0245, lon=105.853)  # fmt: skip
    courier2 = make_user(db, "courier", post_office_id=po2.id)
    code2 = pick_up(db, case2, courier2)
    db.commit()
    return {"po1": po1, "po2": po2, "dispatcher1": dispatcher1, "courier1": courier1,
            "dispatcher2": make_user(db, "dispatcher", post_office_id=po2.id),
            "code1": code1, "code2": code2}  # fmt: skip


def _items(document: dict[str, Any]) -> set[str]:
    events = document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return {uri.rsplit(":", 1)[1] for e in events for uri in e.get("epcList", [])}


def test_staff_read_their_reach_page_by_page(
    client: TestClient, db: Session, settings: Settings
) -> None:
    world = _two_sides(db, settings)
    headers = _auth(db, settings, world["dispatcher1"])
    seen: list[dict[str, Any]] = []
    url: str | None = "/api/v1/epcis/events?perPage=2"
    validator = Draft7Validator(SCHEMA, format_checker=Draft7Validator.FORMAT_CHECKER)
    while url:
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/ld+json")
        document = answer.json()
        assert [e.message for e in validator.iter_errors(document)] == []
        seen.extend(document["epcisBody"]["queryResults"]["resultsBody"]["eventList"])
        link = answer.headers.get("link")
        url = re.match(r"<([^>]+)>; rel=\"next\"", link).group(1) if link else None  # type: ignore[union-attr]
        assert url is None or "perPage=2" in url
    kinds = [e["hoso:kind"] for e in seen]
    assert kinds == ["booked", "picked_up", "handover_offered", "handover_confirmed"]
    assert _items({"epcisBody": {"queryResults": {"resultsBody": {"eventList": seen}}}}) == {
        world["code1"]}  # fmt: skip
    # Post office 2's dispatcher sees only their own case; a courier may not read the export.
    other = client.get("/api/v1/epcis/events", headers=_auth(db, settings, world["dispatcher2"]))
    assert _items(other.json()) == {world["code2"]}
    refused = client.get("/api/v1/epcis/events", headers=_auth(db, settings, world["courier1"]))
    assert refused.status_code == 403


def test_bad_and_unknown_parameters_are_named(
    client: TestClient, db: Session, settings: Settings
) -> None:
    headers = _auth(db, settings, make_user(db, "admin"))
    bad = client.get("/api/v1/epcis/events?GE_eventTime=hôm-qua", headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "GE_eventTime"
    unknown = client.get("/api/v1/epcis/events?EQ_readPointX=1", headers=headers)
    assert unknown.status_code == 422


def _signed_get(client: TestClient, key: Any, path: str) -> Any:
    headers = sign_request(key.key_id, key.secret, "GET", path, b"", timestamp=int(time.time()))
    return client.get(path, headers=headers.as_dict())


def test_an_agency_system_reads_its_province(
    client: TestClient, db: Session, settings: Settings
) -> None:
    world = _two_sides(db, settings)
    provincial = create_system(db, code=unique("sys-"), name="Một cửa Bắc Ninh",
                               kind="provincial_one_stop", province_code="24")  # fmt: skip
    national = create_system(db, code=unique("sys-"), name="Cổng DVC quốc gia",
                             kind="national_portal")  # fmt: skip
    key24 = issue_key(db, settings, provincial, now=datetime.now(UTC))
    key_all = issue_key(db, settings, national, now=datetime.now(UTC))
    db.commit()
    path = "/api/agency/v1/epcis/events?perPage=1000"
    mine = _signed_get(client, key24, path)
    assert mine.status_code == 200, mine.text
    assert world["code1"] in _items(mine.json()) and world["code2"] not in _items(mine.json())
    everything = _signed_get(client, key_all, path)
    assert {world["code1"], world["code2"]} <= _items(everything.json())
    assert client.get(path).status_code == 401


def test_a_dispatcher_corrects_an_event_through_the_api(
    client: TestClient, db: Session, settings: Settings
) -> None:
    world = _two_sides(db, settings)
    post = actor_for(world["dispatcher1"])
    noted = record_one(db, post, scan("damage_noted", world["code1"],
                                      details={"reason_code": "torn"}))  # fmt: skip
    wrong = noted.events[0]["event_id"]
    db.commit()
    body = {"corrects_event_id": wrong, "reason": "incorrect_data", "note": "ướt, không rách",
            "corrective": {"kind": "damage_noted", "occurred_at": datetime.now(UTC).isoformat(),
                           "details": {"reason_code": "wet"}}}  # fmt: skip
    stranger = client.post("/api/v1/ledger/corrections", json=body,
                           headers=_auth(db, settings, world["dispatcher2"]))  # fmt: skip
    assert stranger.status_code == 403
    courier = client.post("/api/v1/ledger/corrections", json=body,
                          headers=_auth(db, settings, world["courier1"]))  # fmt: skip
    assert courier.status_code == 403
    db.commit()
    no_corrective = {**body, "reason": "did_not_occur"}
    refused = client.post("/api/v1/ledger/corrections", json=no_corrective,
                          headers=_auth(db, settings, world["dispatcher1"]))  # fmt: skip
    assert refused.status_code == 422 and refused.json()["field"] == "corrective"
    done = client.post("/api/v1/ledger/corrections", json=body,
                       headers=_auth(db, settings, world["dispatcher1"]))  # fmt: skip
    assert done.status_code == 201, done.text
    assert done.json()["corrective_event_id"] is not None
    again = client.post("/api/v1/ledger/corrections", json=body,
                        headers=_auth(db, settings, world["dispatcher1"]))  # fmt: skip
    assert again.status_code == 409
    export = client.get(f"/api/v1/epcis/events?item={world['code1']}",
                        headers=_auth(db, settings, world["dispatcher1"])).json()  # fmt: skip
    events = export["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    declared = [e for e in events if "errorDeclaration" in e]
    assert len(declared) == 1
    corrective_id = declared[0]["errorDeclaration"]["correctiveEventIDs"][0]
    assert [e["hoso:kind"] for e in events if e["eventID"] == corrective_id] == ["damage_noted"]


def test_the_history_page_declares_an_event_wrong_or_changes_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    world = _two_sides(db, settings)
    cookie = {"hoso_session": issue_token(db, settings, world["dispatcher1"],
                                          now=datetime.now(UTC)).token}  # fmt: skip
    db.commit()
    client.cookies.update(cookie)
    page = client.get(f"/ledger/items/{world['code1']}")
    assert page.status_code == 200 and "Lịch sử bưu gửi" in page.text
    events = list(db.scalars(select(CustodyEvent).join(Item, Item.id == CustodyEvent.item_id)
                             .where(Item.code == world["code1"])
                             .order_by(CustodyEvent.id)))  # fmt: skip
    offered = next(e for e in events if e.kind == "handover_offered")
    count = db.scalar(select(func.count()).select_from(CustodyEvent))
    # The offer cannot go: the confirmation after it depends on it. Refused, nothing written.
    refused = client.post(f"/ledger/items/{world['code1']}/corrections",
                          data={"corrects_event_id": str(offered.event_id),
                                "reason": "did_not_occur"}, follow_redirects=False)  # fmt: skip
    assert refused.status_code == 409 and "declare them wrong first" in refused.text
    assert db.scalar(select(func.count()).select_from(CustodyEvent)) == count
    confirmed = next(e for e in events if e.kind == "handover_confirmed")
    done = client.post(f"/ledger/items/{world['code1']}/corrections",
                       data={"corrects_event_id": str(confirmed.event_id),
                             "reason": "did_not_occur", "note": "quét nhầm"},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    assert "Đã ghi nhận đính chính" in shown.text and "Đã khai báo là sai" in shown.text
    client.cookies.clear()


def test_exceptions_are_listed_and_resolved(
    client: TestClient, db: Session, settings: Settings
) -> None:
    world = _two_sides(db, settings)
    case = make_case(db, settings, post_office=world["po1"])
    code = dossier_of(db, case).code
    courier = actor_for(world["courier1"])
    record_one(db, courier, scan("picked_up", code, details=PICKUP_DETAILS))
    # Departed while still picked up: contradicts the ledger, kept as an exception.
    (kept,) = record(db, courier, [scan("departed", code)])
    assert kept.outcome == "exception"
    db.commit()
    mine = _auth(db, settings, world["dispatcher1"])
    listed = client.get("/api/v1/ledger/exceptions", headers=mine).json()
    (row,) = [x for x in listed if x["item"] == code]
    assert row["kind"] == "departed" and row["reason_code"] == "conflict"
    theirs = _auth(db, settings, world["dispatcher2"])
    assert all(x["item"] != code for x in client.get("/api/v1/ledger/exceptions",
                                                     headers=theirs).json())  # fmt: skip
    path = f"/api/v1/ledger/exceptions/{row['id']}/resolve"
    assert client.post(path, json={"resolution": "x"}, headers=theirs).status_code == 403
    assert client.post(path, json={"resolution": "đã gọi bưu tá"}, headers=mine).status_code == 204
    assert client.post(path, json={"resolution": "lần nữa"}, headers=mine).status_code == 409
    assert db.get(CustodyException, row["id"]).resolution == "đã gọi bưu tá"  # type: ignore[union-attr]
    still_open = client.get("/api/v1/ledger/exceptions", headers=mine).json()
    assert all(x["id"] != row["id"] for x in still_open)
