"""The signed hand-over record as sealed: its canonical content (core.custody.sealing)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.custody.sealing import RECORD_HANDOVER, moment
from core.handovers.models import Handover, HandoverLine


def handover_content(session: Session, handover: Handover) -> dict[str, Any]:
    """Everything the signed hand-over record says, as stored."""
    lines = session.scalars(
        select(HandoverLine)
        .where(HandoverLine.handover_id == handover.id)
        .order_by(HandoverLine.item_code)
    )
    return {
        "record": RECORD_HANDOVER,
        "code": handover.code,
        "from_party": handover.from_party,
        "to_party": handover.to_party,
        "opened_by_party": handover.opened_by_party,
        "opened_by_user_id": handover.opened_by_user_id,
        "completed_by_user_id": handover.completed_by_user_id,
        "opened_at": moment(handover.opened_at),
        "completed_at": moment(handover.completed_at),
        "fees_declared_vnd": handover.fees_declared_vnd,
        "fees_confirmed_vnd": handover.fees_confirmed_vnd,
        "giver_signature_sha256": handover.giver_signature_sha256,
        "receiver_signature_sha256": handover.receiver_signature_sha256,
        "note": handover.note,
        "supersedes_id": handover.supersedes_id,
        "correction_reason": handover.correction_reason,
        "lines": [
            {
                "item_code": line.item_code,
                "outcome": line.outcome,
                "accepted": line.accepted,
                "reason": line.reason,
                "fees_declared_vnd": line.fees_declared_vnd,
                "fees_confirmed_vnd": line.fees_confirmed_vnd,
            }
            for line in lines
        ],
    }
