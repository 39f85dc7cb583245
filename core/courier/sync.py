"""A phone's batch of events, checked and recorded: every event gets its own answer.

Door-step events (pickup, refusal, delivery, failed attempt, departure on a round) first pass
``doorstep.prepare``; everything then goes to the ledger in one ``record`` call, which locks,
decides, deduplicates by client event ID and writes. Nothing here is all-or-nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from core.courier.doorstep import (
    CHECKED_KINDS,
    RECHECK_UNSAFE,
    ItemFacts,
    Refused,
    facts_for,
    load_facts,
    prepare,
)
from core.custody.commands import ScanCommand, ScanResult
from core.custody.models import CustodyEvent, ScanReceipt
from core.custody.parties import Actor
from core.custody.service import record
from core.outbox.service import enqueue
from core.settings import Settings


@dataclass(frozen=True)
class Malformed:
    """An event the edge could not even read; it is answered without touching the ledger."""

    client_event_id: str | None
    code: str
    reason_code: str
    detail: str
    field: str | None


def rejected(entry: Malformed) -> ScanResult:
    return ScanResult(
        outcome="rejected",
        code=entry.code,
        client_event_id=entry.client_event_id,
        reason_code=entry.reason_code,
        detail=entry.detail,
        field=entry.field,
    )


def sync(
    session: Session,
    settings: Settings,
    actor: Actor,
    entries: Sequence[ScanCommand | Malformed],
    *,
    now: datetime,
) -> list[ScanResult]:
    results: list[ScanResult | None] = [None] * len(entries)
    checked = [e for e in entries if isinstance(e, ScanCommand) and e.kind in CHECKED_KINDS]
    answered = _answered(
        session,
        [c.client_event_id for c in checked if c.kind in RECHECK_UNSAFE and c.client_event_id],
    )
    facts = load_facts(session, [c.code for c in checked]) if checked else {}

    to_record: list[tuple[int, ScanCommand]] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, Malformed):
            results[index] = rejected(entry)
            continue
        # Other door-step checks give the same answer every time, so a replay re-checked
        # still reaches the stored receipt; only RECHECK_UNSAFE kinds are looked up first.
        if entry.kind in CHECKED_KINDS and entry.client_event_id not in answered:
            try:
                entry = prepare(
                    session,
                    settings,
                    entry,
                    facts_for(facts, entry.code),
                    actor_party=actor.party,
                    now=now,
                )
            except Refused as refusal:
                results[index] = ScanResult(
                    outcome="rejected",
                    code=entry.code,
                    client_event_id=entry.client_key,
                    reason_code=refusal.reason_code,
                    detail=refusal.error.detail,
                    field=refusal.error.field,
                )
                continue
        to_record.append((index, entry))

    if to_record:
        recorded = record(session, actor, [command for _, command in to_record])
        for (index, command), result in zip(to_record, recorded, strict=True):
            results[index] = result
            if command.kind == "attempt_failed" and result.outcome == "accepted":
                _warn_when_attempts_run_out(session, settings, facts_for(facts, command.code))
    return [r for r in results if r is not None]


def _answered(session: Session, client_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Events already answered: a replay must get the stored answer, not a second check
    (a one-time code already consumed would otherwise fail the replay). A refusal left a
    receipt; an accepted event is in the ledger itself."""
    if not client_ids:
        return set()
    refused = select(ScanReceipt.client_event_id).where(ScanReceipt.client_event_id.in_(client_ids))
    recorded = select(CustodyEvent.client_event_id).where(
        CustodyEvent.client_event_id.in_(client_ids)
    )
    return {key for key in session.scalars(union(refused, recorded)) if key is not None}


def _warn_when_attempts_run_out(
    session: Session, settings: Settings, facts: ItemFacts | None
) -> None:
    """The last allowed attempt failed: the result goes back to the office; tell the citizen."""
    if facts is None or facts.contact_phone is None:
        return
    if facts.delivery_attempts + 1 < settings.delivery_max_attempts:
        return
    enqueue(
        session,
        "sms.send",
        {
            "phone": facts.contact_phone,
            "text": f"Bưu tá đã phát kết quả {facts.code} không thành công "
            f"{facts.delivery_attempts + 1} lần. Kết quả sẽ được trả lại bộ phận một cửa; "
            "vui lòng liên hệ để nhận.",
        },
    )
