"""Reading the ledger after a watermark without passing an event that commits late.

The status webhooks (``core.agency.webhooks``), the portal sync (``core.portal.sync``) and
the Merkle tree's sequencer (``core.custody.tree``) each read the events after an event id
kept in a locked cursor row, and move it in the same transaction as their work.

Ids are handed out in insert order but committed in any order, so a watermark could pass an
id whose transaction has not committed yet and miss it for good. A reader therefore stops at
a gap in the ids, and steps over it only when no other transaction in this database is
writing (then the id was rolled back), or when the event after the gap was recorded more
than ``agency_webhook_gap_grace_seconds`` ago (ledger transactions last milliseconds; one
still open after that long is taken to have rolled back).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.settings import Settings

Row = TypeVar("Row")


def no_other_writer(session: Session) -> bool:
    """True when no other transaction in this database holds a transaction id (is writing)."""
    busy = session.scalar(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
        )
    )
    return not busy


def settled(
    session: Session,
    settings: Settings,
    rows: Sequence[Row],
    *,
    after: int,
    now: datetime,
    id_of: Callable[[Row], int],
    recorded_at_of: Callable[[Row], datetime],
) -> list[Row]:
    """The leading ``rows`` (read in id order after the watermark ``after``) that may be
    taken now: up to the first gap an open transaction may still fill."""
    grace = timedelta(seconds=settings.agency_webhook_gap_grace_seconds)
    taken: list[Row] = []
    expected = after + 1
    quiet: bool | None = None
    for row in rows:
        if id_of(row) != expected and recorded_at_of(row) > now - grace:
            if quiet is None:
                quiet = no_other_writer(session)
            if not quiet:
                break  # an earlier id may still commit; wait for it
        taken.append(row)
        expected = id_of(row) + 1
    return taken
