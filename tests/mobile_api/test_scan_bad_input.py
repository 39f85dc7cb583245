"""One bad event never blocks a phone: each is refused on its own, the rest are recorded,
and the same bytes sent again get the same answers (reliability report D2, D5, D11)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.custody.models import CustodyEvent, ItemState
from core.custody.parties import party
from core.settings import Settings
from tests.factories import dossier_of, make_case, make_office, make_user
from tests.mobile_api.helpers import bearer, event, login, pickup_event, scans, signed_in
from vntime import VN

# Each poison as the raw JSON text of one event's field: (field, JSON text, the field the
# refusal must name).
_NOW = datetime.now(VN)
POISONS = {
    "nul_in_note": ("details", '{"reason_code": "wet", "note": "a\\u0000b"}', "details.note"),
    "nul_in_code": ("code", '"DR000000266VN\\u0000"', "code"),
    "nul_in_a_key": ("details", '{"reason_code": "wet", "a\\u0000": 1}', "details"),
    "lone_surrogate": ("place", '"Kho \\ud800 B"', "place"),
    # A byte 0xB2 on its own (written through surrogateescape below): not UTF-8.
    "stray_byte": ("place", '"Kho \udcb2 B"', "place"),
    "offset_minus_23_59": ("occurred_at", '"2026-12-03T08:00:00-23:59"', "occurred_at"),
    "offset_plus_14_30": ("occurred_at", '"2026-12-03T08:00:00+14:30"', "occurred_at"),
    "year_9999": ("occurred_at", '"9999-12-31T23:59:59+07:00"', "occurred_at"),
    "year_1970": ("occurred_at", '"1970-01-01T00:00:00+00:00"', "occurred_at"),
    "two_days_ahead": (
        "occurred_at",
        orjson.dumps((_NOW + timedelta(days=2)).isoformat()).decode(),
        "occurred_at",
    ),
    "long_code": ("code", '"' + "D" * 5000 + '"', "code"),
    "long_place": ("place", '"' + "x" * 201 + '"', "place"),
    "party_past_int4": ("to_party", '"office:99999999999999999999"', "to_party"),
}


def _raw_batch(events: list[dict[str, Any]], poisoned: int, field: str, raw: str) -> bytes:
    """The batch as bytes, with one event's field replaced by raw JSON text (which json.dumps
    could never write: a lone surrogate escape, a byte that is not UTF-8)."""
    parts = []
    for index, body in enumerate(events):
        text = orjson.dumps(body).decode()
        if index == poisoned:
            marker = '"__POISON__"'
            text = orjson.dumps({**body, field: "__POISON__"}).decode().replace(marker, raw)
        parts.append(text)
    return ('{"events": [' + ",".join(parts) + "]}").encode("utf-8", "surrogateescape")


def _post(client: TestClient, headers: dict[str, str], body: bytes) -> Any:
    response = client.post(
        "/mobile/v1/scans", content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("poison", sorted(POISONS))
def test_one_poisoned_event_is_refused_alone_and_the_others_are_recorded(
    poison: str, client: TestClient, db: Session, settings: Settings
) -> None:
    field, raw, named = POISONS[poison]
    courier, headers = signed_in(client, db)
    held = dossier_of(db, make_case(db, settings))
    assert scans(client, headers, pickup_event(held.code))["results"][0]["outcome"] == "accepted"
    fresh = dossier_of(db, make_case(db, settings))
    kind = "handover_offered" if field == "to_party" else "damage_noted"
    events = [
        pickup_event(fresh.code),
        event(kind, held.code, details={"reason_code": "wet"}),
        event("damage_noted", held.code, details={"reason_code": "torn"}),
    ]
    body = _raw_batch(events, 1, field, raw)

    answers = [_post(client, headers, body) for _ in range(3)]

    first = answers[0]["results"]
    assert [r["outcome"] for r in first] == ["accepted", "rejected", "accepted"]
    refused = first[1]
    assert refused["reason_code"] in ("invalid_input", "malformed_code")
    assert refused["field"] == named, refused
    assert refused["detail"]
    # Resending the same bytes gives the same answers; nothing is recorded twice.
    for later in answers[1:]:
        assert [(r["outcome"], r["reason_code"], r["field"]) for r in later["results"]] == [
            (r["outcome"], r["reason_code"], r["field"]) for r in first
        ]
    recorded = db.scalar(
        select(func.count())
        .select_from(CustodyEvent)
        .where(CustodyEvent.client_event_id.in_([uuid.UUID(e["client_event_id"]) for e in events]))
    )
    assert recorded == 2


def test_a_body_that_is_not_json_is_refused_whole_with_the_error_shape(
    client: TestClient, db: Session
) -> None:
    _, headers = signed_in(client, db)
    response = client.post(
        "/mobile/v1/scans",
        content=b'{"events": [{"kind": ',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"
    assert response.json()["field"] == "body"


def _holding(client: TestClient, db: Session, settings: Settings) -> tuple[Any, dict[str, str]]:
    courier = make_user(db, "courier")
    headers = bearer(login(client, courier)["token"])
    item = dossier_of(db, make_case(db, settings))
    assert scans(client, headers, pickup_event(item.code))["results"][0]["outcome"] == "accepted"
    return item, headers


@pytest.mark.parametrize(
    ("receiver", "why"),
    [
        ("office:99999999999999999999", "ID from 1 to"),
        ("office:999999", "does not exist"),
        ("courier:0", "ID from 1 to"),
    ],
)
def test_a_hand_off_to_a_party_that_does_not_exist_is_refused(
    receiver: str, why: str, client: TestClient, db: Session, settings: Settings
) -> None:
    item, headers = _holding(client, db, settings)
    offer = event("handover_offered", item.code, to_party=receiver)
    answer = scans(client, headers, offer)["results"][0]
    assert (answer["outcome"], answer["reason_code"], answer["field"]) == (
        "rejected",
        "invalid_input",
        "to_party",
    )
    assert why in answer["detail"]
    state = db.get(ItemState, item.id)
    assert state is not None and state.pending_to is None


def test_a_hand_off_goes_only_to_a_receiver_of_the_items_province(
    client: TestClient, db: Session, settings: Settings
) -> None:
    item, headers = _holding(client, db, settings)
    far = make_office(db, province_code="01", commune_code=_a_commune_of(db, "01"))
    refused = scans(client, headers, event("handover_offered", item.code,
                                           to_party=party("office", far.id)))  # fmt: skip
    assert (refused["results"][0]["outcome"], refused["results"][0]["field"]) == (
        "rejected",
        "to_party",
    )
    assert "another province" in refused["results"][0]["detail"]
    near = make_office(db)
    offer = event("handover_offered", item.code, to_party=party("office", near.id))
    assert scans(client, headers, offer)["results"][0]["outcome"] == "accepted"


def _a_commune_of(db: Session, province: str) -> str:
    from core.places.models import Commune

    code = db.scalar(select(Commune.code).where(Commune.province_code == province).limit(1))
    if code is None:
        pytest.skip(f"no commune of province {province} in the reference data")
    return code


@pytest.mark.parametrize(
    ("counterparty", "why"),
    [
        ("office:99999999999999999999", "ID from 1 to"),
        ("office:999999", "does not exist"),
        ("post_office:0", "ID from 1 to"),
    ],
)
def test_a_hand_over_to_a_party_that_does_not_exist_is_refused(
    counterparty: str, why: str, client: TestClient, db: Session, settings: Settings
) -> None:
    item, headers = _holding(client, db, settings)
    response = client.post(
        "/mobile/v1/handovers",
        headers=headers,
        json={"counterparty": counterparty, "direction": "give", "item_codes": [item.code]},
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input"
    assert body["field"] in ("counterparty", "receiver")
    assert why in body["detail"]
    state = db.get(ItemState, item.id)
    assert state is not None and state.pending_to is None
