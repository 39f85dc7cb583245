"""Location pings: batched, idempotent, readable by the dispatcher, pruned after 30 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.cli import app
from core.courier.models import LocationPing
from core.courier.pings import Fix, prune_pings, record_pings
from core.db import transaction
from core.settings import get_settings
from tests.factories import make_post_office, make_user
from tests.mobile_api.helpers import signed_in
from vntime import VN


def _ping(minutes_ago: int, lat: float = 21.18) -> dict[str, object]:
    fixed = datetime.now(VN) - timedelta(minutes=minutes_ago)
    return {
        "fixed_at": fixed.isoformat(),
        "lat": lat,
        "lon": 106.07,
        "accuracy_m": 9.5,
        "speed_mps": 6.0,
        "heading_deg": 90,
    }


def test_pings_are_stored_once_and_the_dispatcher_sees_the_latest(
    client: TestClient, db: Session
) -> None:
    courier, headers = signed_in(client, db)
    _, dispatcher = signed_in(client, db, "dispatcher")
    batch = {"pings": [_ping(3), _ping(2), _ping(1, lat=21.19)]}
    first = client.post("/mobile/v1/pings", json=batch, headers=headers)
    assert first.json() == {"stored": 3, "duplicates": 0}
    again = client.post("/mobile/v1/pings", json=batch, headers=headers)
    assert again.json() == {"stored": 0, "duplicates": 3}
    where = client.get(f"/mobile/v1/couriers/{courier.id}/position", headers=dispatcher)
    assert where.status_code == 200 and where.json()["lat"] == 21.19
    stored = db.scalar(select(LocationPing).where(LocationPing.user_id == courier.id).limit(1))
    assert stored is not None and stored.device_id is not None

    _, far = signed_in(client, db, "dispatcher", post_office_id=make_post_office(db).id)
    assert client.get(f"/mobile/v1/couriers/{courier.id}/position", headers=far).status_code == 403
    assert (
        client.get(f"/mobile/v1/couriers/{courier.id}/position", headers=headers).status_code == 403
    )


def test_bad_pings_are_refused_whole(client: TestClient, db: Session) -> None:
    _, headers = signed_in(client, db)
    future = {"pings": [_ping(-60)]}
    refused = client.post("/mobile/v1/pings", json=future, headers=headers)
    assert (refused.status_code, refused.json()["field"]) == (422, "pings.0.fixed_at")
    off_map = {"pings": [{**_ping(1), "lat": 123}]}
    refused = client.post("/mobile/v1/pings", json=off_map, headers=headers)
    assert (refused.status_code, refused.json()["field"]) == (422, "pings.0.lat")


def test_pings_older_than_30_days_are_pruned(db: Session) -> None:
    courier = make_user(db, "courier")
    now = datetime.now(UTC)
    for days_ago in (31, 29):
        received = now - timedelta(days=days_ago)
        record_pings(db, courier.id, None, [Fix(received, 21.18, 106.07, 10.0)], now=received)
    assert prune_pings(db, now=now) == 1
    left = db.scalars(select(LocationPing.received_at).where(LocationPing.user_id == courier.id))
    assert [r.date() for r in left] == [(now - timedelta(days=29)).date()]


def test_the_prune_command(
    committing: sessionmaker[Session], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(committing) as session:
        courier = make_user(session, "courier")
        old = datetime.now(UTC) - timedelta(days=40)
        record_pings(session, courier.id, None, [Fix(old, 21.18, 106.07, 10.0)], now=old)
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["pings", "prune"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "removed" in result.output
    with transaction(committing) as session:
        count = session.scalar(
            select(func.count()).select_from(LocationPing).where(LocationPing.user_id == courier.id)
        )
    assert count == 0
