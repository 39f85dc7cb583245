"""Deleting digitised copies a set number of days after their case closes.

A case is closed when every item of it has reached a final status (handed over, delivered,
cancelled, lost) and nothing more is to come: a send-only booking once its dossier is handed
over; a booking with a result leg once the result is delivered (a result not yet registered
keeps the case open); a cancelled or lost dossier at once. Its closing moment is the last
such item's last event. ``digitised_retention_days`` after it, the copy's PDF and its pages
are deleted, and the deletion is a ``digitised_copy_deleted`` event in the ledger carrying
the hash of what was deleted. The copy's row stays, without bytes, as the record.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from core.custody.commands import ScanCommand
from core.custody.models import Item
from core.custody.parties import Actor
from core.custody.service import record
from core.custody.transitions import TERMINAL
from core.db import transaction
from core.digitising.models import DigitisedCopy, DossierPage
from core.digitising.service import COPY_DELETED
from core.errors import Conflict
from core.settings import Settings

log = logging.getLogger(__name__)
_NAMESPACE = uuid.UUID("b3a8e0f1-6c2d-4e7a-9f10-5d4c3b2a1908")

# Live copies whose case closed before the cutoff, with the moment it closed.
_DUE = text(
    """
    WITH closed AS (
        SELECT c.id AS case_id, max(s.last_event_at) AS closed_at
        FROM cases AS c
        JOIN bookings AS b ON b.id = c.booking_id
        JOIN items AS i ON i.case_id = c.id
        JOIN item_states AS s ON s.item_id = i.id
        WHERE c.id IN (SELECT case_id FROM digitised_copies WHERE deleted_at IS NULL)
        GROUP BY c.id, b.service_option
        HAVING bool_and(s.status = ANY(:terminal))
           AND (b.service_option = 'send' OR bool_or(i.kind = 'result')
                OR bool_or(s.status IN ('cancelled', 'lost')))
    )
    SELECT d.id, closed.closed_at
    FROM digitised_copies AS d JOIN closed ON closed.case_id = d.case_id
    WHERE d.deleted_at IS NULL AND closed.closed_at <= :cutoff
    ORDER BY d.id
    LIMIT :limit
    """
)


@dataclass(frozen=True)
class Deleted:
    copy_id: int
    item_code: str
    pdf_sha256: str
    case_closed_at: datetime


def purge_expired(
    session: Session, settings: Settings, *, now: datetime, limit: int = 200
) -> list[Deleted]:
    """Delete the copies whose case closed more than ``digitised_retention_days`` ago."""
    cutoff = now - timedelta(days=settings.digitised_retention_days)
    due = {
        row.id: row.closed_at
        for row in session.execute(
            _DUE, {"terminal": sorted(TERMINAL), "cutoff": cutoff, "limit": limit}
        )
    }
    if not due:
        return []
    # Locked, and skipped when another run holds them: two purges never delete one copy twice.
    copies = session.scalars(
        select(DigitisedCopy)
        .where(DigitisedCopy.id.in_(due), DigitisedCopy.deleted_at.is_(None))
        .order_by(DigitisedCopy.id)
        .with_for_update(skip_locked=True)
    ).all()
    return [_delete(session, copy, due[copy.id], now=now) for copy in copies]


def purge_pass(factory: sessionmaker[Session], settings: Settings, *, now: datetime) -> int:
    """The worker's pass: every due copy, a batch per transaction."""
    total = 0
    while True:
        with transaction(factory) as session:
            deleted = purge_expired(session, settings, now=now)
        total += len(deleted)
        if not deleted:
            return total


def _delete(
    session: Session, copy: DigitisedCopy, closed_at: datetime, *, now: datetime
) -> Deleted:
    code = session.scalars(select(Item.code).where(Item.id == copy.item_id)).one()
    command = ScanCommand(
        kind=COPY_DELETED,
        code=code,
        occurred_at=now,
        client_event_id=uuid.uuid5(_NAMESPACE, f"copy-deleted:{copy.id}"),
        details={
            "pdf_sha256": copy.pdf_sha256,
            "copy_event_id": str(copy.event_id),
            "reason": "retention",
            "case_closed_at": closed_at.isoformat(),
        },
    )
    [result] = record(session, Actor.system(), [command], service_kinds=frozenset({COPY_DELETED}))
    if result.outcome != "accepted":
        raise Conflict(f"the ledger refused the deletion of copy {copy.id}: {result.detail}",
                       field="copy")  # fmt: skip
    copy.data = None
    copy.deleted_at = now
    # The pages go with the last live copy of the dossier: a later copy may still use them.
    others = session.scalar(
        select(DigitisedCopy.id)
        .where(
            DigitisedCopy.item_id == copy.item_id,
            DigitisedCopy.deleted_at.is_(None),
            DigitisedCopy.id != copy.id,
        )
        .limit(1)
    )
    if others is None:
        session.execute(delete(DossierPage).where(DossierPage.item_id == copy.item_id))
    session.flush()
    log.info("digitising.copy_deleted", extra={"copy": copy.id, "item": code})
    return Deleted(copy.id, code, copy.pdf_sha256, closed_at)
