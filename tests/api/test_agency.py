"""The agency API: signed requests only, each once; dossier received, result ready, supplement."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.agency.models import AgencyMessage, AgencySystem
from core.agency.service import IssuedKey, create_system, issue_key, revoke_key
from core.cases.models import Case
from core.custody.models import CustodyEvent, Item, ItemState
from core.outbox.models import OutboxMessage
from core.settings import Settings
from tests.agency_client import signed_post
from tests.factories import make_case, make_office, make_user, unique
from tests.journey import hand_to_office, pick_up
from vntime import VN

# A dossier code carries the day the agency received the dossier: today, in Vietnam.
DAY = f"{datetime.now(VN):%y%m%d}"
DUE = f"{datetime.now(VN) + timedelta(days=10):%Y-%m-%d}"

RECEIVED = "/api/agency/v1/dossiers/received"
RESULTS = "/api/agency/v1/results"
RETURNED = "/api/agency/v1/dossiers/returned"


def _system(
    db: Session, settings: Settings, province: str = "24"
) -> tuple[AgencySystem, IssuedKey]:
    system = create_system(db, code=unique("sys-"), name="Hệ thống một cửa Bắc Ninh",
                           kind="provincial_one_stop", province_code=province)  # fmt: skip
    key = issue_key(db, settings, system, now=datetime.now(UTC))
    # A refused request rolls the request's session back; keep the setup out of its reach.
    db.commit()
    return system, key


def _at_office(db: Session, settings: Settings) -> tuple[Case, str]:
    office = make_office(db)
    case = make_case(db, settings, office=office)
    desk = make_user(db, "desk_officer", office_id=office.id)
    code = hand_to_office(db, case, make_user(db, "courier"), desk)
    db.commit()
    return case, code


def test_unsigned_tampered_stale_and_replayed_requests_are_refused(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, key = _system(db, settings)
    case, code = _at_office(db, settings)
    body = {"item_id": code, "agency_dossier_code": f"000.00.24.H05-{DAY}-0001"}

    unsigned = client.post(RECEIVED, json=body)
    assert unsigned.status_code == 401 and unsigned.json()["field"] == "X-Hoso-Key"

    wrong_secret = signed_post(client, key, RECEIVED, body, secret="0" * 64)
    assert wrong_secret.status_code == 401 and wrong_secret.json()["field"] == "X-Hoso-Signature"

    stale = signed_post(client, key, RECEIVED, body, timestamp=int(time.time()) - 301)
    assert stale.status_code == 401 and stale.json()["field"] == "X-Hoso-Timestamp"
    assert case.agency_dossier_code is None  # nothing changed

    first = signed_post(client, key, RECEIVED, body, nonce="same-nonce-0123456789")
    assert first.status_code == 200, first.json()
    again = signed_post(client, key, RECEIVED, body, nonce="same-nonce-0123456789")
    assert again.status_code == 401 and "already received" in again.json()["detail"]

    revoke_key(db, key.key_id, now=datetime.now(UTC))
    db.commit()
    revoked = signed_post(client, key, RECEIVED, body)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]


def test_dossier_received_records_code_and_appointment(
    client: TestClient, db: Session, settings: Settings
) -> None:
    system, key = _system(db, settings)
    case, code = _at_office(db, settings)

    bad = signed_post(client, key, RECEIVED, {"item_id": code, "agency_dossier_code": "000.A0"})
    assert bad.status_code == 422 and bad.json()["field"] == "agency_dossier_code"

    ok = signed_post(client, key, RECEIVED, {"item_id": code,
                     "agency_dossier_code": f"000.00.24.h05-{DAY}-0042",
                     "appointment_date": DUE})  # fmt: skip
    assert ok.status_code == 200, ok.json()
    assert ok.json()["agency_dossier_code"] == f"000.00.24.H05-{DAY}-0042"
    db.refresh(case)
    assert (case.agency_dossier_code, str(case.appointment_date)) == (
        f"000.00.24.H05-{DAY}-0042", DUE,
    )  # fmt: skip
    logged = db.scalars(select(AgencyMessage).where(AgencyMessage.system_id == system.id)).all()
    assert [m.kind for m in logged] == ["dossier_received"]

    # Not yet at the office in hoso: refused, naming why.
    early = make_case(db, settings)
    early_code = pick_up(db, early, make_user(db, "courier"))
    db.commit()
    refused = signed_post(client, key, RECEIVED, {"item_id": early_code,
                          "agency_dossier_code": f"000.00.24.H05-{DAY}-0043"})  # fmt: skip
    assert refused.status_code == 409 and "picked_up" in refused.json()["detail"]


def test_result_ready_issues_the_result_item_once(
    client: TestClient, db: Session, settings: Settings
) -> None:
    system, key = _system(db, settings)
    case, code = _at_office(db, settings)
    signed_post(client, key, RECEIVED, {"item_id": code,
                "agency_dossier_code": f"000.00.24.H05-{DAY}-0077"})  # fmt: skip

    ready = signed_post(client, key, RESULTS, {"agency_dossier_code": f"000.00.24.H05-{DAY}-0077"})
    assert ready.status_code == 200, ready.json()
    assert ready.json()["created"] is True
    result_code = ready.json()["result_item_id"]
    item = db.scalar(select(Item).where(Item.code == result_code))
    assert item is not None and item.kind == "result"
    state = db.get(ItemState, item.id)
    booking_office = db.get(Case, case.id)
    assert state is not None and booking_office is not None
    assert state.status == "result_registered" and state.custodian.startswith("office:")
    first = db.scalar(select(CustodyEvent).where(CustodyEvent.item_id == item.id))
    assert first is not None and first.actor_party == f"agency:{system.code}"

    twice = signed_post(client, key, RESULTS, {"item_id": code})
    assert twice.status_code == 200 and twice.json()["created"] is False
    assert twice.json()["result_item_id"] == result_code


def test_returned_for_supplement_tells_the_citizen(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, key = _system(db, settings)
    case, code = _at_office(db, settings)
    empty = signed_post(client, key, RETURNED, {"item_id": code, "reason": "  "})
    assert empty.status_code == 422 and empty.json()["field"] == "reason"
    ok = signed_post(client, key, RETURNED, {"item_id": code, "reason": "Thiếu ảnh 3x4"})
    assert ok.status_code == 200
    sms = db.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "sms.send").order_by(OutboxMessage.id)
    ).all()
    assert "cần bổ sung: Thiếu ảnh 3x4" in sms[-1].payload["text"]
    assert sms[-1].payload["phone"] == "0912345678"


def test_a_provincial_system_cannot_reach_another_province(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, key = _system(db, settings, province="01")
    _, code = _at_office(db, settings)  # a Bắc Ninh case
    response = signed_post(client, key, RESULTS, {"item_id": code})
    assert response.status_code == 404


def test_admin_lists_and_replays_dead_webhooks_others_cannot(
    client: TestClient, db: Session, settings: Settings
) -> None:
    from core.agency.webhooks import WEBHOOK_TOPIC
    from core.identity.service import issue_token

    dead = OutboxMessage(topic=WEBHOOK_TOPIC, status="dead", attempts=3, last_error="HTTP 500",
                         payload={"system": "s", "body": {"event_id": "e-1"}})  # fmt: skip
    db.add(dead)
    admin = make_user(db, "admin")
    desk = make_user(db, "desk_officer")
    now = datetime.now(UTC)
    admin_token = issue_token(db, settings, admin, now=now).token
    desk_token = issue_token(db, settings, desk, now=now).token
    db.commit()

    assert client.get("/api/v1/admin/webhooks/dead").status_code == 401
    as_desk = {"Authorization": f"Bearer {desk_token}"}
    assert (
        client.post(f"/api/v1/admin/webhooks/{dead.id}/replay", headers=as_desk).status_code == 403
    )
    as_admin = {"Authorization": f"Bearer {admin_token}"}
    listed = client.get("/api/v1/admin/webhooks/dead", headers=as_admin).json()
    assert {"id": dead.id, "status": "dead", "attempts": 3, "last_error": "HTTP 500",
            "system": "s", "event_id": "e-1"} in listed  # fmt: skip
    replayed = client.post(f"/api/v1/admin/webhooks/{dead.id}/replay", headers=as_admin)
    assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
    twice = client.post(f"/api/v1/admin/webhooks/{dead.id}/replay", headers=as_admin)
    assert twice.status_code == 422 and "still queued" in twice.json()["detail"]
