"""Every bad input of the reliability report's D8 table (and D3, D12, D14), driven against the
real app: each answers 4xx with ``{error, detail, field}`` and changes no row."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.agency.service import create_system, issue_key, verify_request
from core.agency.signing import SignedRequest
from core.errors import Unauthorized
from core.settings import Settings
from tests.api.citizen_helpers import at_now, sign_in
from tests.core.booking.helpers import ADDRESS, CCCD_FEMALE_1990, FIRST_WINDOW, make_area
from tests.factories import make_user, unique
from tests.mobile_api.helpers import bearer, login

MB = 1024 * 1024


def _booking(procedure_id: int, office_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_option": "both",
        "procedure_id": procedure_id,
        "address": ADDRESS,
        "office_id": office_id,
        "pickup_window_start": FIRST_WINDOW.isoformat(),
        "contact_name": "Trần Thị Hoa",
        "contact_phone": "0912345678",
        "cccd": CCCD_FEMALE_1990,
        "citizen_sex": "female",
        "citizen_birth_year": 1990,
        "payment_method": "cash",
    }
    body.update(overrides)
    return body


@dataclass
class World:
    """What a probe may need: a signed-in citizen, a courier's token, an agency key."""

    client: TestClient
    db: Session
    settings: Settings
    procedure_id: int = 0
    office_id: int = 0
    courier: dict[str, str] = field(default_factory=dict)
    agency_key_id: str = ""


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    body: bytes | Callable[[World], bytes] = b""
    headers: dict[str, Any] | Callable[[World], dict[str, Any]] = field(default_factory=dict)
    status: int = 422
    field: str | None = None


def _booking_with(raw_field: str, raw_json: str) -> Callable[[World], bytes]:
    """A booking body whose one field is raw JSON text (a lone surrogate escape, say)."""

    def build(world: World) -> bytes:
        body = _booking(world.procedure_id, world.office_id)
        body[raw_field] = "__RAW__"
        return json.dumps(body).replace('"__RAW__"', raw_json).encode()

    return build


def _booking_json(**overrides: Any) -> Callable[[World], bytes]:
    return lambda w: json.dumps({**_booking(w.procedure_id, w.office_id), **overrides}).encode()


def _agency_headers(stamp: bytes) -> Callable[[World], dict[str, Any]]:
    return lambda w: {
        "X-Hoso-Key": w.agency_key_id,
        "X-Hoso-Timestamp": stamp,
        "X-Hoso-Nonce": "n" * 20,
        "X-Hoso-Signature": "0" * 64,
        "Content-Type": "application/json",
    }


JSON = {"Content-Type": "application/json"}
RETURNED = b'{"item_id": "DR000000266VN", "reason": "thi\\u1ebfu gi\\u1ea5y"}'
PROBES: dict[str, Probe] = {
    # D8: integers past PostgreSQL's integer and bigint, in a body and in a path.
    "booking_procedure_int4": Probe(
        "POST", "/api/v1/bookings", _booking_json(procedure_id=2**31), JSON, field="procedure_id"
    ),
    "booking_procedure_int8": Probe(
        "POST", "/api/v1/bookings", _booking_json(procedure_id=2**63), JSON, field="procedure_id"
    ),
    "booking_procedure_past_int8": Probe(
        "POST", "/api/v1/bookings", _booking_json(procedure_id=2**70), JSON, field="procedure_id"
    ),
    "booking_office_int4": Probe(
        "POST", "/api/v1/bookings", _booking_json(office_id=2**31), JSON, field="office_id"
    ),
    "my_case_path_int8": Probe(
        "GET", "/api/v1/my/cases/9223372036854775808", status=422, field="case_id"
    ),  # fmt: skip
    "my_case_path_int4": Probe("GET", "/api/v1/my/cases/2147483648", field="case_id"),
    "handover_path_int4": Probe(
        "GET", "/mobile/v1/handovers/2147483648", headers=lambda w: w.courier, field="handover_id"
    ),
    # D8: year 9999.
    "booking_year_9999": Probe(
        "POST",
        "/api/v1/bookings",
        _booking_json(pickup_window_start="9999-12-31T23:59:59Z"),
        JSON,
        field="pickup_window_start",
    ),
    # D8: NUL and a lone surrogate in text.
    "booking_name_nul": Probe(
        "POST",
        "/api/v1/bookings",
        _booking_json(contact_name="Trần\u0000Bê"),
        JSON,
        field="contact_name",
    ),  # fmt: skip
    "booking_name_surrogate": Probe(
        "POST",
        "/api/v1/bookings",
        _booking_with("contact_name", '"Trần \\ud800 Bê"'),
        JSON,
        field="contact_name",
    ),  # fmt: skip
    "address_nul": Probe(
        "POST", "/api/v1/addresses/parse", b'{"text": "Ph\\u0000"}', JSON, field="text"
    ),
    "query_nul": Probe("GET", "/api/v1/procedures?q=a%00b", field="q"),
    "query_not_utf8": Probe("GET", "/api/v1/procedures?q=%ff%fe", field="q"),
    "path_nul": Probe("GET", "/api/v1/tracking/DR000000266VN%00", field="path"),
    # D12: bodies that are not UTF-8, malformed JSON.
    "booking_not_utf8": Probe("POST", "/api/v1/bookings", b"\xff\xfeR", JSON, field="body"),
    "sign_in_code_not_utf8": Probe(
        "POST", "/api/v1/citizen/sign-in/code", b"\xff\xfeR", JSON, field="body"
    ),
    "quote_not_utf8": Probe("POST", "/api/v1/quotes", b"\xff\xfeR", JSON, field="body"),
    "pickup_not_utf8": Probe(
        "POST", "/mobile/v1/pickups", b"\xff\xfeR", lambda w: {**w.courier, **JSON}, field="body"
    ),
    "malformed_json": Probe(
        "POST", "/api/v1/citizen/sign-in/code", b'{"phone": "09', JSON, field="body"
    ),
    # D3, D14: size limits, public endpoints first.
    "address_1mb": Probe(
        "POST",
        "/api/v1/addresses/parse",
        json.dumps({"text": "Phường Kinh Bắc, " * 60000}).encode(),
        JSON,
        413,
        "body",
    ),  # fmt: skip
    "address_5kb": Probe(
        "POST",
        "/api/v1/addresses/parse",
        json.dumps({"text": "Phường Kinh Bắc, " * 300}).encode(),
        JSON,
        413,
        "body",
    ),  # fmt: skip
    "address_over_field_limit": Probe(
        "POST",
        "/api/v1/addresses/parse",
        json.dumps({"text": "a, " * 100}).encode(),
        JSON,
        field="text",
    ),  # fmt: skip
    "booking_address_1mb": Probe(
        "POST",
        "/api/v1/bookings",
        _booking_json(address="Phường Kinh Bắc, " * 60000),
        JSON,
        413,
        "body",
    ),  # fmt: skip
    "agency_unsigned_2mb": Probe(
        "POST",
        "/api/agency/v1/dossiers/returned",
        b"{" + b" " * (2 * MB) + b"}",
        JSON,
        413,
        "body",
    ),  # fmt: skip
    "default_limit": Probe(
        "POST",
        "/mobile/v1/pings",
        b'{"pings": [' + b" " * MB + b"]}",
        lambda w: {**w.courier, **JSON},
        413,
        "body",
    ),  # fmt: skip
    "declared_length_too_large": Probe(
        "POST",
        "/api/v1/addresses/parse",
        b'{"text": "a"}',
        {**JSON, "Content-Length": "99999999999999999999"},
        413,
        "body",
    ),  # fmt: skip
    # D8: odd timestamp headers on the agency API, no valid signature needed.
    "agency_stamp_400_digits": Probe(
        "POST",
        "/api/agency/v1/dossiers/returned",
        RETURNED,
        _agency_headers(b"9" * 400),
        401,
        "X-Hoso-Timestamp",
    ),  # fmt: skip
    "agency_stamp_5000_digits": Probe(
        "POST",
        "/api/agency/v1/dossiers/returned",
        RETURNED,
        _agency_headers(b"9" * 5000),
        401,
        "X-Hoso-Timestamp",
    ),  # fmt: skip
    "agency_stamp_superscript": Probe(
        "POST",
        "/api/agency/v1/dossiers/returned",
        RETURNED,
        _agency_headers(b"17\xb2"),
        401,
        "X-Hoso-Timestamp",
    ),  # fmt: skip
    "agency_reason_nul": Probe(
        "POST",
        "/api/agency/v1/dossiers/returned",
        b'{"item_id": "DR000000266VN", "reason": "a\\u0000b"}',
        _agency_headers(b"1764748800"),
        field="reason",
    ),  # fmt: skip
    # Non-ASCII header bytes (latin-1 on the wire).
    "bearer_not_ascii": Probe(
        "GET",
        "/mobile/v1/me",
        headers={"Authorization": b"Bearer caf\xe9"},
        status=401,
        field="authorization",
    ),  # fmt: skip
    "citizen_bearer_not_ascii": Probe(
        "GET", "/api/v1/my/cases", headers={"Authorization": b"Bearer caf\xe9"}, status=401
    ),
}


def _row_counts(db: Session) -> dict[str, int]:
    tables = db.scalars(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version' ORDER BY tablename"
        )
    ).all()
    query = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables)
    return {str(table): int(count) for table, count in db.execute(text(query))}


@pytest.fixture
def world(client: TestClient, db: Session, settings: Settings) -> World:
    at_now(client)
    area = make_area(db)
    sign_in(client, db)
    system = create_system(db, code=unique("sys-"), name="Hệ thống một cửa Bắc Ninh",
                           kind="provincial_one_stop", province_code="24")  # fmt: skip
    key = issue_key(db, settings, system, now=datetime.now(UTC))
    courier = bearer(login(client, make_user(db, "courier"))["token"])
    return World(client, db, settings, area.procedure.id, area.office.id, courier, key.key_id)


@pytest.mark.parametrize("name", sorted(PROBES))
def test_a_bad_input_is_refused_with_the_error_shape_and_changes_nothing(
    name: str, world: World
) -> None:
    probe = PROBES[name]
    body = probe.body(world) if callable(probe.body) else probe.body
    headers = probe.headers(world) if callable(probe.headers) else probe.headers
    before = _row_counts(world.db)

    response = world.client.request(probe.method, probe.path, content=body, headers=headers)

    assert response.status_code == probe.status, response.text
    answer = response.json()
    assert {"error", "detail", "field"} <= answer.keys(), answer
    assert isinstance(answer["error"], str) and answer["detail"]
    if probe.field is not None:
        assert answer["field"] == probe.field, answer
    assert _row_counts(world.db) == before


def test_the_openapi_declares_the_422_body_the_app_sends(client: TestClient) -> None:
    """Schema-checking clients saw every 422 as a violation: the document said FastAPI's
    HTTPValidationError (``detail``: a list), the app sends ``{error, detail, field}``."""
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in json.dumps(spec)
    declared = [
        op["responses"]["422"]["content"]["application/json"]["schema"]
        for path in spec["paths"].values()
        for op in path.values()
        if "422" in op.get("responses", {})
    ]
    assert declared and all(s == {"$ref": "#/components/schemas/Error"} for s in declared)
    error = spec["components"]["schemas"]["Error"]

    answer = client.post("/api/v1/quotes", json={"service_option": "fax"})
    assert answer.status_code == 422
    body = answer.json()
    assert set(error["required"]) <= body.keys()
    assert all(isinstance(body[k], str) for k in ("error", "detail"))


@pytest.mark.parametrize("stamp", ["17²", "9" * 400, "٣٤٥"])
def test_an_odd_timestamp_header_is_401_not_500(
    stamp: str, db: Session, settings: Settings
) -> None:
    """``str.isdigit()`` takes "²" and Arabic-Indic digits, which ``int()`` refuses or reads
    as a time; 400 digits overflow the clock arithmetic."""
    request = SignedRequest(
        "POST",
        "/api/agency/v1/results",
        {
            "X-Hoso-Key": "k" * 20,
            "X-Hoso-Timestamp": stamp,
            "X-Hoso-Nonce": "n" * 20,
            "X-Hoso-Signature": "0" * 64,
        },
        b"{}",
    )
    with pytest.raises(Unauthorized) as refused:
        verify_request(db, settings, request, now=datetime.now(UTC))
    assert refused.value.field == "X-Hoso-Timestamp"
