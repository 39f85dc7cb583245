"""Digitising a dossier from the phone: pages one by one (by SHA-256), then the copy.

A page is ``PUT`` under the hash of its bytes, so a page sent again after a lost answer is
harmless; the copy is ``POST``ed with the pages' hashes in order and a key of the phone's
(``client_id``), so the same request sent again returns the same copy. docs/digitising.md.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field

from core.digitising.models import DigitisedCopy
from core.digitising.service import (
    PAGE_TYPES,
    DocumentPages,
    check_page_size,
    digitise,
    held_dossier,
    latest_copy,
    store_page,
)
from core.errors import NotFound
from edge.deps import NowDep, SettingsDep
from mobile_api.deps import FieldCaller, SessionDep

router = APIRouter(prefix="/mobile/v1/dossiers", tags=["mobile"])


async def _page_body(request: Request, settings: SettingsDep) -> bytes:
    """The page's bytes, refused (with the limit named) as soon as they pass the setting."""
    limit = settings.digitise_max_page_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        check_page_size(settings, int(declared))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            check_page_size(settings, size)
        chunks.append(chunk)
    return b"".join(chunks)


class PageOut(BaseModel):
    sha256: str
    size_bytes: int
    width_px: int
    height_px: int


@router.put(
    "/{code}/pages/{sha256}",
    response_model=PageOut,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in PAGE_TYPES},
        }
    },
)
def put_page(
    code: str,
    sha256: str,
    caller: FieldCaller,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    data: Annotated[bytes, Depends(_page_body)],
    content_type: Annotated[str, Header()] = "",
) -> PageOut:
    """One page of dossier ``code`` (JPEG or PNG, at most ``digitise_max_page_bytes``),
    under the SHA-256 of its bytes. Refused unless the caller holds the dossier (or is the
    courier sent to fetch it). Sending it again is harmless."""
    page = store_page(session, settings, caller.actor, code, data, content_type,
                      expected_sha256=sha256, now=now)  # fmt: skip
    return PageOut(sha256=page.sha256, size_bytes=page.size_bytes, width_px=page.width_px,
                   height_px=page.height_px)  # fmt: skip


class DocumentPagesIn(BaseModel):
    name: str = Field(max_length=300, description="The checklist document's name.")
    first_page: int = Field(ge=1, le=2000)
    last_page: int = Field(ge=1, le=2000)


class DigitiseIn(BaseModel):
    client_id: uuid.UUID = Field(description="The phone's key for this copy (idempotency).")
    pages: list[str] = Field(min_length=1, max_length=2000, description="Page SHA-256s, in order.")
    documents: list[DocumentPagesIn] = Field(default_factory=list, max_length=200)


class DigitisedOut(BaseModel):
    item_id: str
    pdf_sha256: str
    page_sha256s: list[str]
    page_count: int
    size_bytes: int
    text_layer: str | None
    documents: list[DocumentPagesIn]
    event_id: str
    created_at: datetime


def _out(code: str, copy: DigitisedCopy) -> DigitisedOut:
    return DigitisedOut(
        item_id=code,
        pdf_sha256=copy.pdf_sha256,
        page_sha256s=copy.page_sha256s,
        page_count=copy.page_count,
        size_bytes=copy.size_bytes,
        text_layer=copy.text_layer,
        documents=[DocumentPagesIn(**d) for d in copy.documents],
        event_id=str(copy.event_id),
        created_at=copy.created_at,
    )


@router.post("/{code}/digitised", response_model=DigitisedOut, status_code=201)
def post_digitised(
    code: str,
    body: DigitiseIn,
    caller: FieldCaller,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> DigitisedOut:
    """Make the dossier's PDF from its uploaded pages and record it in the ledger as a
    ``digitised`` event; the worker adds the Vietnamese text layer afterwards, as a second
    copy with its own event (docs/digitising.md)."""
    documents = [DocumentPages(d.name, d.first_page, d.last_page) for d in body.documents]
    copy = digitise(session, settings, caller.actor, code, client_id=body.client_id,
                    page_sha256s=body.pages, documents=documents, now=now)  # fmt: skip
    return _out(code, copy)


@router.get("/{code}/digitised", response_model=DigitisedOut)
def get_digitised(code: str, caller: FieldCaller, session: SessionDep) -> DigitisedOut:
    """The dossier's latest copy: its hashes and which pages are which document."""
    held = held_dossier(session, caller.actor, code)
    copy = latest_copy(session, held.item.id)
    if copy is None:
        raise NotFound(f"no digitised copy of {held.item.code}", field="code",
                       reason="digitise.no_copy", params={"code": held.item.code})  # fmt: skip
    return _out(held.item.code, copy)
