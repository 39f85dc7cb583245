"""SIGKILL the server while a phone syncs; after restart and retries nothing is lost or doubled."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.custody.models import CustodyEvent, Item
from core.db import transaction
from core.identity.service import issue_token
from core.settings import Settings
from tests.factories import dossier_of, make_case, make_user
from tests.mobile_api.helpers import PASSWORD, pickup_event
from tests.mobile_api.server import free_port, start_server

ITEMS = 240
BATCH = 20


def test_events_survive_a_killed_server_exactly_once(
    committing: sessionmaker[Session], settings: Settings, database_url: str
) -> None:
    with transaction(committing) as session:
        cases = [make_case(session, settings) for _ in range(ITEMS)]
        ids = [c.dossier_item_id for c in cases]
        codes = list(session.scalars(select(Item.code).where(Item.id.in_(ids))))
        courier = make_user(session, "courier")
    # Everything the phone records, before it tries to send any of it.
    batches = [
        [pickup_event(code) for code in codes[start : start + BATCH]]
        for start in range(0, len(codes), BATCH)
    ]
    port = free_port()
    base = f"http://127.0.0.1:{port}/mobile/v1"
    server = start_server(database_url, port, settings.secret_key)
    answered: list[list[dict[str, Any]]] = []
    failures: list[str] = []
    try:
        login = httpx.post(
            f"{base}/auth/login",
            json={
                "username": courier.username,
                "password": PASSWORD,
                "device": {
                    "install_id": "crash-test-phone",
                    "name": "Phone",
                    "platform": "android",
                },
            },
            timeout=30,
        )
        headers = {"Authorization": f"Bearer {login.json()['token']}"}

        def phone() -> None:
            # The app's rule: resend the same batch until an answer arrives.
            for batch in batches:
                for _ in range(600):
                    try:
                        response = httpx.post(
                            f"{base}/scans", json={"events": batch}, headers=headers, timeout=10
                        )
                    except httpx.HTTPError as exc:
                        failures.append(type(exc).__name__)
                        time.sleep(0.1)
                        continue
                    if response.status_code == 200:
                        answered.append(response.json()["results"])
                        break
                    failures.append(str(response.status_code))
                    time.sleep(0.1)

        sender = threading.Thread(target=phone)
        sender.start()
        while len(answered) < 3 and sender.is_alive():
            time.sleep(0.005)
        server.send_signal(signal.SIGKILL)
        server.wait()
        time.sleep(0.5)  # the phone keeps retrying into a dead port
        server = start_server(database_url, port, settings.secret_key)
        sender.join(timeout=300)
        assert not sender.is_alive()
    finally:
        server.kill()
        server.wait()

    assert failures, "the kill should have cost the phone at least one attempt"
    assert len(answered) == len(batches)
    assert all(r["outcome"] == "accepted" for results in answered for r in results)
    client_ids = [uuid.UUID(e["client_event_id"]) for batch in batches for e in batch]
    with transaction(committing) as session:
        rows = session.execute(
            select(CustodyEvent.client_event_id, func.count())
            .where(CustodyEvent.client_event_id.in_(client_ids))
            .group_by(CustodyEvent.client_event_id)
        )
        counts: dict[uuid.UUID | None, int] = {row[0]: row[1] for row in rows.all()}
    assert len(counts) == len(client_ids) == ITEMS
    assert set(counts.values()) == {1}


def test_the_answer_leaves_only_after_the_commit(
    committing: sessionmaker[Session], settings: Settings, database_url: str
) -> None:
    """When the phone receives "accepted", the events are already committed: a crash after
    the answer cannot lose them. Checked at the moment the response starts, from another
    connection."""
    with transaction(committing) as session:
        code = dossier_of(session, make_case(session, settings)).code
        courier = make_user(session, "courier")
        token = issue_token(session, settings, courier, now=datetime.now(UTC)).token
    event = pickup_event(code)
    body = orjson.dumps({"events": [event]})
    app = create_app(settings, url=database_url)
    committed_when_answered: list[int] = []

    def committed() -> int:
        with transaction(committing) as session:
            key = uuid.UUID(event["client_event_id"])
            query = select(func.count()).select_from(CustodyEvent)
            return session.scalar(query.where(CustodyEvent.client_event_id == key)) or 0

    async def call() -> None:
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await anyio.sleep_forever()
            raise AssertionError("unreachable")

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                assert message["status"] == 200
                committed_when_answered.append(committed())

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/mobile/v1/scans",
            "raw_path": b"/mobile/v1/scans",
            "query_string": b"",
            "root_path": "",
            "server": ("test", 80),
            "client": ("test", 1),
            "headers": [
                (b"content-type", b"application/json"),
                (b"authorization", f"Bearer {token}".encode()),
            ],
        }
        await app(scope, receive, send)

    # A thread of its own: the browser tests' Playwright keeps an event loop in this one.
    runner = threading.Thread(target=anyio.run, args=(call,))
    runner.start()
    runner.join(timeout=60)
    assert committed_when_answered == [1]
