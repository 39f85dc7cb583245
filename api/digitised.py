"""Digitised dossiers for agency systems: the ledger's facts and a short-lived download link
(a signed API request), then the PDF behind the link. docs/digitising.md is the contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from api.agency import CallingSystem
from core.digitising.agency import fetch_copy, offer_copy
from edge.deps import NowDep, SessionDep, SettingsDep
from edge.errors import CallerLang, error_response

router = APIRouter(prefix="/api/agency/v1", tags=["agency"])
# The link is its own credential (an HMAC with an expiry): outside the signed agency prefix.
file_router = APIRouter(prefix="/api/v1/digitised", tags=["agency"])


class LedgerFacts(BaseModel):
    event_id: str
    seq: int
    hash: str


class DigitisedCopyRead(BaseModel):
    item_id: str
    pdf_sha256: str
    page_sha256s: list[str]
    page_count: int
    captured_by: str
    text_layer: str | None
    documents: list[dict[str, Any]]
    size_bytes: int
    created_at: datetime
    ledger: LedgerFacts
    download_url: str
    expires_at: datetime


def _remote(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/dossiers/{item_id}/digitised")
def get_digitised_copy(
    item_id: str,
    request: Request,
    system: CallingSystem,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> DigitisedCopyRead:
    """The dossier's copy as the custody ledger recorded it (each page's and the PDF's
    SHA-256, who captured it) and a link to the PDF valid for ``digitised_link_seconds``.
    Hash what the link returns and compare it with ``pdf_sha256``."""
    offer = offer_copy(session, settings, system, item_id, now=now, remote_addr=_remote(request))
    facts = offer.facts
    return DigitisedCopyRead(
        item_id=offer.item_code,
        pdf_sha256=facts["pdf_sha256"],
        page_sha256s=facts["page_sha256s"],
        page_count=facts["page_count"],
        captured_by=facts["captured_by"],
        text_layer=facts.get("text_layer"),
        documents=facts.get("documents", []),
        size_bytes=offer.copy.size_bytes,
        created_at=offer.copy.created_at,
        ledger=LedgerFacts(event_id=facts["event_id"], seq=facts["seq"], hash=facts["hash"]),
        download_url=offer.link,
        expires_at=offer.expires_at,
    )


@file_router.get(
    "/files/{token}",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def get_digitised_file(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    lang: CallerLang,
) -> Response:
    """The PDF behind a link from ``GET /dossiers/{item_id}/digitised``; refused once the
    link has expired, and refused (never served) when the stored bytes no longer hash to the
    ledger's ``pdf_sha256``. Every download and refusal is logged."""
    fetched = fetch_copy(session, settings, token, now=now, remote_addr=_remote(request))
    if fetched.refusal is not None or fetched.copy is None or fetched.data is None:
        # Answered, not raised: the request's transaction commits the refusal's access row.
        assert fetched.refusal is not None
        return error_response(fetched.refusal, lang)
    return Response(
        content=fetched.data,
        media_type="application/pdf",
        headers={
            "X-Hoso-Pdf-Sha256": fetched.copy.pdf_sha256,
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="dossier-{fetched.copy.item_id}.pdf"',
        },
    )
