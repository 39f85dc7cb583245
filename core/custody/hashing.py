"""The canonical form of a ledger event and its SHA-256 chain.

The canonical form is JSON with sorted keys, no insignificant whitespace, UTF-8, timestamps
in UTC with microseconds (what PostgreSQL stores, so a row read back hashes the same).
Each event's hash covers its canonical form *and* the previous event's hash of the same
item, so editing, inserting or deleting any event breaks every link after it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

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


def _normalise(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("ledger timestamps must carry a time zone")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def canonical_form(fields: Mapping[str, Any]) -> bytes:
    missing = [name for name in HASHED_FIELDS if name not in fields]
    if missing:
        raise ValueError(f"canonical form lacks {', '.join(missing)}")
    body = {name: _normalise(fields[name]) for name in HASHED_FIELDS}
    body["v"] = HASH_VERSION
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical_form(fields))
    return digest.hexdigest()
