"""Digitising a dossier: who may, each page stored by its hash, and the copy made once.

A page is refused (nothing stored) when it is not a JPEG or PNG image, when it is larger
than ``digitise_max_page_bytes``, or when the caller does not hold the dossier. The copy is
made from pages already uploaded, in the order the phone gives, and recorded in the ledger
as a ``digitised`` event carrying each page's SHA-256, the image-only PDF's SHA-256, the page
count and who captured it; the searchable text layer is queued for the worker
(``core.digitising.text_layer``), which records the searchable PDF as a second copy with its
own event. The same request sent again (same ``client_id``) returns the same copy. A flatbed
scanner's single-page TIFF is turned into a PNG first (``from_scanner``).
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.cases.models import Booking, Case
from core.custody.commands import ScanCommand
from core.custody.models import CustodyEvent, Item, ItemState
from core.custody.parties import Actor
from core.custody.service import record
from core.custody.transitions import TRANSITIONS
from core.digitising.assemble import assemble
from core.digitising.models import DigitisedCopy, DossierPage
from core.digitising.text_layer import ocr_languages, queue_text_layer
from core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    code_refusal,
)
from core.media.service import validate_sha256
from core.settings import Settings
from labels.errors import InvalidCode
from labels.s10 import validate_item_id

DIGITISED = "digitised"
COPY_DELETED = "digitised_copy_deleted"
# JPEG from a phone's camera (compressed on the phone), PNG from a flatbed scanner's files.
PAGE_TYPES: Mapping[str, bytes] = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}
_NAMESPACE = uuid.UUID("5d1c3f0e-8a0b-4f5e-9d67-2b1e0c9a7f41")
MAX_DOCUMENT_NAME = 300


@dataclass(frozen=True)
class Held:
    """A dossier the caller may digitise, with what the checks read."""

    item: Item
    state: ItemState
    case: Case
    booking: Booking


def held_dossier(session: Session, actor: Actor, code: str) -> Held:
    """The dossier ``code`` if ``actor`` holds its paper now, or is the courier sent to fetch
    it; refused otherwise (not found, not a dossier, its status, someone else's)."""
    try:
        code = validate_item_id(code)
    except InvalidCode as exc:
        raise code_refusal(exc, "code") from exc
    query = (
        select(Item, ItemState, Case, Booking)
        .join(ItemState, ItemState.item_id == Item.id)
        .join(Case, Case.id == Item.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .where(Item.code == code)
    )
    row = session.execute(query).one_or_none()
    if row is None:
        raise NotFound(f"no dossier {code}", field="code", reason="digitise.no_item",
                       params={"code": code})  # fmt: skip
    item, state, case, booking = row
    if item.kind != "dossier":
        raise InvalidInput(f"{code} is a result, not a dossier", field="code",
                           reason="digitise.not_dossier", params={"code": code})  # fmt: skip
    if state.status not in TRANSITIONS[DIGITISED].from_statuses:
        raise InvalidTransition(
            f"dossier {code} is {state.status}: there is no paper to digitise",
            field="code",
            reason="digitise.wrong_status",
            params={"code": code, "status_text": f"status.{state.status}"},
        )
    _authorise(actor, Held(item, state, case, booking))
    return Held(item, state, case, booking)


def _authorise(actor: Actor, held: Held) -> None:
    """Whoever holds the paper: the custodian (a courier, a post office's staff, an office's
    desk), or at the door the courier sent to fetch it (not yet its custodian)."""
    if actor.role == "admin":
        return
    if actor.role not in TRANSITIONS[DIGITISED].roles:
        raise Forbidden("your role does not digitise dossiers", field="code",
                        reason="digitise.role")  # fmt: skip
    state, code = held.state, held.item.code
    if actor.party == state.custodian:
        return
    at_the_door = state.status in ("booked", "refused") and actor.role == "courier"
    if at_the_door:
        assigned = held.case.pickup_courier_id
        if assigned == actor.user_id:
            return
        if assigned is None and actor.post_office_id == held.booking.post_office_id:
            return
    # At the counter, before the walk-in's dossier is received: booked with this post office
    # and no courier sent to fetch it, so the paper is on the counter in front of the clerk.
    at_the_counter = state.status in ("booked", "refused") and actor.role == "counter_clerk"
    if (at_the_counter and held.case.pickup_courier_id is None
            and actor.post_office_id == held.booking.post_office_id):  # fmt: skip
        return
    if actor.role in ("dispatcher", "counter_clerk"):
        raise Forbidden(
            f"dossier {code} is not at this post office",
            field="code",
            reason="digitise.not_at_post_office",
            params={"code": code},
        )
    raise Forbidden(f"dossier {code} is not held by you", field="code",
                    reason="digitise.not_yours", params={"code": code})  # fmt: skip


@dataclass(frozen=True)
class StoredPage:
    sha256: str
    size_bytes: int
    width_px: int
    height_px: int


def store_page(
    session: Session,
    settings: Settings,
    actor: Actor,
    code: str,
    data: bytes,
    content_type: str,
    *,
    expected_sha256: str,
    now: datetime,
) -> StoredPage:
    """Store one page of dossier ``code``; the same bytes again are answered, not doubled."""
    expected = validate_sha256(expected_sha256)
    held = held_dossier(session, actor, code)
    check_page_size(settings, len(data))
    content_type = content_type.split(";")[0].strip().lower()
    if content_type not in PAGE_TYPES or not data.startswith(PAGE_TYPES[content_type]):
        raise InvalidInput(
            f"a page must be a JPEG or PNG image (got {content_type or 'no type'})",
            field="file",
            reason="digitise.not_an_image",
        )
    width, height = _image_size(data, content_type)
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise InvalidInput("the bytes do not match the SHA-256 in the address", field="sha256",
                           reason="digitise.hash_mismatch")  # fmt: skip
    session.execute(
        insert(DossierPage)
        .values(
            item_id=held.item.id,
            sha256=digest,
            content_type=content_type,
            size_bytes=len(data),
            width_px=width,
            height_px=height,
            data=data,
            uploaded_by_user_id=actor.user_id,
            created_at=now,
        )  # fmt: skip
        .on_conflict_do_nothing(index_elements=["item_id", "sha256"])
    )
    return StoredPage(digest, len(data), width, height)


# A flatbed scanner's files: TIFF (either byte order) as well as JPEG and PNG.
TIFF_MAGIC = (b"II*\x00", b"MM\x00*")


def from_scanner(data: bytes, content_type: str) -> tuple[bytes, str]:
    """A scanner's page as ``store_page`` takes it: JPEG and PNG as they are; a single-page
    TIFF (which no browser shows) as a lossless PNG of it. Anything else is passed on for
    ``store_page`` to refuse with its reason. The ledger's page hash is the PNG's."""
    if not data.startswith(TIFF_MAGIC):
        return data, content_type
    try:
        with Image.open(io.BytesIO(data)) as image:
            if getattr(image, "n_frames", 1) != 1:
                raise InvalidInput("a TIFF page must hold one page: scan each page to a file",
                                   field="file", reason="digitise.multi_page_tiff")  # fmt: skip
            image.load()
            # PNG holds these modes as they are (lossless); a CMYK or 16-bit scan becomes RGB.
            keep = image.mode in ("1", "L", "RGB", "RGBA", "P")
            out = io.BytesIO()
            (image if keep else image.convert("RGB")).save(out, "PNG")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise InvalidInput(f"the TIFF cannot be read as an image: {exc}", field="file",
                           reason="digitise.not_an_image") from exc  # fmt: skip
    return out.getvalue(), "image/png"


def check_page_size(settings: Settings, size: int) -> None:
    limit = settings.digitise_max_page_bytes
    if size > limit:
        raise InvalidInput(
            f"a page is at most {limit / (1024 * 1024):g} MB; this one is "
            f"{size / (1024 * 1024):.1f} MB",
            field="file",
            reason="digitise.page_too_large",
            params={"max_mb": f"{limit / (1024 * 1024):g}"},
        )
    if size == 0:
        raise InvalidInput("the page is empty", field="file", reason="digitise.not_an_image")


def _image_size(data: bytes, content_type: str) -> tuple[int, int]:
    """Width and height, after Pillow has read the whole image: a truncated or forged file
    is refused here, not when the PDF is made."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != _PIL_FORMATS[content_type]:
                raise InvalidInput(f"the bytes are {image.format}, not {content_type}",
                                   field="file", reason="digitise.not_an_image")  # fmt: skip
            size = image.size
            image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise InvalidInput(f"the page cannot be read as an image: {exc}", field="file",
                           reason="digitise.not_an_image") from exc  # fmt: skip
    return size


@dataclass(frozen=True)
class DocumentPages:
    """A checklist document and the pages of the copy that are it (1-based, inclusive)."""

    name: str
    first_page: int
    last_page: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "first_page": self.first_page, "last_page": self.last_page}


def digitise(
    session: Session,
    settings: Settings,
    actor: Actor,
    code: str,
    *,
    client_id: uuid.UUID,
    page_sha256s: Sequence[str],
    documents: Sequence[DocumentPages] = (),
    now: datetime,
) -> DigitisedCopy:
    """Make the copy of dossier ``code`` from its uploaded pages, in this order, and record it."""
    pages = [validate_sha256(s, field=f"pages[{i}]") for i, s in enumerate(page_sha256s)]
    existing = session.scalar(select(DigitisedCopy).where(DigitisedCopy.client_id == client_id))
    if existing is not None:
        if existing.page_sha256s != pages:
            raise Conflict("this client_id was used for other pages", field="client_id",
                           reason="digitise.client_id_reused")  # fmt: skip
        return existing  # the phone lost the answer and asked again
    # Checked without a lock: no scan of this dossier should wait on the PDF being made. The
    # ledger locks the item when it records the event and checks the status again then.
    held = held_dossier(session, actor, code)
    _check_pages(settings, pages)
    _check_documents(documents, len(pages))
    stored = {
        p.sha256: p.data
        for p in session.scalars(
            select(DossierPage).where(
                DossierPage.item_id == held.item.id, DossierPage.sha256.in_(pages)
            )
        )
    }
    missing = [s for s in pages if s not in stored]
    if missing:
        raise InvalidInput(
            f"{len(missing)} page(s) not uploaded yet: {', '.join(m[:12] for m in missing)}",
            field="pages",
            reason="digitise.pages_missing",
            params={"count": len(missing)},
        )
    # The image-only PDF (milliseconds); Tesseract's text layer is the worker's job, queued
    # below in this transaction, and becomes a second copy with its own event.
    made = assemble([stored[s] for s in pages], ocr_languages=None)
    pdf_sha256 = hashlib.sha256(made.pdf).hexdigest()
    details: dict[str, Any] = {
        "pdf_sha256": pdf_sha256,
        "page_sha256s": pages,
        "page_count": len(pages),
        "captured_by": actor.party,
        "text_layer": None,
        "text_layer_queued": ocr_languages(settings) is not None,
        "documents": [d.to_json() for d in documents],
    }
    command = ScanCommand(
        kind=DIGITISED,
        code=held.item.code,
        occurred_at=now,
        client_event_id=uuid.uuid5(_NAMESPACE, f"digitised:{client_id}"),
        details=details,
    )
    [result] = record(session, actor, [command], service_kinds=frozenset({DIGITISED}))
    if result.outcome != "accepted" or not result.events:
        raise Conflict(f"the ledger refused the copy of {held.item.code}: {result.detail}",
                       field="code", reason="digitise.ledger_refused",
                       params={"code": held.item.code})  # fmt: skip
    values = {
        "item_id": held.item.id, "case_id": held.case.id, "client_id": client_id,
        "pdf_sha256": pdf_sha256, "page_sha256s": pages, "page_count": len(pages),
        "documents": details["documents"], "text_layer": made.text_layer,
        "size_bytes": len(made.pdf), "data": made.pdf, "captured_by_user_id": actor.user_id,
        "event_id": uuid.UUID(result.events[0]["event_id"]), "created_at": now,
    }  # fmt: skip
    # The same request twice at once: the ledger answered the second with the first's event
    # (same client event id), and here the second finds the first's row.
    inserted = session.execute(
        insert(DigitisedCopy)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["client_id"])
        .returning(DigitisedCopy.id)
    ).scalar_one_or_none()
    copy = session.scalars(select(DigitisedCopy).where(DigitisedCopy.client_id == client_id)).one()
    if inserted is not None:  # the text layer is asked for once, by whoever made the copy
        queue_text_layer(session, settings, copy)
    return copy


@dataclass(frozen=True)
class ScannedFile:
    """One page handed over in a batch (the counter's scanner files or webcam shots)."""

    name: str
    content_type: str
    data: bytes
    # As sent, which may be more than ``data`` holds (the edge stops reading past the limit).
    size_bytes: int


class PagesRefused(InvalidInput):
    """Pages of a batch refused, each with its number (1-based), file name and reason."""

    def __init__(self, refusals: Sequence[tuple[int, str, DomainError]]) -> None:
        page, _, first = refusals[0]
        super().__init__(
            "; ".join(f"page {n} ({name}): {e.detail}" for n, name, e in refusals),
            field=f"pages[{page - 1}]",
            reason=first.reason,
            params=first.params,
        )
        self.refusals = list(refusals)


def digitise_files(
    session: Session,
    settings: Settings,
    actor: Actor,
    code: str,
    files: Sequence[ScannedFile],
    *,
    client_id: uuid.UUID,
    documents: Sequence[DocumentPages] = (),
    now: datetime,
) -> DigitisedCopy:
    """The copy of dossier ``code`` from pages handed over at once, in this order: each page
    stored by ``store_page`` (a scanner's TIFF as PNG), then ``digitise``. Every bad page is
    named; the caller's savepoint then keeps nothing of the batch."""
    held_dossier(session, actor, code)  # a dossier not held here: refused before any page
    if not files:
        raise InvalidInput("a copy needs at least one page", field="pages",
                           reason="digitise.no_pages")  # fmt: skip
    hashes: list[str] = []
    refusals: list[tuple[int, str, DomainError]] = []
    for number, file in enumerate(files, start=1):
        try:
            check_page_size(settings, file.size_bytes)  # before a TIFF is decoded
            data, content_type = from_scanner(file.data, file.content_type)
            digest = hashlib.sha256(data).hexdigest()
            stored = store_page(session, settings, actor, code, data, content_type,
                                expected_sha256=digest, now=now)  # fmt: skip
        except DomainError as exc:
            refusals.append((number, file.name, exc))
            continue
        hashes.append(stored.sha256)
    if refusals:
        raise PagesRefused(refusals)
    return digitise(session, settings, actor, code, client_id=client_id, page_sha256s=hashes,
                    documents=documents, now=now)  # fmt: skip


def _check_pages(settings: Settings, pages: list[str]) -> None:
    if not pages:
        raise InvalidInput("a copy needs at least one page", field="pages",
                           reason="digitise.no_pages")  # fmt: skip
    if len(pages) > settings.digitise_max_pages:
        raise InvalidInput(
            f"a copy has at most {settings.digitise_max_pages} pages",
            field="pages",
            reason="digitise.too_many_pages",
            params={"max": settings.digitise_max_pages},
        )
    seen: set[str] = set()
    for index, sha in enumerate(pages):
        if sha in seen:
            raise InvalidInput(f"page {index + 1} is the same photo as an earlier page",
                               field=f"pages[{index}]", reason="digitise.duplicate_page",
                               params={"page": index + 1})  # fmt: skip
        seen.add(sha)


def _check_documents(documents: Sequence[DocumentPages], page_count: int) -> None:
    for index, doc in enumerate(documents):
        field = f"documents[{index}]"
        if not doc.name.strip() or len(doc.name) > MAX_DOCUMENT_NAME:
            raise InvalidInput("a document needs its name from the checklist", field=field,
                               reason="digitise.document_name")  # fmt: skip
        if not 1 <= doc.first_page <= doc.last_page <= page_count:
            raise InvalidInput(
                f"pages {doc.first_page}–{doc.last_page} are not within 1–{page_count}",
                field=field,
                reason="digitise.bad_page_range",
                params={"first": doc.first_page, "last": doc.last_page, "count": page_count},
            )


def latest_copy(session: Session, item_id: int) -> DigitisedCopy | None:
    return session.scalar(
        select(DigitisedCopy)
        .where(DigitisedCopy.item_id == item_id)
        .order_by(DigitisedCopy.id.desc())
        .limit(1)
    )


def ledger_facts(session: Session, copy: DigitisedCopy) -> dict[str, Any]:
    """What the ledger's ``digitised`` event says of this copy (its details, chained)."""
    event = session.scalar(select(CustodyEvent).where(CustodyEvent.event_id == copy.event_id))
    if event is None or event.kind != DIGITISED:
        raise NotFound("the copy's ledger event is missing", field="copy",
                       reason="digitise.no_event")  # fmt: skip
    return {**event.details, "event_id": str(event.event_id), "seq": event.seq,
            "hash": event.hash}  # fmt: skip


def tampering(session: Session, copy: DigitisedCopy) -> list[str]:
    """What is wrong with the stored copy against its ledger event; empty when intact."""
    facts = ledger_facts(session, copy)
    problems = []
    if copy.data is not None and hashlib.sha256(copy.data).hexdigest() != facts["pdf_sha256"]:
        problems.append("the PDF's bytes do not hash to the ledger's pdf_sha256")
    if copy.pdf_sha256 != facts["pdf_sha256"]:
        problems.append("the copy's recorded pdf_sha256 differs from the ledger's")
    if copy.page_sha256s != facts["page_sha256s"] or copy.page_count != facts["page_count"]:
        problems.append("the copy's pages differ from the ledger's")
    return problems
