"""Correcting the ledger from the front door: a declaration that an event was wrong, with its
reason, and (for wrong data) the corrective event that says what really happened, recorded
together; and the scans the ledger kept as exceptions, for the people who resolve them.

The corrective event restates the wrong one (same kind and business parties, corrected time,
details or receiver; ``core.custody.corrections.restate``), must fit the state re-derived
without the wrong event, and points at it (``corrects_event_id``), which is how the EPCIS
export names it among the declaration's ``correctiveEventIDs``. Both are written in the
caller's transaction: if the corrective event is refused, the declaration is not kept either.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from core.cases.models import Booking, Case
from core.custody.commands import ScanCommand, ScanResult
from core.custody.corrections import check_corrective, declare_error, restate
from core.custody.models import CustodyEvent, CustodyException, Item
from core.custody.parties import Actor
from core.custody.transitions import ERROR_DECLARED, ERROR_REASONS, TRANSITIONS
from core.errors import Conflict, InvalidInput, NotFound

NOTE_MAX = 500


@dataclass(frozen=True)
class Correction:
    declaration: ScanResult
    corrective: ScanResult | None


def wrong_event(session: Session, event_id: uuid.UUID) -> tuple[CustodyEvent, Item]:
    """The event named as wrong, with its item (for the caller's authorisation check)."""
    found = session.execute(
        select(CustodyEvent, Item)
        .join(Item, Item.id == CustodyEvent.item_id)
        .where(CustodyEvent.event_id == event_id)
    ).first()
    if found is None:
        raise NotFound(f"no event {event_id}", field="corrects_event_id")
    return found[0], found[1]


def correct_event(
    session: Session,
    actor: Actor,
    *,
    wrong_event_id: uuid.UUID,
    reason: str,
    note: str | None,
    corrective: ScanCommand | None,
    now: datetime,
) -> Correction:
    """Declare ``wrong_event_id`` wrong and, when given, record the corrective event."""
    if reason not in ERROR_REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(ERROR_REASONS)}", field="reason")
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise InvalidInput(f"the note is at most {NOTE_MAX} characters", field="note")
    if corrective is not None and reason == "did_not_occur":
        # CBV 2.0: did_not_occur SHALL NOT be used together with corrective event IDs.
        raise InvalidInput(
            "an event that did not occur has no corrective event; choose incorrect_data",
            field="corrective",
        )
    wrong, item = wrong_event(session, wrong_event_id)
    if corrective is not None:
        if corrective.kind == ERROR_DECLARED or corrective.kind not in TRANSITIONS:
            raise InvalidInput(f"{corrective.kind[:40]!r} is not an event kind",
                               field="corrective.kind")  # fmt: skip
        if corrective.kind != wrong.kind:
            # A corrective event restates the wrong one with the right data; a different
            # event is a new scan, not a correction.
            raise InvalidInput(
                f"the corrective event must be a {wrong.kind} like the event it corrects",
                field="corrective.kind",
            )
        check_corrective(session, wrong, corrective)
    details: dict[str, Any] = {"reason": reason}
    if note:
        details["note"] = note
    declared = declare_error(
        session,
        actor,
        ScanCommand(kind=ERROR_DECLARED, code=item.code, occurred_at=now,
                    corrects_event_id=wrong.event_id, details=details),
    )  # fmt: skip
    if corrective is None:
        return Correction(declared, None)
    command = replace(corrective, code=item.code,
                      client_event_id=corrective.client_event_id or uuid.uuid4())  # fmt: skip
    return Correction(declared, restate(session, actor, wrong, command))


# -- exceptions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExceptionView:
    id: int
    item_code: str | None
    reason_code: str
    detail: str
    kind: str | None
    occurred_at: str | None
    actor_role: str | None
    actor_party: str | None
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None


def list_exceptions(
    session: Session, scope: ColumnElement[bool], *, open_only: bool = True, limit: int = 200
) -> list[ExceptionView]:
    """Scans kept because they contradicted the known state, newest first, of the cases
    ``scope`` (``core.access.case_scope``) reaches."""
    query = (
        select(CustodyException, Item.code)
        .join(Item, Item.id == CustodyException.item_id)
        .join(Case, Case.id == Item.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .where(scope)
        .order_by(CustodyException.id.desc())
        .limit(limit)
    )
    if open_only:
        query = query.where(CustodyException.resolved_at.is_(None))
    out = []
    for row, code in session.execute(query):
        payload = row.payload or {}
        actor = payload.get("actor") or {}
        out.append(
            ExceptionView(
                id=row.id,
                item_code=code,
                reason_code=row.reason_code,
                detail=row.detail,
                kind=payload.get("kind"),
                occurred_at=payload.get("occurred_at"),
                actor_role=actor.get("role"),
                actor_party=actor.get("party"),
                created_at=row.created_at,
                resolved_at=row.resolved_at,
                resolution=row.resolution,
            )  # fmt: skip
        )
    return out


def exception_item(session: Session, exception_id: int) -> tuple[CustodyException, Item]:
    found = session.execute(
        select(CustodyException, Item)
        .join(Item, Item.id == CustodyException.item_id)
        .where(CustodyException.id == exception_id)
        .with_for_update(of=CustodyException)
    ).first()
    if found is None:
        raise NotFound(f"no exception {exception_id}", field="exception_id")
    return found[0], found[1]


def resolve_exception(
    session: Session, actor: Actor, exception_id: int, resolution: str, *, now: datetime
) -> CustodyException:
    """Close an exception with what was done about it (the scan itself stays as it was)."""
    text = resolution.strip()
    if not text or len(text) > NOTE_MAX:
        raise InvalidInput(f"say what was done (1-{NOTE_MAX} characters)", field="resolution")
    row, _ = exception_item(session, exception_id)
    if row.resolved_at is not None:
        raise Conflict("this exception is already resolved", field="exception_id")
    row.resolved_at = now
    row.resolved_by_user_id = actor.user_id
    row.resolution = text
    session.flush()
    return row
