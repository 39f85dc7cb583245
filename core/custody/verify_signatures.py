"""``hoso ledger verify``'s check of device signatures: every stored one, from the event.

For every event with a stored device signature, the signed statement is rebuilt from the
event's own columns (and the stored digest of what the phone sent) and checked with the
public key it names, which must be a key of the event's device that was not revoked when
the event was recorded. An event of a kind a phone records in person, from a device that had
a key when the event was recorded, must carry such a signature: one written into the
database by someone without the phone has none, or a stolen one that does not fit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from core.custody.device_signing import DEVICE_STATEMENT_KINDS, signature_valid, statement

# One pass over the events that have a signature, or should: read through a server-side
# cursor like the chains, in recording order.
_SIGNED_EVENTS_SQL = """
    SELECT i.code, e.seq, e.client_event_id, e.kind, e.raw_code, e.occurred_at,
           e.occurred_offset, e.lat, e.lon, e.gps_accuracy_m, e.place, e.device_id,
           e.recorded_at, s.key_id, s.signature, s.sent_sha256,
           k.device_id, k.algorithm, k.public_key, k.registered_at, k.revoked_at
    FROM custody_events AS e
    JOIN items AS i ON i.id = e.item_id
    LEFT JOIN event_device_signatures AS s ON s.event_id = e.event_id
    LEFT JOIN device_keys AS k ON k.key_id = s.key_id
    WHERE s.event_id IS NOT NULL
       OR (e.device_id IS NOT NULL AND e.kind = ANY(%(kinds)s)
           AND EXISTS (SELECT 1 FROM device_keys AS d
                       WHERE d.device_id = e.device_id AND d.registered_at <= e.recorded_at))
    ORDER BY e.id
"""
_FETCH_ROWS = 2_000


def _rows(session: Session) -> Iterator[tuple[Any, ...]]:
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor(name="hoso_verify_signatures") as cursor:
        cursor.itersize = _FETCH_ROWS
        cursor.execute(_SIGNED_EVENTS_SQL, {"kinds": sorted(DEVICE_STATEMENT_KINDS)})
        yield from cursor


def device_signature_problems(session: Session) -> list[tuple[str, int, str]]:
    """(item code, sequence, what is wrong) for every event whose signature fails."""
    problems: list[tuple[str, int, str]] = []
    for (
        code, seq, client_event_id, kind, raw_code, occurred_at, occurred_offset, lat, lon,
        accuracy, place, device_id, recorded_at, key_id, signature, sent,
        key_device_id, algorithm, public_key, key_registered_at, key_revoked_at,
    ) in _rows(session):  # fmt: skip
        if key_id is None:
            problems.append(
                (code, seq, f"claims device {device_id} but carries no device signature")
            )
            continue
        if key_device_id != device_id:
            problems.append(
                (code, seq, f"signed with key {key_id} of another device, not {device_id}")
            )
            continue
        if key_registered_at > recorded_at or (
            key_revoked_at is not None and key_revoked_at <= recorded_at
        ):
            problems.append(
                (code, seq, f"signed with key {key_id}, not valid when it was recorded")
            )
            continue
        data = statement(
            key_id=key_id,
            client_event_id=client_event_id,
            kind=kind,
            code=raw_code,
            occurred_at=occurred_at,
            occurred_offset=occurred_offset,
            lat=lat,
            lon=lon,
            gps_accuracy_m=accuracy,
            place=place,
            sent=sent,
        )
        if not signature_valid(algorithm, bytes(public_key), bytes(signature), data):
            problems.append(
                (code, seq, f"device signature (key {key_id}) does not match the event")
            )
    return problems
