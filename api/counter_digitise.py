"""Digitising a dossier at the counter (/counter/digitise/{case_id}): the clerk's pages from a
flatbed scanner's files or the webcam, in the order the page shows them, with each checklist
document's page range. One multipart form; the services are the courier app's
(``core.digitising.service``: ``store_page`` for each page, then ``digitise``), under the
same authorisation (a clerk digitises a dossier held at their post office, or a walk-in's
on the counter before it is received). A bad page is named with its reason and nothing of
the batch is kept. The page's script (static/counter_digitise.js) adds previews, re-take,
reorder and the webcam; without it the form still sends the files in the order chosen.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.datastructures import FormData, UploadFile

from api.counter import ClerkUser, redirect_back
from api.web import attempt, refusal_text, request_lang
from core.cases.models import Booking, Case
from core.counter.reception import counter_post_office
from core.custody.models import Item
from core.digitising.models import DigitisedCopy
from core.digitising.service import (
    DocumentPages,
    PagesRefused,
    ScannedFile,
    digitise_files,
)
from core.errors import DomainError, NotFound
from core.identity.service import actor_for
from edge.deps import NowDep, SessionDep, SettingsDep
from edge.texts import message, text

router = APIRouter(prefix="/counter/digitise", include_in_schema=False)

# More rows than any procedure lists (as the checklist form's own cap).
MAX_DOCUMENT_ROWS = 100


async def _scanned(upload: UploadFile, limit: int) -> ScannedFile:
    """The file's bytes up to one past the limit (a larger one is refused by its size, and
    not read whole into memory)."""
    data = await upload.read(limit + 1)
    size = upload.size if upload.size is not None else len(data)
    content_type = (upload.content_type or "").lower()
    return ScannedFile(upload.filename or "", content_type, data, size)


def _documents(form: FormData) -> list[DocumentPages]:
    """The checklist documents given a page range; a row left empty is no document."""
    out = []
    count = str(form.get("doc_count", ""))
    for index in range(min(int(count) if count.isdigit() and len(count) < 4 else 0,
                           MAX_DOCUMENT_ROWS)):  # fmt: skip
        first = str(form.get(f"doc_first_{index}", "")).strip()
        last = str(form.get(f"doc_last_{index}", "")).strip() or first
        if not first:
            continue
        # A number that is not one reads as 0: the range check names the document.
        first_page = int(first) if first.isdigit() and len(first) < 5 else 0
        last_page = int(last) if last.isdigit() and len(last) < 5 else 0
        out.append(DocumentPages(str(form.get(f"doc_name_{index}", "")), first_page, last_page))
    return out


def _client_id(form: FormData) -> uuid.UUID:
    """The page's key for this copy (sent twice, the same copy); a new one if it is bad."""
    try:
        return uuid.UUID(str(form.get("client_id", "")))
    except ValueError:
        return uuid.uuid4()


def _refusal(request: Request, error: DomainError) -> str:
    if not isinstance(error, PagesRefused):
        return refusal_text(request, error)
    lang = request_lang(request)
    return " ".join(
        text("digitise.page_refused",
             {"page": number, "name": name or "?", "reason": message(refusal, lang)}, lang)
        for number, name, refusal in error.refusals
    )  # fmt: skip


@router.post("/{case_id}", response_model=None)
async def digitise_at_counter(
    request: Request,
    case_id: int,
    user: ClerkUser,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    row = session.execute(
        select(Item.code, Booking.post_office_id)
        .join(Case, Case.dossier_item_id == Item.id)
        .join(Booking, Booking.id == Case.booking_id)
        .where(Case.id == case_id)
    ).first()
    if row is None:
        missing = NotFound(f"no case {case_id}", field="case_id", reason="counter.no_case",
                           params={"case_id": case_id})  # fmt: skip
        return redirect_back("/counter", error=refusal_text(request, missing), field="case_id")
    # A case booked at this counter comes back to its page; any other goes back to the
    # counter (its page is another post office's), with the refusal either way.
    here = f"/counter/cases/{case_id}" if row[1] == counter_post_office(user) else "/counter"
    form = await request.form(max_files=settings.digitise_max_pages + 1,
                              max_fields=3 * MAX_DOCUMENT_ROWS + 10)  # fmt: skip
    try:
        limit = settings.digitise_max_page_bytes
        uploads = [f for f in form.getlist("pages") if isinstance(f, UploadFile)]
        # An empty file input still sends one part with no name and no bytes.
        files = [await _scanned(f, limit) for f in uploads if f.filename or (f.size or 0) > 0]
        code = str(row[0])

        def make() -> DigitisedCopy:
            return digitise_files(session, settings, actor_for(user), code,
                                  files, client_id=_client_id(form), documents=_documents(form),
                                  now=now)  # fmt: skip

        made = attempt(session, make)
    finally:
        await form.close()
    if isinstance(made, DomainError):
        return redirect_back(here, error=_refusal(request, made), field=made.field)
    params: dict[str, Any] = {"ok": f"digitised:{made.page_count}"}
    return redirect_back(here, **params)
