"""Watchable (issue 16): JSON log lines with every field and the request ID, the ID in error
answers, and a protected Prometheus /metrics with per-route latency, scans, the outbox
backlog and the ledger's growth."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.db import transaction
from core.ops.logs import configure_logging
from core.outbox.models import OutboxMessage
from core.settings import Settings
from tests.factories import dossier_of, make_case, make_user
from tests.mobile_api.helpers import bearer, login, pickup_event, scans


@pytest.fixture
def json_log(settings: Settings) -> Iterator[io.StringIO]:
    """The production log configuration, writing into a buffer; the test's own put back."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging(settings.model_copy(update={"log_format": "json"}), stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.fixture
def live(settings: Settings, database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings, url=database_url)) as client:
        yield client


def test_log_lines_are_json_with_every_field_and_the_request_id(
    json_log: io.StringIO,
    live: TestClient,
    committing: sessionmaker[Session],
    settings: Settings,
) -> None:
    with transaction(committing) as session:
        case = make_case(session, settings)
        code = dossier_of(session, case).code
        courier = make_user(session, "courier")
    headers = bearer(login(live, courier)["token"]) | {"X-Request-ID": "phone-42.batch-7"}
    answer = live.post("/mobile/v1/scans", json={"events": [pickup_event(code)]}, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "phone-42.batch-7"
    of_request = [line for line in lines(json_log) if line.get("request_id") == "phone-42.batch-7"]
    # Our own stdlib logging with extra= fields, and the request line, both carry the ID.
    [batch] = [line for line in of_request if line["event"] == "custody.batch_recorded"]
    assert (batch["events"], batch["commands"], batch["level"]) == (1, 1, "info")
    assert batch["logger"] == "core.custody.service" and batch["timestamp"].endswith("Z")
    [request] = [line for line in of_request if line["event"] == "http.request"]
    assert (request["route"], request["method"], request["status"]) == (
        "/mobile/v1/scans",
        "POST",
        200,
    )
    assert request["duration_ms"] > 0


def test_error_answers_carry_the_request_id(json_log: io.StringIO, live: TestClient) -> None:
    refused = live.get("/api/v1/tracking/NOT-A-CODE")
    assert 400 <= refused.status_code < 500
    body = refused.json()
    generated = refused.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert body["request_id"] == generated and {"error", "detail", "field"} <= body.keys()
    # A header that could forge log lines is not taken as the ID.
    forged = live.get("/api/v1/tracking/NOT-A-CODE", headers={"X-Request-ID": "a b\\n{"})
    assert forged.headers["x-request-id"] != "a b\\n{"
    assert forged.json()["request_id"] == forged.headers["x-request-id"]
    [line] = [x for x in lines(json_log) if x.get("request_id") == generated]
    assert line["status"] == refused.status_code and line["route"] == "/api/v1/tracking/{item_id}"


def test_an_unhandled_error_answers_500_with_the_request_id(
    json_log: io.StringIO, settings: Settings, database_url: str
) -> None:
    app = create_app(settings, url=database_url)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/boom", headers={"X-Request-ID": "req-500"})
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "req-500"
    assert answer.json()["request_id"] == "req-500" and answer.json()["error"] == "internal_error"
    logged = [x for x in lines(json_log) if x.get("request_id") == "req-500"]
    assert {x["event"] for x in logged} >= {"http.unhandled_error", "http.request"}
    [error] = [x for x in logged if x["event"] == "http.unhandled_error"]
    assert "RuntimeError" in json.dumps(error["exception"])


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + ("{" if labels else " ")):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} {labels} in /metrics")


def test_metrics_are_protected(settings: Settings, database_url: str) -> None:
    # The test client's address is not an IP: neither the default allow list nor a wrong
    # token lets it in; the right token does.
    guarded = settings.model_copy(update={"metrics_token": "scrape-token"})
    with TestClient(create_app(guarded, url=database_url)) as client:
        assert client.get("/metrics").status_code == 403
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403 and wrong.json()["field"] == "authorization"
        right = client.get("/metrics", headers={"Authorization": "Bearer scrape-token"})
        assert right.status_code == 200


def test_metrics_cover_routes_scans_outbox_and_ledger(
    settings: Settings, database_url: str, committing: sessionmaker[Session]
) -> None:
    open_metrics = settings.model_copy(update={"metrics_allow_ips": "*"})
    now = datetime.now(UTC)
    topic = f"test.metrics.{now.timestamp()}"
    with transaction(committing) as session:
        case = make_case(session, settings)
        code = dossier_of(session, case).code
        courier = make_user(session, "courier")
        # Never due, so no other test's worker pass picks it up.
        for age in (30, 10):
            created, never = now - timedelta(minutes=age), now + timedelta(days=365)
            session.add(
                OutboxMessage(topic=topic, payload={}, created_at=created, available_at=never)
            )
    with TestClient(create_app(open_metrics, url=database_url)) as client:
        before = client.get("/metrics").text
        headers = bearer(login(client, courier)["token"])
        scans(client, headers, pickup_event(code), pickup_event("DH000000000VN"))
        after = client.get("/metrics").text
    assert metric(after, "hoso_outbox_backlog", topic=topic) == 2
    assert 30 * 60 <= metric(after, "hoso_outbox_oldest_age_seconds", topic=topic) < 32 * 60
    assert metric(after, "hoso_database_up") == 1
    for outcome in ("accepted", "rejected"):
        grew = metric(after, "hoso_scans_total", outcome=outcome) - _or_zero(
            before, "hoso_scans_total", outcome=outcome
        )
        assert grew == 1, outcome
    assert metric(after, "hoso_ledger_events_appended_total") > metric(
        before, "hoso_ledger_events_appended_total"
    )
    # Latency per route template, never per raw path.
    assert metric(after, "hoso_http_request_duration_seconds_count", route="/mobile/v1/scans",
                  method="POST", status="200") >= 1  # fmt: skip
    assert code not in after
    # Every series the sample Grafana dashboard plots exists.
    dashboard = (Path(__file__).resolve().parents[2] / "docs" / "grafana-hoso.json").read_text()
    plotted = set(re.findall(r"hoso_[a-z_]+", dashboard)) - {"hoso_overview"}
    assert plotted and {name for name in plotted if name not in after} == set()


def _or_zero(text: str, name: str, **labels: str) -> float:
    try:
        return metric(text, name, **labels)
    except AssertionError:
        return 0.0
