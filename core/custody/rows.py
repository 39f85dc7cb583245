"""Building ledger rows and writing them: hashing, and one statement for a batch's writes.

Shared by batch recording (``service``) and corrections (``corrections``); nothing here
decides whether an event is allowed.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import FromClause
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.orm import Session

from core.custody.commands import ScanCommand
from core.custody.hashing import canonical_form, hash_of_canonical
from core.custody.models import CustodyEvent, ItemState, ScanReceipt
from core.custody.parties import Actor
from core.custody.server_signing import event_signer
from core.custody.transitions import ItemStateValue, Transition
from core.errors import InvalidInput


@dataclass
class Target:
    """An item as the batch sees it: identity, case context, and its working state."""

    item_id: int
    code: str
    kind: str
    case_id: int | None
    pickup_courier_id: int | None
    delivery_courier_id: int | None
    booking_post_office_id: int | None
    booking_citizen_id: int | None
    state: ItemStateValue
    last_seq: int
    last_hash: str
    last_event_at: datetime
    changed: bool = False


def offset_of(moment: datetime) -> str:
    offset = moment.utcoffset()
    if offset is None:
        raise InvalidInput("occurred_at must carry a UTC offset", field="occurred_at")
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def now_utc() -> datetime:
    return datetime.now(UTC)


def event_row(
    *,
    target: Target,
    rule: Transition | None,
    actor: Actor,
    command: ScanCommand,
    occurred_offset: str,
    from_party: str | None,
    to_party: str | None,
    bag_code: Any,
    bag_id: int | None,
    details: Mapping[str, Any],
    recorded_at: datetime,
    kind: str | None = None,
    biz_step: str | None = None,
    disposition: str | None = None,
    upu_code: str | None = None,
) -> dict[str, Any]:
    seq = target.last_seq + 1
    row: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "client_event_id": command.client_event_id,
        "item_id": target.item_id,
        "seq": seq,
        "kind": kind or command.kind,
        "biz_step": biz_step or (rule.biz_step if rule else ""),
        "disposition": disposition or (rule.disposition if rule else ""),
        "upu_code": upu_code if rule is None else rule.upu_code,
        "from_party": from_party,
        "to_party": to_party,
        "actor_user_id": actor.user_id,
        "actor_role": actor.role,
        "actor_party": actor.party,
        "device_id": actor.device_id,
        "occurred_at": command.occurred_at,
        "occurred_offset": occurred_offset,
        "recorded_at": recorded_at,
        "place": command.place,
        "lat": command.lat,
        "lon": command.lon,
        "gps_accuracy_m": command.gps_accuracy_m,
        "bag_id": bag_id,
        "evidence": dict(command.evidence),
        "details": dict(details),
        "raw_code": command.code,
        "corrects_event_id": command.corrects_event_id,
        "prev_hash": target.last_hash,
    }
    # The item and the bag are hashed by their codes; the row stores their ids.
    row["item_code"] = target.code
    row["bag_code"] = str(bag_code) if bag_code else None
    canonical = canonical_form(row)
    row["hash"] = hash_of_canonical(target.last_hash, canonical)
    del row["item_code"], row["bag_code"]
    # Signed here, where every event row is built, so no path can record one unsigned; the
    # signature travels with the row to ``write_batch``, which stores it beside the event.
    signer = event_signer()
    row[SERVER_KEY_ID] = signer.key_id
    row[SERVER_SIGNATURE] = signer.sign(canonical)
    return row


# The keys of an event row that are not columns of the event: its server signature.
SERVER_KEY_ID = "server_key_id"
SERVER_SIGNATURE = "server_signature"


EVENT_COLUMNS = tuple(c.name for c in CustodyEvent.__table__.columns if c.name != "id")

RECEIPT_COLUMNS = ("client_event_id", "actor_user_id", "outcome", "result")

PROJECTION_COLUMNS = (
    "item_id", "status", "custodian", "pending_from", "pending_to", "pending_initiator",
    "bag_id", "delivery_attempts", "last_seq", "last_hash", "last_event_at",
)  # fmt: skip


def _record_shape(table: FromClause, columns: Sequence[str]) -> str:
    """``name type, …`` for ``json_to_recordset``, with the types the table declares."""
    dialect = PGDialect()  # type: ignore[no-untyped-call]
    return ", ".join(f"{name} {table.c[name].type.compile(dialect=dialect)}" for name in columns)


# Every write of a batch in one statement and one round trip: the events, the stored answers
# to rejected scans, and the projections. The rows travel as JSON documents written by orjson
# (in C) and are unpacked by ``json_to_recordset`` with the tables' own column types, so the
# SQL text is fixed and prepared once per connection. This replaced COPY for the events and
# the receipts and an ``unnest`` UPDATE: three round trips, and per-value Python adaptation
# of every row, for one. The three parts touch different rows and tables, so running them
# as data-modifying CTEs of one statement (one snapshot) changes nothing in what they do.
# Built on first use: a foreign key column takes its type from the table it points at, which
# may not be loaded yet when this module is imported.
@functools.cache
def _write_batch_sql() -> str:
    return f"""
    WITH new_events AS (
        INSERT INTO custody_events ({", ".join(EVENT_COLUMNS)})
        SELECT {", ".join(EVENT_COLUMNS)}
        FROM json_to_recordset(%(events)s::json)
            AS e({_record_shape(CustodyEvent.__table__, EVENT_COLUMNS)})
    ), new_signatures AS (
        INSERT INTO event_server_signatures (event_id, key_id, signature)
        SELECT event_id, key_id, decode(signature, 'base64')
        FROM json_to_recordset(%(signatures)s::json)
            AS g(event_id uuid, key_id text, signature text)
    ), new_keys AS (
        INSERT INTO server_signing_keys (key_id, vkey)
        SELECT key_id, vkey FROM json_to_recordset(%(keys)s::json) AS k(key_id text, vkey text)
        ON CONFLICT (key_id) DO NOTHING
    ), new_receipts AS (
        INSERT INTO scan_receipts ({", ".join(RECEIPT_COLUMNS)})
        SELECT {", ".join(RECEIPT_COLUMNS)}
        FROM json_to_recordset(%(receipts)s::json)
            AS r({_record_shape(ScanReceipt.__table__, RECEIPT_COLUMNS)})
    )
    UPDATE item_states AS s SET
        status = u.status, custodian = u.custodian, pending_from = u.pending_from,
        pending_to = u.pending_to, pending_initiator = u.pending_initiator, bag_id = u.bag_id,
        delivery_attempts = u.delivery_attempts, last_seq = u.last_seq,
        last_hash = u.last_hash, last_event_at = u.last_event_at, updated_at = %(updated_at)s
    FROM json_to_recordset(%(states)s::json)
        AS u({_record_shape(ItemState.__table__, PROJECTION_COLUMNS)})
    WHERE s.item_id = u.item_id
    """


def write_batch(
    session: Session,
    event_rows: list[dict[str, Any]],
    receipt_rows: list[dict[str, Any]],
    changed: list[Target],
    recorded_at: datetime,
) -> None:
    """Write a batch's events with their server signatures, receipts and projections,
    inside the session's transaction. Every event row must come from ``event_row``: one
    without its signature is refused (KeyError), never written unsigned."""
    if not (event_rows or receipt_rows):
        return
    signatures = [
        {"event_id": row["event_id"], "key_id": row[SERVER_KEY_ID],
         "signature": row[SERVER_SIGNATURE]}
        for row in event_rows
    ]  # fmt: skip
    signer = event_signer()
    keys = [{"key_id": signer.key_id, "vkey": signer.vkey}] if event_rows else []
    states = [
        {
            "item_id": t.item_id,
            "status": t.state.status,
            "custodian": t.state.custodian,
            "pending_from": t.state.pending_from,
            "pending_to": t.state.pending_to,
            "pending_initiator": t.state.pending_initiator,
            "bag_id": t.state.bag_id,
            "delivery_attempts": t.state.delivery_attempts,
            "last_seq": t.last_seq,
            "last_hash": t.last_hash,
            "last_event_at": t.last_event_at,
        }
        for t in changed
    ]
    session.flush()
    raw = session.connection().connection.driver_connection
    assert raw is not None
    raw.execute(
        _write_batch_sql(),
        {
            # orjson writes UUIDs and aware datetimes (RFC 3339, microseconds kept) as
            # PostgreSQL reads them back, and floats in shortest round-trip form: what is
            # stored is what was hashed.
            "events": orjson.dumps(event_rows).decode(),
            "signatures": orjson.dumps(signatures).decode(),
            "keys": orjson.dumps(keys).decode(),
            "receipts": orjson.dumps(receipt_rows).decode(),
            "states": orjson.dumps(states).decode(),
            "updated_at": recorded_at,
        },
    )


class _ProjectionLike(Protocol):
    status: str
    custodian: str
    pending_from: str | None
    pending_to: str | None
    pending_initiator: str | None
    bag_id: int | None
    delivery_attempts: int


def state_value_of(row: _ProjectionLike) -> ItemStateValue:
    """The state a stored projection (an ``item_states`` row or a selected row) describes."""
    return ItemStateValue(
        status=row.status,
        custodian=row.custodian,
        pending_from=row.pending_from,
        pending_to=row.pending_to,
        pending_initiator=row.pending_initiator,
        bag_id=row.bag_id,
        delivery_attempts=row.delivery_attempts,
    )


def store_state(
    row: ItemState,
    state: ItemStateValue,
    last_seq: int,
    last_hash: str,
    last_event_at: datetime,
    updated_at: datetime,
) -> None:
    row.status = state.status
    row.custodian = state.custodian
    row.pending_from = state.pending_from
    row.pending_to = state.pending_to
    row.pending_initiator = state.pending_initiator
    row.bag_id = state.bag_id
    row.delivery_attempts = state.delivery_attempts
    row.last_seq = last_seq
    row.last_hash = last_hash
    row.last_event_at = last_event_at
    row.updated_at = updated_at
