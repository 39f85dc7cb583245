"""The canonical form of a ledger event and its SHA-256 chain.

The canonical form is JSON (RFC 8259) as orjson writes it with sorted keys: no
insignificant whitespace, UTF-8, floats in shortest round-trip form, UUIDs as lowercase
hyphenated strings, timestamps in UTC with microseconds (``2026-11-22T05:00:00.000000Z``,
what PostgreSQL stores, so a row read back hashes the same). For the values a ledger holds
this is byte-for-byte what Python's ``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` writes, except for the exponent of very small or large floats
(``1e-7`` against ``1e-07``); orjson is used because it is an order of magnitude faster and
hashing is on the path of every scan.
Each event's hash covers its canonical form *and* the previous event's hash of the same
item, so editing, inserting or deleting any event breaks every link after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

GENESIS_HASH = "0" * 64

# Every column that carries meaning. Adding a field here changes every hash: a schema
# change must come with a new ``HASH_VERSION`` and verify must know both forms.
HASH_VERSION = 1
HASHED_FIELDS = (
    "event_id",
    "client_event_id",
    "item_code",
    "seq",
    "kind",
    "biz_step",
    "disposition",
    "upu_code",
    "from_party",
    "to_party",
    "actor_user_id",
    "actor_role",
    "actor_party",
    "device_id",
    "occurred_at",
    "occurred_offset",
    "recorded_at",
    "place",
    "lat",
    "lon",
    "gps_accuracy_m",
    "bag_code",
    "evidence",
    "details",
    "raw_code",
    "corrects_event_id",
)


def _utc(value: datetime) -> str:
    # Subtracting the offset is what ``astimezone(UTC)`` does, at a fraction of the cost on
    # the hot path.
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("ledger timestamps must carry a time zone")
    return (value.replace(tzinfo=None) - offset).isoformat(timespec="microseconds") + "Z"


def utc_text(value: datetime) -> str:
    """A ledger timestamp as the canonical form writes it (the Merkle leaves reuse it)."""
    return _utc(value)


# The last ``recorded_at`` formatted: every event of a batch shares one. Compared by
# identity: the memo holds the object, so its id cannot be reused meanwhile, and the tuple
# is replaced whole, so threads sharing it can at worst miss it.
_last_recorded: tuple[datetime | None, str] = (None, "")


def _recorded_utc(value: datetime) -> str:
    global _last_recorded
    last, formatted = _last_recorded
    if value is not last:
        formatted = _utc(value)
        _last_recorded = (value, formatted)
    return formatted


def canonical_form(fields: Mapping[str, Any]) -> bytes:
    try:
        body = {name: fields[name] for name in HASHED_FIELDS}
    except KeyError:
        missing = [name for name in HASHED_FIELDS if name not in fields]
        raise ValueError(f"canonical form lacks {', '.join(missing)}") from None
    body["occurred_at"] = _utc(body["occurred_at"])
    body["recorded_at"] = _recorded_utc(body["recorded_at"])
    body["v"] = HASH_VERSION
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hash_of_canonical(prev_hash, canonical_form(fields))


def hash_of_canonical(prev_hash: str, canonical: bytes) -> str:
    """``chain_hash`` of an event whose canonical form is already built (it is signed too)."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical)
    return digest.hexdigest()
