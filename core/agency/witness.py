"""Agency systems as witnesses of the ledger: every signed head is pushed to each of them.

A head pushed to a system that keeps it can no longer be taken back: a forger who rewrote
the database and re-signed (with a stolen key) would have to make every agency forget the
head it was sent. The head travels as a status webhook does, through the outbox, signed with
the system's webhook key, and is queued in the transaction that signed it.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.agency.models import AgencySystem
from core.agency.service import current_key_id
from core.agency.webhooks import WEBHOOK_TOPIC
from core.custody.checkpoints import heads_file, make_checkpoint, sync_heads_file
from core.custody.tree_models import LedgerCheckpoint
from core.db import transaction
from core.outbox.models import OutboxMessage
from core.settings import Settings

log = logging.getLogger(__name__)

CHECKPOINT_TYPE = "ledger.checkpoint"


def checkpoint_body(row: LedgerCheckpoint) -> dict[str, object]:
    return {
        "type": CHECKPOINT_TYPE,
        "tree_size": row.tree_size,
        "root_hash": base64.b64encode(row.root_hash).decode(),
        "signed_at": row.signed_at.isoformat(),
        "key": f"{row.key_name}+{row.key_id}",
        "checkpoint": row.note,
    }


def push_checkpoint(session: Session, row: LedgerCheckpoint) -> int:
    """Queue the head for every active system with a webhook; returns how many."""
    systems = session.scalars(
        select(AgencySystem).where(
            AgencySystem.active.is_(True), AgencySystem.webhook_url.is_not(None)
        )
    )
    queued = 0
    for system in systems:
        key_id = current_key_id(session, system.id)
        if key_id is None:
            log.warning("agency.checkpoint_without_key", extra={"system": system.code})
            continue
        session.add(
            OutboxMessage(
                topic=WEBHOOK_TOPIC,
                payload={
                    "system": system.code,
                    "url": system.webhook_url,
                    "key_id": key_id,
                    "body": checkpoint_body(row),
                },  # fmt: skip
            )
        )
        queued += 1
    session.flush()
    return queued


def checkpoint_pass(
    factory: sessionmaker[Session], settings: Settings, *, now: datetime, force: bool = False
) -> LedgerCheckpoint | None:
    """One worker pass: sequence, sign if due, push to witnesses; then the heads file."""
    with transaction(factory) as session:
        row = make_checkpoint(session, settings, now=now, force=force)
        if row is not None:
            push_checkpoint(session, row)
            session.expunge(row)
    try:
        with transaction(factory) as session:
            sync_heads_file(session, settings)
    except OSError:
        # The head is safe in the database; the next pass appends what this one could not.
        # A full disk must not stop the worker from delivering SMS and webhooks.
        log.exception("ledger.heads_file_failed", extra={"path": str(heads_file(settings))})
    return row
