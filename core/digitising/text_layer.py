"""The searchable text layer, added by the worker after the copy is made.

Tesseract reads a page in about 3.6 s on the shared machine (36 s for a 10-page dossier):
too long for the phone's or the counter's request. So the request makes the image-only PDF
(milliseconds), records it in the ledger as a ``digitised`` event and queues this job in the
same transaction (the outbox). The worker then reads the pages with Tesseract, makes the
searchable PDF and records it as a second copy with its own ``digitised`` event (recorded by
the system, naming the copy it adds a layer to in ``text_layer_of``). Each copy is checked
against its own event, and the agency gets the newest, so the hash the agency receives is
always the one in the ledger.

The job ends without a new copy, and says why in the outbox row, when Tesseract or its
language is missing, when a page cannot be read, when a newer copy has replaced this one, or
when the ledger no longer takes a ``digitised`` event for the dossier (its status moved on).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.custody.commands import ScanCommand
from core.custody.models import CustodyEvent, Item
from core.custody.parties import Actor
from core.custody.service import record
from core.digitising.assemble import assemble
from core.digitising.models import DigitisedCopy, DossierPage
from core.outbox.service import InTransaction, enqueue
from core.settings import Settings

log = logging.getLogger(__name__)

TEXT_LAYER_TOPIC = "digitise.text_layer"
_NAMESPACE = uuid.UUID("0c6f5a1e-3b7d-4e29-8a54-91d2f7c0b6e3")


def ocr_languages(settings: Settings) -> str | None:
    return settings.digitise_ocr_languages.strip() or None


def queue_text_layer(session: Session, settings: Settings, copy: DigitisedCopy) -> bool:
    """Queue the text layer of ``copy`` (in the caller's transaction); False when no text
    layer is configured (``HOSO_DIGITISE_OCR_LANGUAGES`` empty)."""
    if ocr_languages(settings) is None:
        return False
    enqueue(session, TEXT_LAYER_TOPIC, {"copy_id": copy.id})
    return True


def add_text_layer(
    session: Session, payload: Mapping[str, Any], settings: Settings, now: datetime
) -> str:
    """The worker's job for one copy: a second, searchable copy and its ledger event.
    Returns what happened (kept on the outbox row)."""
    copy = session.get(DigitisedCopy, int(payload["copy_id"]), with_for_update=True)
    if copy is None or copy.deleted_at is not None:
        return "no text layer: the copy is gone"
    if copy.text_layer is not None:
        return "no text layer: the copy has one"
    newer = session.scalar(
        select(DigitisedCopy.id)
        .where(DigitisedCopy.item_id == copy.item_id, DigitisedCopy.id > copy.id)
        .limit(1)
    )
    if newer is not None:
        return f"no text layer: copy {newer} replaced this one"
    languages = ocr_languages(settings)
    if languages is None:
        return "no text layer: HOSO_DIGITISE_OCR_LANGUAGES is empty"
    stored = {
        p.sha256: p.data
        for p in session.scalars(
            select(DossierPage).where(
                DossierPage.item_id == copy.item_id, DossierPage.sha256.in_(copy.page_sha256s)
            )
        )
    }
    if any(s not in stored for s in copy.page_sha256s):
        return "no text layer: the pages are gone"
    made = assemble([stored[s] for s in copy.page_sha256s], ocr_languages=languages)
    if made.text_layer is None:
        log.warning("digitising.no_text_layer", extra={"copy": copy.id, "languages": languages})
        return f"no text layer: Tesseract with {languages} is not here, or could not read a page"
    pdf_sha256 = hashlib.sha256(made.pdf).hexdigest()
    code = session.scalars(select(Item.code).where(Item.id == copy.item_id)).one()
    details: dict[str, Any] = {
        "pdf_sha256": pdf_sha256,
        "page_sha256s": copy.page_sha256s,
        "page_count": copy.page_count,
        "captured_by": _captured_by(session, copy),
        "text_layer": made.text_layer,
        "documents": copy.documents,
        # The copy this one adds a layer to: the same pages, the image-only PDF's hash.
        "text_layer_of": {"event_id": str(copy.event_id), "pdf_sha256": copy.pdf_sha256},
    }
    command = ScanCommand(
        kind="digitised",
        code=code,
        occurred_at=now,
        client_event_id=uuid.uuid5(_NAMESPACE, f"text-layer:{copy.client_id}"),
        details=details,
    )
    [result] = record(session, Actor.system(), [command], service_kinds=frozenset({"digitised"}))
    if result.outcome != "accepted" or not result.events:
        log.warning("digitising.text_layer_refused", extra={"copy": copy.id})
        return f"no text layer: the ledger refused it ({result.reason_code}: {result.detail})"
    session.execute(
        insert(DigitisedCopy)
        .values(
            item_id=copy.item_id,
            case_id=copy.case_id,
            client_id=uuid.uuid5(_NAMESPACE, f"copy:{copy.client_id}"),
            pdf_sha256=pdf_sha256,
            page_sha256s=copy.page_sha256s,
            page_count=copy.page_count,
            documents=copy.documents,
            text_layer=made.text_layer,
            size_bytes=len(made.pdf),
            data=made.pdf,
            captured_by_user_id=copy.captured_by_user_id,
            event_id=uuid.UUID(result.events[0]["event_id"]),
            created_at=now,
        )  # fmt: skip
        .on_conflict_do_nothing(index_elements=["client_id"])
    )
    session.flush()
    return f"text layer {made.text_layer}: {pdf_sha256}"


def _captured_by(session: Session, copy: DigitisedCopy) -> str:
    """Who captured the pages, as the first copy's event says (not the system)."""
    details = session.scalars(
        select(CustodyEvent.details).where(CustodyEvent.event_id == copy.event_id)
    ).one()
    return str(details["captured_by"])


# The outbox's handler for TEXT_LAYER_TOPIC (the worker registers it). In the message's own
# transaction: the new copy, its event and the message's "delivered" mark commit together.
text_layer_job = InTransaction(add_text_layer)
