"""Signing a citizen in through the API, as a phone would: code by SMS (outbox), then verify."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from edge.deps import get_now
from tests.core.booking.helpers import NOW
from tests.factories import sent_code

_phones = itertools.count(1)


def fresh_phone() -> str:
    return f"0977{next(_phones):06d}"


def at_now(client: TestClient) -> None:
    """Freeze the app's clock at the test's Monday morning so every window is offered."""
    client.app.dependency_overrides[get_now] = lambda: NOW  # type: ignore[attr-defined]


def sign_in(client: TestClient, db: Session, phone: str | None = None) -> dict[str, str]:
    """Sign in; returns the bearer header. The client also keeps the session cookie."""
    phone = phone or fresh_phone()
    assert client.post("/api/v1/citizen/sign-in/code", json={"phone": phone}).status_code == 202
    response = client.post(
        "/api/v1/citizen/sign-in", json={"phone": phone, "code": sent_code(db, phone)}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
