"""Building ledger rows and writing them: hashing, COPY, and the projection update.

Shared by batch recording (``service``) and corrections (``corrections``); nothing here
decides whether an event is allowed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from psycopg.types.json import Jsonb
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.custody.commands import ScanCommand
from core.custody.hashing import chain_hash
from core.custody.models import CustodyEvent, ItemState
from core.custody.parties import Actor
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
    row["hash"] = chain_hash(
        target.last_hash,
        {**row, "item_code": target.code, "bag_code": str(bag_code) if bag_code else None},
    )
    return row


EVENT_COLUMNS = tuple(c.name for c in CustodyEvent.__table__.columns if c.name != "id")


RECEIPT_COLUMNS = ("client_event_id", "actor_user_id", "outcome", "result")


_JSON_COLUMNS = frozenset({"evidence", "details", "result"})


def copy_rows(
    session: Session, table: str, columns: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    """Write rows with COPY on the session's own connection, inside its transaction.

    COPY is PostgreSQL's bulk path: several times faster than a multi-row INSERT for the
    batches phones send, and just as atomic, since it runs in the same transaction.
    """
    session.flush()
    raw = session.connection().connection.driver_connection
    assert raw is not None
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [Jsonb(row[name]) if name in _JSON_COLUMNS else row[name] for name in columns]
            )


# One statement for the whole batch. Arrays through ``unnest`` keep the SQL text fixed, so it
# is parsed once; a VALUES list would be recompiled for every batch size and content.
_UPDATE_PROJECTIONS = text(
    """
    UPDATE item_states AS s SET
        status = u.status, custodian = u.custodian, pending_from = u.pending_from,
        pending_to = u.pending_to, pending_initiator = u.pending_initiator, bag_id = u.bag_id,
        delivery_attempts = u.delivery_attempts, last_seq = u.last_seq,
        last_hash = u.last_hash, last_event_at = u.last_event_at, updated_at = :updated_at
    FROM unnest(
        CAST(:item_id AS integer[]), CAST(:status AS text[]), CAST(:custodian AS text[]),
        CAST(:pending_from AS text[]), CAST(:pending_to AS text[]),
        CAST(:pending_initiator AS text[]), CAST(:bag_id AS integer[]),
        CAST(:delivery_attempts AS integer[]), CAST(:last_seq AS integer[]),
        CAST(:last_hash AS text[]), CAST(:last_event_at AS timestamptz[])
    ) AS u(item_id, status, custodian, pending_from, pending_to, pending_initiator, bag_id,
           delivery_attempts, last_seq, last_hash, last_event_at)
    WHERE s.item_id = u.item_id
    """
)


def update_projections(session: Session, changed: list[Target], recorded_at: datetime) -> None:
    session.execute(
        _UPDATE_PROJECTIONS,
        {
            "item_id": [t.item_id for t in changed],
            "status": [t.state.status for t in changed],
            "custodian": [t.state.custodian for t in changed],
            "pending_from": [t.state.pending_from for t in changed],
            "pending_to": [t.state.pending_to for t in changed],
            "pending_initiator": [t.state.pending_initiator for t in changed],
            "bag_id": [t.state.bag_id for t in changed],
            "delivery_attempts": [t.state.delivery_attempts for t in changed],
            "last_seq": [t.last_seq for t in changed],
            "last_hash": [t.last_hash for t in changed],
            "last_event_at": [t.last_event_at for t in changed],
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
