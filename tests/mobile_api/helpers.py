"""Signing in phones and building events the way the courier app sends them."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from core.cases.models import Booking, Case
from core.cases.service import register_result
from core.custody.models import Item
from core.custody.parties import Actor, party
from core.custody.service import ScanCommand, record_one
from core.identity.models import User
from core.identity.service import actor_for
from core.settings import Settings
from tests.factories import make_case, make_user, unique
from vntime import VN

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
SIGNATURE = hashlib.sha256(b"citizen signature").hexdigest()
COURIER_SIGNATURE = hashlib.sha256(b"courier signature").hexdigest()


def login(client: TestClient, user: User, install_id: str | None = None) -> dict[str, Any]:
    response = client.post(
        "/mobile/v1/auth/login",
        json={
            "username": user.username,
            "password": PASSWORD,
            "device": {
                "install_id": install_id or unique("install-"),
                "name": "Điện thoại thử",
                "platform": "android",
            },
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed_in(
    client: TestClient, db: Session, role: str = "courier", **overrides: Any
) -> tuple[User, dict[str, str]]:
    user = make_user(db, role, **overrides)
    return user, bearer(login(client, user)["token"])


def event(kind: str, code: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_event_id": str(uuid.uuid4()),
        "kind": kind,
        "code": code,
        "occurred_at": datetime.now(VN).isoformat(),
        "lat": 21.185,
        "lon": 106.07,
        "gps_accuracy_m": 12.0,
    }
    body.update(fields)
    return body


# The factories' procedure lists one document, an original declaration ("Tờ khai").
PICKUP_DETAILS: dict[str, Any] = {
    "checklist": [{"name": "To khai", "form": "original", "present": True}],
    "seal_number": "NP-000123",
    "fees_collected_vnd": 200000,
    "payment_method": "cash",
}
PICKUP_EVIDENCE = {
    "citizen_signature_sha256": SIGNATURE,
    "courier_signature_sha256": COURIER_SIGNATURE,
}


def pickup_event(code: str, **fields: Any) -> dict[str, Any]:
    fields.setdefault("details", PICKUP_DETAILS)
    fields.setdefault("evidence", PICKUP_EVIDENCE)
    return event("picked_up", code, **fields)


def scans(client: TestClient, headers: dict[str, str], *events: Any) -> Any:
    response = client.post("/mobile/v1/scans", json={"events": list(events)}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def desk_actor_for(db: Session, case: Case) -> Actor:
    """A desk officer of the office the case's booking names."""
    booking = db.get(Booking, case.booking_id)
    assert booking is not None
    return actor_for(make_user(db, "desk_officer", office_id=booking.office_id))


def result_out_for_delivery(
    db: Session, settings: Settings, courier: User, **case_overrides: Any
) -> tuple[Case, Item]:
    """A case whose result the courier collected at the desk and took out on the round."""
    case = make_case(db, settings, **case_overrides)
    item = register_result(db, settings, Actor.system(), case, now=datetime.now(VN))
    courier_actor = actor_for(courier)
    steps = (
        (courier_actor, "handover_offered", party("courier", courier.id)),
        (desk_actor_for(db, case), "handover_confirmed", None),
        (courier_actor, "out_for_delivery", None),
    )
    for actor, kind, to_party in steps:
        record_one(db, actor, ScanCommand(kind=kind, code=item.code, to_party=to_party,
                                          occurred_at=datetime.now(VN)))  # fmt: skip
    return case, item
