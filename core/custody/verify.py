"""Re-walk every hash chain and every projection; report the first broken link per item.

One statement reads the whole ledger through a server-side cursor, as plain rows ordered by
item and sequence, each with its item's code, kind and stored projection: memory holds one
item's chain at a time, whatever the size of the ledger, and everything is read in one
snapshot, so a ledger being written to meanwhile is checked as it stood when the check
began. No ORM objects: building one per event cost more than the check itself.

It trusts nothing stored: hashes are recomputed from the columns with the writer's own
``chain_hash``, the state is re-derived from the events with the same fold the live service
uses, and both are compared with what is stored. On the same pass every event's server
signature is checked over the canonical form just rebuilt, with the configured keys only
(``server_signing``; docs/ledger.md, "Server-signed events").
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, NamedTuple

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg.types.json import set_json_loads
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.custody.corrections import fold
from core.custody.hashing import GENESIS_HASH, HASHED_FIELDS, canonical_form, hash_of_canonical
from core.custody.models import Item, ItemState
from core.custody.rows import state_value_of, store_state
from core.custody.server_signing import (
    Epoch,
    LegacyEvent,
    signature_valid,
    signing_epoch,
    trusted_event_keys,
)
from core.custody.transitions import ItemStateValue
from core.custody.verify_signatures import device_signature_problems
from core.errors import InvalidTransition


@dataclass(frozen=True)
class Problem:
    item_code: str
    seq: int | None
    problem: str


@dataclass
class VerifyReport:
    items_checked: int = 0
    events_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    # Unsigned events from before server signatures: sound only under a head signed before
    # they began (``server_signing.legacy_problems``, given the heads).
    legacy_unsigned: list[LegacyEvent] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# Called now and then with the items and events checked so far (the CLI's progress bar).
Progress = Callable[[int, int], None]
PROGRESS_EVERY = 1000  # events


class _Event(NamedTuple):
    """What the fold reads of an event (``corrections.FoldedEvent``) and what the chain
    check compares."""

    seq: int
    kind: str
    event_id: uuid.UUID
    corrects_event_id: uuid.UUID | None
    actor_party: str
    from_party: str | None
    to_party: str | None
    bag_id: int | None
    prev_hash: str
    hash: str


_PROJECTION = (
    "status", "custodian", "pending_from", "pending_to", "pending_initiator", "bag_id",
    "delivery_attempts",
)  # fmt: skip
_FROM_COLUMN = {"item_code": "i.code", "bag_code": "b.code"}
# Row layout: item id, code, kind; whether a projection row exists and its columns, last seq
# and hash; the event's stored links and bag id; then every hashed field in HASHED_FIELDS
# order (so the fields are ``dict(zip(HASHED_FIELDS, row[_FIELDS:]))``).
_LEDGER_SQL = f"""
    SELECT e.item_id, i.code, i.kind,
           s.item_id IS NOT NULL, {", ".join(f"s.{name}" for name in _PROJECTION)},
           s.last_seq, s.last_hash,
           e.prev_hash, e.hash, e.bag_id,
           e.id, g.key_id, g.signature, d.event_id IS NOT NULL,
           {", ".join(_FROM_COLUMN.get(name, f"e.{name}") for name in HASHED_FIELDS)}
    FROM custody_events AS e
    JOIN items AS i ON i.id = e.item_id
    LEFT JOIN item_states AS s ON s.item_id = e.item_id
    LEFT JOIN bags AS b ON b.id = e.bag_id
    LEFT JOIN event_server_signatures AS g ON g.event_id = e.event_id
    LEFT JOIN event_device_signatures AS d ON d.event_id = e.event_id
    ORDER BY e.item_id, e.seq
"""
_HAS_STATE, _LAST_SEQ, _LAST_HASH = 3, 4 + len(_PROJECTION), 5 + len(_PROJECTION)
_PREV_HASH, _HASH, _BAG_ID = _LAST_HASH + 1, _LAST_HASH + 2, _LAST_HASH + 3
_ROW_ID, _SERVER_KEY, _SERVER_SIGNATURE, _DEVICE_SIGNED = range(_BAG_ID + 1, _BAG_ID + 5)
_FIELDS = _DEVICE_SIGNED + 1
_F = {name: _FIELDS + index for index, name in enumerate(HASHED_FIELDS)}

# Items the ledger knows nothing about: every item is created with its first event, in the
# same transaction, so none should exist.
_EVENTLESS_SQL = """
    SELECT i.code FROM items AS i
    WHERE NOT EXISTS (SELECT 1 FROM custody_events AS e WHERE e.item_id = i.id)
    ORDER BY i.id
"""

# Rows per round trip of the cursor: large enough that round trips cost little, small enough
# that the tests, at a few thousand events, cross several fetches.
_FETCH_ROWS = 2_000


def _ledger_rows(session: Session) -> Iterator[tuple[Any, ...]]:
    """Every event row, through a server-side cursor: a bounded number of rows in memory."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    # Timestamps come back as the same instants whatever the zone, and are hashed in UTC;
    # read in "UTC" itself, the driver takes its fast path (twice the rows/s of "Etc/UTC").
    raw.execute("SET LOCAL TimeZone = 'UTC'")
    with raw.cursor(name="hoso_ledger_check") as cursor:
        # orjson for the JSONB columns: the standard library's parser was a third of the
        # time spent reading a row.
        set_json_loads(orjson.loads, cursor)
        cursor.itersize = _FETCH_ROWS
        cursor.execute(_LEDGER_SQL)
        yield from cursor


def _chains(session: Session) -> Iterator[list[tuple[Any, ...]]]:
    for _, rows in groupby(_ledger_rows(session), key=lambda row: row[0]):
        yield list(rows)


def _event_of(row: tuple[Any, ...]) -> _Event:
    return _Event(
        seq=row[_F["seq"]],
        kind=row[_F["kind"]],
        event_id=row[_F["event_id"]],
        corrects_event_id=row[_F["corrects_event_id"]],
        actor_party=row[_F["actor_party"]],
        from_party=row[_F["from_party"]],
        to_party=row[_F["to_party"]],
        bag_id=row[_BAG_ID],
        prev_hash=row[_PREV_HASH],
        hash=row[_HASH],
    )


def _stored_state(row: tuple[Any, ...]) -> ItemStateValue | None:
    if not row[_HAS_STATE]:
        return None
    return ItemStateValue(*row[4 : 4 + len(_PROJECTION)])


class _ServerSignatures:
    """Checks each event's server signature as the chain walk builds its canonical form."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey], epoch: Epoch) -> None:
        self.keys = keys
        self.epoch = epoch
        self.problems: list[Problem] = []
        self.legacy: list[LegacyEvent] = []

    def check(self, row: tuple[Any, ...], canonical: bytes) -> None:
        code, seq, key_id = row[1], row[_F["seq"]], row[_SERVER_KEY]
        if key_id is None:
            if row[_ROW_ID] < self.epoch.first_event_id:
                self.legacy.append(LegacyEvent(code, seq, row[_ROW_ID]))
            elif row[_DEVICE_SIGNED]:
                self.problems.append(Problem(code, seq, "carries no server signature"))
            else:
                self.problems.append(
                    Problem(code, seq, "carries neither a device signature nor a server signature")
                )
            return
        key = self.keys.get(key_id)
        if key is None:
            self.problems.append(
                Problem(code, seq, f"server signature by unknown key {key_id}: not a trusted key")
            )
        elif not signature_valid(key, bytes(row[_SERVER_SIGNATURE]), canonical):
            self.problems.append(
                Problem(code, seq, f"server signature (key {key_id}) does not match the event")
            )


def verify_ledger(
    session: Session,
    progress: Progress | None = None,
    *,
    event_keys: Mapping[str, Ed25519PublicKey] | None = None,
    epoch: Epoch | None = None,
) -> VerifyReport:
    """Check every chain, projection and signature; ``progress`` is told how far it got now
    and then. ``event_keys``: the trusted server keys (default: from the settings);
    ``epoch``: when server signatures began (default: as the migration recorded it)."""
    report = VerifyReport()
    signatures = _ServerSignatures(
        trusted_event_keys() if event_keys is None else event_keys,
        signing_epoch(session) if epoch is None else epoch,
    )
    reported_at = 0
    for rows in _chains(session):
        report.items_checked += 1
        report.events_checked += len(rows)
        problem = _check_chain(rows, signatures)
        if problem is None:
            problem = _check_projection(rows)
        if problem is not None:
            report.problems.append(problem)
        if progress is not None and report.events_checked - reported_at >= PROGRESS_EVERY:
            reported_at = report.events_checked
            progress(report.items_checked, report.events_checked)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    for (code,) in raw.execute(_EVENTLESS_SQL):
        report.problems.append(Problem(code, None, "item has no events"))
    for code, seq, finding in device_signature_problems(session):
        report.problems.append(Problem(code, seq, finding))
    report.problems.extend(signatures.problems)
    report.legacy_unsigned = signatures.legacy
    if progress is not None:
        progress(report.items_checked, report.events_checked)
    return report


def _check_chain(rows: Sequence[tuple[Any, ...]], signatures: _ServerSignatures) -> Problem | None:
    """The first broken link of an item's chain; every event's server signature is checked
    on the way, past a broken link too (each forged event is named)."""
    prev = GENESIS_HASH
    item_code = rows[0][1]
    broken: Problem | None = None
    for expected_seq, row in enumerate(rows, start=1):
        seq = row[_F["seq"]]
        canonical = canonical_form(dict(zip(HASHED_FIELDS, row[_FIELDS:], strict=True)))
        signatures.check(row, canonical)
        if broken is None:
            if seq != expected_seq:
                broken = Problem(item_code, seq, f"sequence gap: expected {expected_seq}")
            elif row[_PREV_HASH] != prev:
                broken = Problem(item_code, seq, "prev_hash does not match the previous event")
            elif hash_of_canonical(prev, canonical) != row[_HASH]:
                broken = Problem(item_code, seq, "hash does not match the event's content")
        prev = row[_HASH]
    return broken


def _check_projection(rows: Sequence[tuple[Any, ...]]) -> Problem | None:
    first = rows[0]
    item_code, item_kind = first[1], first[2]
    stored = _stored_state(first)
    if stored is None:
        return Problem(item_code, None, "no projection row")
    events = [_event_of(row) for row in rows]
    last = events[-1]
    try:
        derived = fold(item_kind, events)
    except InvalidTransition as exc:
        return Problem(item_code, None, f"events do not form a valid history: {exc.detail}")
    if derived != stored:
        return Problem(item_code, last.seq, f"projection {stored} differs from events {derived}")
    if first[_LAST_SEQ] != last.seq or first[_LAST_HASH] != last.hash:
        return Problem(item_code, last.seq, "projection does not point at the last event")
    return None


def rebuild_projections(session: Session) -> int:
    """Recompute every item's projection from its events. Returns how many changed."""
    changed = 0
    states = {s.item_id: s for s in session.scalars(select(ItemState).with_for_update())}
    kinds: dict[int, str] = dict(session.execute(select(Item.id, Item.kind)).all())
    for rows in _chains(session):
        item_id = rows[0][0]
        events = [_event_of(row) for row in rows]
        derived = fold(kinds[item_id], events)
        row = states[item_id]
        last = events[-1]
        if (state_value_of(row), row.last_seq, row.last_hash) != (derived, last.seq, last.hash):
            changed += 1
            last_event_at = rows[-1][_F["occurred_at"]]
            store_state(row, derived, last.seq, last.hash, last_event_at, row.updated_at)
    session.flush()
    return changed
