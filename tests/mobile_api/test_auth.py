"""Device-bound sign-in, and revocation that stops a phone from recording anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.custody.models import CustodyEvent
from core.identity.models import ApiToken, Device, SignInFailure
from core.identity.service import MAX_FAILURES_PER_ACCOUNT, issue_token
from core.settings import Settings
from tests.factories import dossier_of, make_case, make_post_office, make_user
from tests.mobile_api.helpers import (
    PASSWORD,
    bearer,
    login,
    pickup_event,
    signed_in,
)


def _events_for(db: Session, code_item_id: int) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(CustodyEvent)
            .where(CustodyEvent.item_id == code_item_id)
        )
        or 0
    )


def test_a_courier_signs_in_and_the_token_is_bound_to_the_device(
    client: TestClient, db: Session
) -> None:
    courier = make_user(db, "courier")
    body = login(client, courier, install_id="install-abc-123")
    device = db.get(Device, body["device_id"])
    assert device is not None
    assert (device.user_id, device.device_uid, device.platform) == (
        courier.id,
        "install-abc-123",
        "android",
    )
    token_row = db.scalar(select(ApiToken).where(ApiToken.user_id == courier.id))
    assert token_row is not None and token_row.device_id == device.id
    me = client.get("/mobile/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200 and me.json()["username"] == courier.username
    # Signing in again on the same install reuses the device.
    assert login(client, courier, install_id="install-abc-123")["device_id"] == device.id


def test_wrong_password_and_wrong_roles_are_refused(client: TestClient, db: Session) -> None:
    courier = make_user(db, "courier")
    device = {"install_id": "install-xyz-999", "name": "Phone", "platform": "ios"}
    wrong = client.post(
        "/mobile/v1/auth/login",
        json={"username": courier.username, "password": "not the password", "device": device},
    )
    assert wrong.status_code == 401
    assert db.scalar(select(Device).where(Device.user_id == courier.id)) is None
    for role in ("citizen", "desk_officer"):
        other = make_user(db, role)
        refused = client.post(
            "/mobile/v1/auth/login",
            json={"username": other.username, "password": PASSWORD, "device": device},
        )
        assert refused.status_code == 403, refused.text
    bad_platform = client.post(
        "/mobile/v1/auth/login",
        json={
            "username": courier.username,
            "password": PASSWORD,
            "device": {**device, "platform": "nokia"},
        },
    )
    assert bad_platform.status_code == 422
    assert bad_platform.json()["field"] == "device.platform"


def test_no_or_unknown_token_is_401(client: TestClient) -> None:
    assert client.get("/mobile/v1/me").status_code == 401
    response = client.get("/mobile/v1/me", headers=bearer("not-a-token"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_revoked_device_gets_401_and_records_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    dispatcher, dispatcher_headers = signed_in(client, db, "dispatcher")
    item = dossier_of(db, make_case(db, settings))
    device_id = db.scalar(select(Device.id).where(Device.user_id == courier.id))

    revoked = client.post(f"/mobile/v1/devices/{device_id}/revoke", headers=dispatcher_headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None

    before = _events_for(db, item.id)
    response = client.post(
        "/mobile/v1/scans", json={"events": [pickup_event(item.code)]}, headers=headers
    )
    assert response.status_code == 401
    assert response.json()["detail"] in ("token revoked", "device revoked")
    assert _events_for(db, item.id) == before
    # The same install cannot sign back in; a new install can (a dispatcher knows of it).
    again = client.post(
        "/mobile/v1/auth/login",
        json={
            "username": courier.username,
            "password": PASSWORD,
            "device": {
                "install_id": db.get(Device, device_id).device_uid,  # type: ignore[union-attr]
                "name": "Phone",
                "platform": "android",
            },
        },
    )
    assert again.status_code == 403
    assert again.json()["field"] == "install_id"


def test_only_the_same_post_office_or_an_admin_can_revoke(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier = make_user(db, "courier")
    device_id = login(client, courier)["device_id"]
    elsewhere = make_post_office(db)
    _, other_dispatcher = signed_in(client, db, "dispatcher", post_office_id=elsewhere.id)
    _, fellow_courier = signed_in(client, db, "courier")
    url = f"/mobile/v1/devices/{device_id}/revoke"
    assert client.post(url, headers=other_dispatcher).status_code == 403
    assert client.post(url, headers=fellow_courier).status_code == 403
    assert db.get(Device, device_id).revoked_at is None  # type: ignore[union-attr]
    # An admin signs in elsewhere (the staff web); any of their tokens may revoke.
    admin = make_user(db, "admin")
    token = issue_token(db, settings, admin, now=datetime.now(UTC)).token
    assert client.post(url, headers=bearer(token)).status_code == 200
    listed = client.get("/mobile/v1/devices", headers=bearer(token)).json()
    assert any(d["id"] == device_id and d["revoked_at"] for d in listed)


def test_logout_and_expiry_end_the_token(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    assert client.post("/mobile/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/mobile/v1/me", headers=headers).json()["detail"] == "token revoked"
    old = issue_token(db, settings, courier, now=datetime.now(UTC) - timedelta(days=2))
    expired = client.get("/mobile/v1/me", headers=bearer(old.token))
    assert (expired.status_code, expired.json()["detail"]) == (401, "token expired")


def test_the_openapi_document_describes_the_mobile_contract(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    mobile = {
        path
        for path, ops in spec["paths"].items()
        if any("mobile" in op.get("tags", []) for op in ops.values())
    }
    assert {
        "/mobile/v1/auth/login",
        "/mobile/v1/scans",
        "/mobile/v1/runsheet",
        "/mobile/v1/media/{sha256}",
        "/mobile/v1/pings",
    } <= mobile
    assert all(path.startswith("/mobile/v1/") for path in mobile)
    batch = spec["paths"]["/mobile/v1/scans"]["post"]["requestBody"]["content"]
    events = batch["application/json"]["schema"]["properties"]["events"]
    assert events["maxItems"] == 500
    assert {"client_event_id", "kind", "code", "occurred_at"} <= set(events["items"]["required"])
    assert "picked_up" in events["items"]["properties"]["kind"]["enum"]


def test_failed_sign_ins_count_and_then_are_refused(client: TestClient, db: Session) -> None:
    courier = make_user(db, "courier")
    body = {
        "username": courier.username,
        "password": "not the password",
        "device": {"install_id": "phone-lost-on-the-bus", "name": "x", "platform": "android"},
    }
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        failed = client.post("/mobile/v1/auth/login", json=body)
        assert failed.status_code == 401
        assert failed.json()["field"] == "password"
    # The failures were committed with the answer, and now even the right password waits.
    assert (
        db.scalar(select(func.count()).where(SignInFailure.username == courier.username))
        == MAX_FAILURES_PER_ACCOUNT
    )
    refused = client.post("/mobile/v1/auth/login", json={**body, "password": PASSWORD})
    assert refused.status_code == 429
    assert (refused.json()["error"], refused.json()["field"]) == ("rate_limited", "username")
    assert "token" not in refused.json()
