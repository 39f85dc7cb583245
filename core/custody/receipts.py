"""Receipts a citizen can check: one hand-off with them, proved against a signed head.

A receipt holds the event's public outline (item, sequence, kind, time recorded) and its
chain hash, which commits to everything else about the event (places, parties, evidence)
without showing it; the leaf hash those make; and, once a signed head covers the event, the
head itself and an RFC 9162 inclusion proof. Anyone with the log's public key can then check
it, in the browser (``api/static/receipt.js``) or offline (``tools/verify_receipt.py``),
without trusting this server: a receipt the server altered, or an event the server later
changed, no longer leads to a root the key signed.

Receipts are given for hand-offs with a citizen only (pickup at the door, delivery), by the
event's id: a random UUID sent to the citizen in their SMS and on their slip.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.custody.checkpoints import latest_checkpoint
from core.custody.hashing import utc_text
from core.custody.merkle import leaf_data, leaf_hash
from core.custody.models import CustodyEvent, Item
from core.custody.transitions import TRANSITIONS
from core.custody.tree import tree_at
from core.custody.tree_models import LedgerLeaf
from core.errors import NotFound
from core.settings import Settings
from vntime import VN

RECEIPT_VERSION = 1
# Hand-offs with a citizen: the dossier leaves their hands, the result reaches them.
RECEIPT_KINDS = frozenset({"picked_up", "delivered"})


def receipt_path(event_id: uuid.UUID) -> str:
    return f"/r/{event_id}"


def receipt_url(settings: Settings, event_id: uuid.UUID) -> str:
    return settings.public_base_url.rstrip("/") + receipt_path(event_id)


def pickup_receipt_url(session: Session, settings: Settings, item_id: int) -> str | None:
    """The receipt link of an item's (latest) pickup, for the dossier slip."""
    event_id = session.scalar(
        select(CustodyEvent.event_id)
        .where(CustodyEvent.item_id == item_id, CustodyEvent.kind == "picked_up")
        .order_by(CustodyEvent.seq.desc())
        .limit(1)
    )
    return receipt_url(settings, event_id) if event_id is not None else None


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def build_receipt(session: Session, settings: Settings, event_id: uuid.UUID) -> dict[str, Any]:
    """The receipt as JSON-ready data; ``checkpoint`` and ``proof`` are null until a signed
    head covers the event (the worker signs one within a minute)."""
    row = session.execute(
        select(CustodyEvent, Item.code)
        .join(Item, Item.id == CustodyEvent.item_id)
        .where(CustodyEvent.event_id == event_id)
    ).first()
    if row is None or row[0].kind not in RECEIPT_KINDS:
        raise NotFound("no receipt with this id", field="event_id")
    event, code = row
    recorded = utc_text(event.recorded_at)
    leaf = leaf_hash(leaf_data(code, event.seq, event.kind, recorded, event.hash))
    rule = TRANSITIONS.get(event.kind)
    receipt: dict[str, Any] = {
        "v": RECEIPT_VERSION,
        "log": settings.ledger_origin,
        "event": {
            "item": code,
            "seq": event.seq,
            "kind": event.kind,
            "recorded_at": recorded,
            "hash": event.hash,
        },
        # What the page shows beside the checked fields; not part of what is proved.
        "shown": {
            "label_vi": rule.label_vi if rule else event.kind,
            "label_en": rule.label_en if rule else event.kind,
            "occurred_at": event.occurred_at.isoformat(),
            "occurred_at_vn": event.occurred_at.astimezone(VN).strftime("%H:%M %d/%m/%Y"),
        },
        "leaf_hash": _b64(leaf),
        "leaf_index": None,
        "checkpoint": None,
        "proof": None,
    }
    leaf_of = select(LedgerLeaf.leaf_index).where(LedgerLeaf.event_row_id == event.id)
    stored = session.scalar(leaf_of)
    head = latest_checkpoint(session)
    if stored is None or head is None or head.tree_size <= stored:
        return receipt
    proof = tree_at(session, head.tree_size).inclusion_proof(stored)
    receipt.update(leaf_index=stored, checkpoint=head.note, proof=[_b64(p) for p in proof])
    return receipt
