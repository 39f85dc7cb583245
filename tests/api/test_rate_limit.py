"""Public endpoints are limited per client address (reliability report D3)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from api.ratelimit import Limiter, rule_for
from core.settings import Settings


def test_the_address_parser_answers_429_with_retry_after_past_its_burst(
    client: TestClient,
) -> None:
    rule = rule_for("POST", "/api/v1/addresses/parse")
    assert rule is not None
    # The clock stands still, so no token comes back while the requests run.
    limiter: Limiter = client.app.state.rate_limiter  # type: ignore[attr-defined]
    limiter.clock = lambda: 1000.0
    answers = [
        client.post("/api/v1/addresses/parse", json={"text": "Phường Kinh Bắc, Bắc Ninh"})
        for _ in range(rule.burst + 1)
    ]
    assert all(a.status_code != 429 for a in answers[:-1])
    refused = answers[-1]
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"] == "rate_limited"
    # The error shape, and the request ID every error answer carries.
    assert set(refused.json()) == {"error", "detail", "field", "message", "request_id"}
    assert refused.json()["message"].startswith("Quá nhiều yêu cầu từ máy này")
    # Another group is counted apart: tracking still answers.
    assert client.get("/api/v1/tracking/DR000000266VN").status_code != 429


def test_a_bucket_refills_with_time_and_counts_each_address_apart() -> None:
    now = [0.0]
    limiter = Limiter(clock=lambda: now[0])
    rule = rule_for("GET", "/t/DR000000266VN")
    assert rule is not None
    assert all(limiter.wait_for(rule, "10.0.0.1") == 0 for _ in range(rule.burst))
    wait = limiter.wait_for(rule, "10.0.0.1")
    assert wait > 0
    assert limiter.wait_for(rule, "10.0.0.2") == 0  # another address has its own bucket
    now[0] += wait
    assert limiter.wait_for(rule, "10.0.0.1") == 0


def test_the_scale_setting_raises_every_limit_in_proportion() -> None:
    rule = rule_for("GET", "/t/DR000000266VN")
    assert rule is not None
    scaled = Limiter(clock=lambda: 0.0, scale=3.0)
    allowed = 0
    while scaled.wait_for(rule, "10.0.0.1") == 0:
        allowed += 1
    assert allowed == 3 * rule.burst


def test_the_app_takes_its_limiter_scale_from_the_settings(database_url: str) -> None:
    settings = Settings(environment="test", secret_key="test-secret", database_url=None,
                        public_rate_limit_scale=50.0)  # fmt: skip
    assert create_app(settings, url=database_url).state.rate_limiter.scale == 50.0
