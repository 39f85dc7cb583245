"""The ledger's public face: signed heads, proofs, public keys and citizens' receipts.

Nothing here needs an account: a head, a proof or a receipt is worth only what the public
key says of it, so anyone may fetch them (an inspector, an agency's witness, a citizen).
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from api.web import render
from core.custody.checkpoints import (
    checkpoint_of_size,
    consistency_proof,
    latest_checkpoint,
    trusted_verifiers,
)
from core.custody.receipts import build_receipt
from core.custody.tree_models import LedgerCheckpoint
from core.errors import DomainError, InvalidInput, NotFound
from edge.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])
receipt_router = APIRouter(tags=["ledger"])
page_router = APIRouter(include_in_schema=False)


class CheckpointRead(BaseModel):
    tree_size: int
    root_hash: str  # base64, as in the note
    signed_at: datetime
    key: str  # <name>+<key id>
    note: str  # the signed note, C2SP checkpoint format: what to verify


class ConsistencyRead(BaseModel):
    first: int
    second: int
    proof: list[str]  # base64 hashes, RFC 9162 section 2.1.4 order


class PublicKeysRead(BaseModel):
    origin: str
    keys: list[str]  # "<name>+<key id>+<base64 key>", the current one first


class ReceiptEventRead(BaseModel):
    item: str
    seq: int
    kind: str
    recorded_at: str
    hash: str


class ReceiptShownRead(BaseModel):
    label_vi: str
    label_en: str
    occurred_at: str
    occurred_at_vn: str  # HH:MM dd/mm/yyyy, Vietnam time


class ReceiptRead(BaseModel):
    v: int
    log: str
    event: ReceiptEventRead
    shown: ReceiptShownRead
    leaf_hash: str
    leaf_index: int | None
    checkpoint: str | None
    proof: list[str] | None


def _read(row: LedgerCheckpoint) -> CheckpointRead:
    return CheckpointRead(
        tree_size=row.tree_size,
        root_hash=base64.b64encode(row.root_hash).decode(),
        signed_at=row.signed_at,
        key=f"{row.key_name}+{row.key_id}",
        note=row.note,
    )


@router.get("/checkpoints", response_model=CheckpointRead)
def get_latest_checkpoint(session: SessionDep) -> CheckpointRead:
    """The newest signed tree head."""
    row = latest_checkpoint(session)
    if row is None:
        raise NotFound("no head has been signed yet", field="size")
    return _read(row)


@router.get("/checkpoints/{size}", response_model=CheckpointRead)
def get_checkpoint(size: int, session: SessionDep) -> CheckpointRead:
    """The signed head of a tree of exactly ``size`` events."""
    if not 0 <= size < 2**62:
        raise InvalidInput("size must be a whole number of events", field="size")
    row = checkpoint_of_size(session, size)
    if row is None:
        raise NotFound(f"no head was signed at size {size}", field="size")
    return _read(row)


@router.get("/consistency", response_model=ConsistencyRead)
def get_consistency(
    session: SessionDep,
    first: int = Query(ge=1, lt=2**62),
    second: int = Query(ge=1, lt=2**62),
) -> ConsistencyRead:
    """An RFC 9162 consistency proof between the trees of ``first`` and ``second`` events."""
    proof = consistency_proof(session, first, second)
    return ConsistencyRead(
        first=first, second=second, proof=[base64.b64encode(p).decode() for p in proof]
    )


@router.get("/public-keys", response_model=PublicKeysRead)
def get_public_keys(settings: SettingsDep) -> PublicKeysRead:
    """The keys heads are signed with: check them against the ones published elsewhere."""
    return PublicKeysRead(
        origin=settings.ledger_origin, keys=[v.vkey() for v in trusted_verifiers(settings)]
    )


def _event_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise InvalidInput("not a receipt id", field="event_id") from None


@receipt_router.get("/api/v1/receipts/{event_id}", response_model=ReceiptRead)
def get_receipt(event_id: str, session: SessionDep, settings: SettingsDep) -> ReceiptRead:
    """A citizen's receipt for a hand-off: the event (masked), its leaf hash and, once a
    signed head covers it, the head and an inclusion proof."""
    return ReceiptRead.model_validate(build_receipt(session, settings, _event_id(event_id)))


@page_router.get("/r/{event_id}", response_class=HTMLResponse)
def receipt_page(
    request: Request, event_id: str, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    """The receipt link in the SMS and the slip's QR: checked in the browser with the public
    key only (``api/static/receipt.js``)."""
    keys = [v.vkey() for v in trusted_verifiers(settings)]
    try:
        receipt = build_receipt(session, settings, _event_id(event_id))
    except DomainError as exc:
        status = 422 if isinstance(exc, InvalidInput) else 404
        return render(request, "citizen/receipt.html",
                      {"receipt": None, "keys": keys, "origin": settings.ledger_origin},
                      status_code=status)  # fmt: skip
    return render(request, "citizen/receipt.html",
                  {"receipt": receipt, "keys": keys, "origin": settings.ledger_origin})  # fmt: skip
