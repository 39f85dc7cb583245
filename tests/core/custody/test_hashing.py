"""The canonical form is exactly what docs and hashing.py say it is."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.custody.hashing import (
    GENESIS_HASH,
    HASH_VERSION,
    HASHED_FIELDS,
    canonical_form,
    chain_hash,
)


def _fields(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(HASHED_FIELDS)
    values.update(
        event_id=uuid.UUID("9f1c2d3e-4a5b-4c6d-8e7f-001122334455"),
        item_code="DH000000014VN",
        seq=2,
        kind="picked_up",
        occurred_at=datetime(2026, 11, 22, 9, 30, tzinfo=timezone(timedelta(hours=7))),
        occurred_offset="+07:00",
        recorded_at=datetime(2026, 11, 22, 2, 30, 1, 250000, tzinfo=UTC),
        lat=21.18,
        lon=106.07,
        evidence={"signature_sha256": "ab" * 32},
        details={"seal_number": "NP-001", "ghi_chú": 'Người nhận: Trần Thị Hoa "A"\n'},
    )
    values.update(overrides)
    return values


def test_canonical_form_is_sorted_compact_utf8_json_with_utc_microsecond_times() -> None:
    fields = _fields()
    # Rebuilt here from the documented rule, with the standard library.
    expected = dict(fields)
    expected["event_id"] = str(fields["event_id"])
    expected["occurred_at"] = "2026-11-22T02:30:00.000000Z"
    expected["recorded_at"] = "2026-11-22T02:30:01.250000Z"
    expected["v"] = HASH_VERSION
    spec = json.dumps(expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_form(fields) == spec.encode("utf-8")


def test_chain_hash_covers_the_previous_hash_and_every_field() -> None:
    fields = _fields()
    digest = hashlib.sha256(GENESIS_HASH.encode() + b"\n" + canonical_form(fields)).hexdigest()
    assert chain_hash(GENESIS_HASH, fields) == digest
    assert chain_hash("1" * 64, fields) != digest
    for name, changed in [("seq", 3), ("lat", 21.19), ("details", {"seal_number": "NP-002"})]:
        assert chain_hash(GENESIS_HASH, _fields(**{name: changed})) != digest, name


def test_canonical_form_refuses_naive_times_and_missing_fields() -> None:
    with pytest.raises(ValueError, match="time zone"):
        canonical_form(_fields(occurred_at=datetime(2026, 11, 22, 9, 30)))
    incomplete = _fields()
    del incomplete["raw_code"]
    with pytest.raises(ValueError, match="lacks raw_code"):
        canonical_form(incomplete)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 22, 9, 30, 0, 1, tzinfo=timezone(timedelta(hours=7))),
        datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"), fold=0),
        datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"), fold=1),
        datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=ZoneInfo("Europe/London")),
        datetime(2026, 11, 22, 2, 30, tzinfo=UTC),
    ],
)
def test_times_are_hashed_as_the_same_instant_in_utc(moment: datetime) -> None:
    # The hot path converts by subtracting the offset; it must agree with astimezone(UTC),
    # what the canonical form is defined by, including on either side of a DST change.
    expected = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    form = json.loads(canonical_form(_fields(occurred_at=moment, recorded_at=moment)))
    assert form["occurred_at"] == form["recorded_at"] == expected
