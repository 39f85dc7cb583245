"""Device-signed scans: the phone's key registered at sign-in, every scan signed and checked
before the ledger sees it, the signature kept and checked again by ``hoso ledger verify``."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.courier.devices import revoke_device
from core.custody.device_signing import js_number, signature_valid
from core.custody.models import CustodyEvent, ScanReceipt
from core.custody.signature_models import DeviceKey, EventDeviceSignature
from core.custody.verify import verify_ledger
from core.settings import Settings
from tests.factories import dossier_of, make_case, make_user, unique
from tests.mobile_api.helpers import PASSWORD, bearer, pickup_event, scans
from tests.mobile_api.phone_keys import PhoneKey, append_forged_event, statement_of


def _sign_in(client: TestClient, db: Session, key: PhoneKey | None) -> tuple[dict[str, str], int]:
    user = make_user(db, "courier")
    device: dict[str, Any] = {"install_id": unique("install-"), "name": "Máy thử",
                              "platform": "web"}  # fmt: skip
    if key is not None:
        device |= key.device_fields()
    response = client.post(
        "/mobile/v1/auth/login",
        json={"username": user.username, "password": PASSWORD, "device": device},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    if key is not None:
        assert body["key_id"] is not None
        key.key_id = body["key_id"]
    return bearer(body["token"]), body["device_id"]


def _stored(db: Session, client_event_id: str) -> tuple[int, int]:
    """Events and stored answers a client event ID left."""
    key = uuid.UUID(client_event_id)
    events = db.scalar(select(func.count()).where(CustodyEvent.client_event_id == key))
    receipts = db.scalar(select(func.count()).where(ScanReceipt.client_event_id == key))
    return events or 0, receipts or 0


# -- the form and the signature itself -----------------------------------------------------


def test_numbers_are_written_as_javascript_writes_them() -> None:
    cases = {12.0: "12", 21.185: "21.185", -0.0: "0", 1e-05: "0.00001", 1.5e-7: "1.5e-7",
             106.07: "106.07", 0.1 + 0.2: "0.30000000000000004", None: ""}  # fmt: skip
    for value, written in cases.items():
        assert js_number(value) == written, value


def test_a_webcrypto_ecdsa_signature_is_r_and_s_not_der() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der_key = PhoneKey()
    der_key.private = key
    public = base64.b64decode(der_key.public_key_b64)
    data = b"hoso-scan/v1\n"
    p1363 = der_key.raw_signature(data)
    assert len(p1363) == 64
    assert signature_valid("ES256", public, p1363, data)
    # What Python's cryptography writes by default (DER, ~70 bytes) is not what a phone
    # sends, and is refused rather than guessed at.
    der = key.sign(data, ec.ECDSA(hashes.SHA256()))
    assert not signature_valid("ES256", public, der, data)
    assert not signature_valid("ES256", public, p1363, data + b"x")
    assert not signature_valid("Ed25519", public, p1363, data)


# -- at the door ---------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["ES256", "Ed25519"])
def test_a_signed_scan_is_accepted_and_its_signature_kept(
    client: TestClient, db: Session, settings: Settings, algorithm: str
) -> None:
    key = PhoneKey(algorithm)
    headers, device_id = _sign_in(client, db, key)
    stored_key = db.scalar(select(DeviceKey).where(DeviceKey.key_id == key.key_id))
    assert stored_key is not None and stored_key.device_id == device_id
    item = dossier_of(db, make_case(db, settings))
    signed = key.sign(pickup_event(item.code, lat=21.0285, lon=105.8542, gps_accuracy_m=7.5))
    (result,) = scans(client, headers, signed)["results"]
    assert result["outcome"] == "accepted", result
    event_id = uuid.UUID(result["events"][0]["event_id"])
    row = db.get(EventDeviceSignature, event_id)
    assert row is not None and row.key_id == key.key_id and len(row.signature) == 64
    problems = [p for p in verify_ledger(db).problems if p.item_code == item.code]
    assert problems == []


def test_scans_without_a_valid_signature_are_refused_and_nothing_is_stored(
    client: TestClient, db: Session, settings: Settings
) -> None:
    key = PhoneKey()
    headers, _ = _sign_in(client, db, key)
    other = PhoneKey()
    _sign_in(client, db, other)  # another phone's key: valid, but not this device's
    items = [dossier_of(db, make_case(db, settings)) for _ in range(4)]
    unsigned = pickup_event(items[0].code)
    tampered = key.sign(pickup_event(items[1].code))
    tampered["lat"] = 21.5  # moved after signing
    foreign = other.sign(pickup_event(items[2].code))
    good = key.sign(pickup_event(items[3].code))
    answer = scans(client, headers, unsigned, tampered, foreign, good)
    reasons = [r["reason_code"] for r in answer["results"]]
    assert reasons == [
        "device_signature_missing", "device_signature_invalid", "device_key_unknown", None,
    ]  # fmt: skip
    assert answer["results"][3]["outcome"] == "accepted"
    for refused in answer["results"][:3]:
        assert refused["outcome"] == "rejected"
        assert refused["message"]  # the courier's words, from the catalogue
        assert _stored(db, refused["client_event_id"]) == (0, 0)
    assert _stored(db, good["client_event_id"]) == (1, 1)


def test_a_signature_over_other_evidence_is_refused(
    client: TestClient, db: Session, settings: Settings
) -> None:
    key = PhoneKey()
    headers, _ = _sign_in(client, db, key)
    item = dossier_of(db, make_case(db, settings))
    signed = key.sign(pickup_event(item.code))
    signed["details"] = {**signed["details"], "fees_collected_vnd": 0}
    (result,) = scans(client, headers, signed)["results"]
    assert result["reason_code"] == "device_signature_invalid"
    assert _stored(db, signed["client_event_id"]) == (0, 0)


def test_a_door_step_form_is_signed_as_its_scan(
    client: TestClient, db: Session, settings: Settings
) -> None:
    key = PhoneKey()
    headers, _ = _sign_in(client, db, key)
    item = dossier_of(db, make_case(db, settings))
    scan = pickup_event(item.code)
    form = {
        "client_event_id": scan["client_event_id"], "code": item.code,
        "occurred_at": scan["occurred_at"], "lat": scan["lat"], "lon": scan["lon"],
        "gps_accuracy_m": scan["gps_accuracy_m"],
        "checklist": scan["details"]["checklist"],
        "seal_number": scan["details"]["seal_number"],
        "fees_collected_vnd": scan["details"]["fees_collected_vnd"],
        "payment_method": scan["details"]["payment_method"],
        "citizen_signature_sha256": scan["evidence"]["citizen_signature_sha256"],
        "courier_signature_sha256": scan["evidence"]["courier_signature_sha256"],
    }  # fmt: skip
    unsigned = client.post("/mobile/v1/pickups", json=form, headers=headers)
    assert unsigned.status_code == 422
    assert unsigned.json()["error"] == "device_signature_missing"
    # The form is signed as the scan it becomes: its checklist entries with their defaults.
    entries = [{**e, "not_applicable": False, "pages": None} for e in form["checklist"]]
    signed = key.sign({**scan, "details": {**scan["details"], "checklist": entries}})
    form |= {"key_id": signed["key_id"], "signature": signed["signature"]}
    accepted = client.post("/mobile/v1/pickups", json=form, headers=headers)
    assert accepted.status_code == 200, accepted.text


def test_a_phone_without_a_key_is_refused_once_signatures_are_required(
    client: TestClient, db: Session, settings: Settings
) -> None:
    headers, _ = _sign_in(client, db, None)
    item = dossier_of(db, make_case(db, settings))
    settings.device_signatures_required = True
    try:
        (result,) = scans(client, headers, pickup_event(item.code))["results"]
    finally:
        settings.device_signatures_required = False
    assert result["reason_code"] == "device_signature_missing"


def test_a_bad_public_key_refuses_the_sign_in(client: TestClient, db: Session) -> None:
    user = make_user(db, "courier")
    device = {
        "install_id": unique("install-"),
        "name": "Máy thử",
        "platform": "web",
        "public_key": base64.b64encode(b"not a key").decode(),
        "key_algorithm": "ES256",
    }
    response = client.post(
        "/mobile/v1/auth/login",
        json={"username": user.username, "password": PASSWORD, "device": device},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "device.public_key"


def test_revoking_the_device_revokes_its_key(
    client: TestClient, db: Session, settings: Settings
) -> None:
    key = PhoneKey()
    _, device_id = _sign_in(client, db, key)
    revoke_device(db, make_user(db, "admin"), device_id, now=datetime.now(UTC))
    stored = db.scalar(select(DeviceKey).where(DeviceKey.key_id == key.key_id))
    assert stored is not None and stored.revoked_at is not None


# -- a forger with the database but not the phone ------------------------------------------


def test_a_forged_device_event_is_reported_by_verify_with_item_and_sequence(
    client: TestClient, db: Session, settings: Settings
) -> None:
    key = PhoneKey()
    headers, device_id = _sign_in(client, db, key)
    item = dossier_of(db, make_case(db, settings))
    (result,) = scans(client, headers, key.sign(pickup_event(item.code)))["results"]
    assert result["outcome"] == "accepted"
    seq = append_forged_event(db, item.code, "delivered", device_id)
    # A second forgery borrows the real scan's signature for another event of the phone.
    second = append_forged_event(db, item.code, "attempt_failed", device_id)
    stolen = db.get(EventDeviceSignature, uuid.UUID(result["events"][0]["event_id"]))
    assert stolen is not None
    forged_id = db.scalar(
        select(CustodyEvent.event_id).where(
            CustodyEvent.item_id == item.id, CustodyEvent.seq == second
        )
    )
    borrowed = EventDeviceSignature(
        event_id=forged_id,
        key_id=stolen.key_id,
        signature=stolen.signature,
        sent_sha256=stolen.sent_sha256,
    )
    db.add(borrowed)
    db.flush()
    found = {(p.item_code, p.seq, p.problem) for p in verify_ledger(db).problems}
    assert (item.code, seq, f"claims device {device_id} but carries no device signature") in found
    assert (
        item.code,
        second,
        f"device signature (key {key.key_id}) does not match the event",
    ) in found


def test_the_statement_is_what_the_phone_and_the_server_both_write() -> None:
    """A fixed event and key id give fixed bytes (docs/ledger.md shows this example)."""
    event = {
        "client_event_id": "0b7c8a8e-2f4e-4d0b-9d7e-3f5b1f0c9a11", "kind": "delivered",
        "code": "RR000000014VN", "occurred_at": "2026-12-03T15:30:02.120+07:00",
        "lat": 21.0285, "lon": 105.8542, "gps_accuracy_m": 12.0,
        "evidence": {"proof": "otp", "otp_code": "123456"}, "details": {},
    }  # fmt: skip
    lines = statement_of(event, "3f2a9c0d11e4b7a6").decode().split("\n")
    assert lines[:11] == [
        "hoso-scan/v1", "3f2a9c0d11e4b7a6", "0b7c8a8e-2f4e-4d0b-9d7e-3f5b1f0c9a11", "delivered",
        "RR000000014VN", "2026-12-03T08:30:02.120000Z", "+07:00", "21.0285", "105.8542", "12",
        "",
    ]  # fmt: skip
    assert len(lines[11]) == 64 and lines[12] == ""


def test_a_signed_scan_of_a_bag_signs_every_items_event(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """A bag scanned fans out to one event per item inside: each keeps the one signature,
    and verify rebuilds the statement from each (the raw code is the bag's)."""
    from core.custody.models import Bag
    from core.custody.service import ScanCommand, record_one
    from core.identity.service import actor_for
    from labels.s10 import make_item_id
    from tests.core.custody.helpers import PICKUP_DETAILS
    from tests.mobile_api.helpers import event

    dispatcher = make_user(db, "dispatcher")
    post = actor_for(dispatcher)
    courier = actor_for(make_user(db, "courier", post_office_id=dispatcher.post_office_id))
    items = [dossier_of(db, make_case(db, settings)) for _ in range(2)]
    now = datetime.now(UTC)
    bag = Bag(code=make_item_id("BG", 7), post_office_id=dispatcher.post_office_id or 0)
    db.add(bag)
    db.flush()
    for item in items:
        steps = (
            (courier, ScanCommand("picked_up", item.code, now, details=PICKUP_DETAILS)),
            (courier, ScanCommand("handover_offered", item.code, now, to_party=post.party)),
            (post, ScanCommand("handover_confirmed", item.code, now)),
            (post, ScanCommand("bagged", item.code, now, details={"bag_code": bag.code})),
        )
        for actor, command in steps:
            record_one(db, actor, command)
    key = PhoneKey()
    response = client.post(
        "/mobile/v1/auth/login",
        json={"username": dispatcher.username, "password": PASSWORD,
              "device": {"install_id": unique("install-"), "name": "Máy kho",
                         "platform": "web", **key.device_fields()}},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    key.key_id = response.json()["key_id"]
    headers = bearer(response.json()["token"])
    (result,) = scans(client, headers, key.sign(event("departed", bag.code)))["results"]
    assert result["outcome"] == "accepted", result
    assert len(result["events"]) == 2
    for fanned in result["events"]:
        row = db.get(EventDeviceSignature, uuid.UUID(fanned["event_id"]))
        assert row is not None and row.key_id == key.key_id
    codes = {item.code for item in items}
    assert [p for p in verify_ledger(db).problems if p.item_code in codes] == []
