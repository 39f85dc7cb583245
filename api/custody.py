"""The custody ledger for inspectors and the people who correct it.

- ``GET /api/v1/epcis/events`` (staff, by reach) and ``GET /api/agency/v1/epcis/events``
  (agency systems, HMAC-signed, their province's cases): the ledger as EPCIS 2.0 events, with
  the REST binding's query parameters and paging (docs/epcis.md).
- ``POST /api/v1/ledger/corrections``: declare an event wrong, with a reason and the
  corrective event; ``GET /api/v1/ledger/exceptions`` and ``…/{id}/resolve``: the scans the
  ledger kept as exceptions.
- Pages for the same: ``/ledger/items/{code}`` (an item's history, with a correction form on
  each event) and ``/ledger/exceptions``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.agency import CallingSystem
from api.staff import staff_user
from api.web import attempt, page_user, render
from core.access import agency_case_scope, case_scope, require_correct_item
from core.custody.commands import ScanCommand
from core.custody.corrections import declared_event_ids
from core.custody.models import CustodyEvent, Item, ItemState
from core.custody.transitions import ERROR_DECLARED, ERROR_REASONS, STATUS_LABELS, TRANSITIONS
from core.epcis.export import parse_query, query_document, query_events
from core.errors import DomainError, InvalidInput, NotFound
from core.identity.models import User
from core.identity.service import actor_for
from core.inputs import INT4_MAX, Moment, Text
from core.ledger.corrections import (
    correct_event,
    exception_item,
    list_exceptions,
    resolve_exception,
    wrong_event,
)
from edge.deps import NowDep, SessionDep
from edge.errors import status_for
from labels.errors import InvalidCode
from labels.s10 import validate_item_id
from vntime import VN

router = APIRouter(tags=["ledger"])
page_router = APIRouter(include_in_schema=False)
LedgerReader = Annotated[User, Depends(staff_user("ledger"))]
Corrector = Annotated[User, Depends(staff_user("corrections"))]
CorrectorPage = Annotated[User, Depends(page_user("corrections"))]

EPCIS_MEDIA = "application/ld+json"
ExceptionId = Annotated[int, Path(ge=1, le=INT4_MAX)]


# -- EPCIS ----------------------------------------------------------------------------------


def _epcis_answer(
    request: Request, session: Session, scope: Any, params: dict[str, str | None], now: datetime
) -> JSONResponse:
    query = parse_query(params)
    page = query_events(session, scope, query)
    headers = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
    if page.next_page_token is not None:
        # The REST binding's paging: the next page's URL, same query, in a Link header.
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "nextPageToken"]
        kept.append(("nextPageToken", page.next_page_token))
        headers["Link"] = f'<{request.url.path}?{urlencode(kept)}>; rel="next"'
    return JSONResponse(query_document(page.events, now=now), headers=headers,
                        media_type=EPCIS_MEDIA)  # fmt: skip


class EpcisParams(BaseModel):
    """The REST binding's query parameters hoso answers (others are not accepted)."""

    model_config = {"extra": "forbid", "populate_by_name": True}

    eventType: str | None = Field(None, description="ObjectEvent, AggregationEvent (comma list).")  # noqa: N815
    GE_eventTime: str | None = Field(None, description="Events at or after (RFC 3339).")  # noqa: N815
    LT_eventTime: str | None = Field(None, description="Events before (RFC 3339).")  # noqa: N815
    GE_recordTime: str | None = None  # noqa: N815
    LT_recordTime: str | None = None  # noqa: N815
    MATCH_epc: str | None = Field(None, description="Item URIs (urn:hoso:item:…) or S10 codes.")  # noqa: N815
    MATCH_anyEPC: str | None = Field(None, description="Item or bag URIs or S10 codes.")  # noqa: N815
    MATCH_parentID: str | None = Field(None, description="Bag URIs or codes.")  # noqa: N815
    EQ_bizStep: str | None = Field(None, description="CBV business steps (comma list).")  # noqa: N815
    EQ_disposition: str | None = None  # noqa: N815
    item: str | None = Field(None, description="One item's S10 code (hoso's shorthand).")
    perPage: str | None = Field(None, description="Events per page, 1-1000 (100).")  # noqa: N815
    nextPageToken: str | None = Field(None, description="From the previous page's Link.")  # noqa: N815


EPCIS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An EPCISQueryDocument (EPCIS 2.0 JSON-LD); a Link header with "
        'rel="next" when there are more events.',
        "content": {EPCIS_MEDIA: {"schema": {"type": "object"}}},
    }
}


@router.get("/api/v1/epcis/events", responses=EPCIS_RESPONSES, response_class=JSONResponse)
def get_epcis_events(
    request: Request,
    user: LedgerReader,
    session: SessionDep,
    now: NowDep,
    params: Annotated[EpcisParams, Query()],
) -> JSONResponse:
    """The events of the cases the caller reaches, as EPCIS 2.0 (staff: session or token)."""
    return _epcis_answer(request, session, case_scope(user), params.model_dump(), now)


@router.get("/api/agency/v1/epcis/events", responses=EPCIS_RESPONSES,
            response_class=JSONResponse, tags=["agency"])  # fmt: skip
def get_agency_epcis_events(
    request: Request,
    system: CallingSystem,
    session: SessionDep,
    now: NowDep,
    params: Annotated[EpcisParams, Query()],
) -> JSONResponse:
    """The events of the system's province's cases (every case for the national portal)."""
    return _epcis_answer(request, session, agency_case_scope(system), params.model_dump(), now)


# -- corrections and exceptions (JSON) ------------------------------------------------------


class CorrectiveIn(BaseModel):
    """The event as it should have been: the same kind as the wrong one, by the corrector."""

    kind: str = Field(max_length=40)
    occurred_at: Moment
    to_party: str | None = Field(None, max_length=40)
    place: Text | None = Field(None, max_length=200)
    details: dict[str, Any] = Field(default_factory=dict)


class CorrectionIn(BaseModel):
    corrects_event_id: uuid.UUID = Field(description="The ledger event ID that is wrong.")
    reason: Literal["did_not_occur", "incorrect_data"]
    note: Text | None = Field(None, max_length=500, description="Why, for the record.")
    corrective: CorrectiveIn | None = None


class CorrectionRead(BaseModel):
    item: str
    declaration_event_id: str
    corrective_event_id: str | None
    status: str
    custodian: str


def _corrective(payload: CorrectiveIn | None) -> ScanCommand | None:
    if payload is None:
        return None
    return ScanCommand(kind=payload.kind, code="", occurred_at=payload.occurred_at,
                       client_event_id=uuid.uuid4(), to_party=payload.to_party,
                       place=payload.place, details=payload.details)  # fmt: skip


def _correct(
    session: Session, user: User, *, wrong_id: uuid.UUID, reason: str, note: str | None,
    corrective: ScanCommand | None, now: datetime,
) -> CorrectionRead:  # fmt: skip
    _, item = wrong_event(session, wrong_id)
    require_correct_item(session, user, item)
    done = correct_event(session, actor_for(user), wrong_event_id=wrong_id, reason=reason,
                         note=note, corrective=corrective, now=now)  # fmt: skip
    last = (done.corrective or done.declaration).events[-1]
    return CorrectionRead(
        item=item.code, declaration_event_id=done.declaration.events[0]["event_id"],
        corrective_event_id=done.corrective.events[0]["event_id"] if done.corrective else None,
        status=last["status"], custodian=last["custodian"],
    )  # fmt: skip


@router.post("/api/v1/ledger/corrections", status_code=201)
def post_correction(
    payload: CorrectionIn, user: Corrector, session: SessionDep, now: NowDep
) -> CorrectionRead:
    """Declare a ledger event wrong (EPCIS errorDeclaration) and, for wrong data, record the
    corrective event. 409 when later events depend on it (declare those first)."""
    corrective = _corrective(payload.corrective)
    return _correct(session, user, wrong_id=payload.corrects_event_id, reason=payload.reason,
                    note=payload.note, corrective=corrective, now=now)  # fmt: skip


class ExceptionRead(BaseModel):
    id: int
    item: str | None
    reason_code: str
    detail: str
    kind: str | None
    occurred_at: str | None
    actor_role: str | None
    actor_party: str | None
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None


@router.get("/api/v1/ledger/exceptions")
def get_exceptions(
    user: Corrector, session: SessionDep, include_resolved: bool = False
) -> list[ExceptionRead]:
    """Scans the ledger kept because they contradicted what it knew, newest first."""
    views = list_exceptions(session, case_scope(user), open_only=not include_resolved)
    return [ExceptionRead(item=v.item_code, **{k: getattr(v, k) for k in (
        "id", "reason_code", "detail", "kind", "occurred_at", "actor_role", "actor_party",
        "created_at", "resolved_at", "resolution")}) for v in views]  # fmt: skip


class ResolveIn(BaseModel):
    resolution: Text = Field(min_length=1, max_length=500)


def _resolve(session: Session, user: User, exception_id: int, text: str, now: datetime) -> None:
    _, item = exception_item(session, exception_id)
    require_correct_item(session, user, item)
    resolve_exception(session, actor_for(user), exception_id, text, now=now)


@router.post("/api/v1/ledger/exceptions/{exception_id}/resolve", status_code=204)
def post_resolve_exception(
    exception_id: ExceptionId, payload: ResolveIn, user: Corrector, session: SessionDep, now: NowDep
) -> Response:
    """Close an exception with what was done about it; the scan itself stays as it was."""
    _resolve(session, user, exception_id, payload.resolution, now)
    return Response(status_code=204)


# -- pages ----------------------------------------------------------------------------------


def _item(session: Session, user: User, raw: str) -> Item:
    try:
        code = validate_item_id(raw)
    except InvalidCode as exc:
        raise InvalidInput(str(exc), field="code") from exc
    item = session.scalar(select(Item).where(Item.code == code))
    if item is None:
        raise NotFound(f"no item {code}", field="code")
    require_correct_item(session, user, item)
    return item


def _history_page(
    request: Request, session: Session, user: User, raw: str,
    error: DomainError | None = None,
) -> HTMLResponse:  # fmt: skip
    context: dict[str, Any] = {"code": raw, "events": [], "error": None, "VN": VN,
                               "reasons": ERROR_REASONS, "labels": TRANSITIONS,
                               "status_labels": STATUS_LABELS, "state": None,
                               "corrected": request.query_params.get("corrected")}  # fmt: skip
    try:
        item = _item(session, user, raw)
    except DomainError as exc:
        error = error or exc
        context["error"] = exc.detail
        return render(request, "ledger/item.html", context, status_code=status_for(exc))
    events = list(session.scalars(select(CustodyEvent).where(CustodyEvent.item_id == item.id)
                                  .order_by(CustodyEvent.seq)))  # fmt: skip
    context.update(code=item.code, events=events, declared=declared_event_ids(events),
                   state=session.get(ItemState, item.id), error_declared=ERROR_DECLARED,
                   error=error.detail if error else None)  # fmt: skip
    return render(request, "ledger/item.html", context,
                  status_code=status_for(error) if error else 200)  # fmt: skip


@page_router.get("/ledger/items", response_model=None)
def find_item_page(
    request: Request, user: CorrectorPage, session: SessionDep, code: str = ""
) -> HTMLResponse | RedirectResponse:
    """The search box on the exceptions page: to the item's history, or the error there."""
    try:
        found = _item(session, user, code)
    except DomainError as exc:
        return _history_page(request, session, user, code[:40], exc)
    return RedirectResponse(f"/ledger/items/{found.code}", status_code=303)


@page_router.get("/ledger/items/{code}", response_class=HTMLResponse)
def item_history_page(
    code: str, request: Request, user: CorrectorPage, session: SessionDep
) -> HTMLResponse:
    return _history_page(request, session, user, code)


@page_router.post("/ledger/items/{code}/corrections", response_model=None)
def item_correction_form(
    code: str,
    request: Request,
    user: CorrectorPage,
    session: SessionDep,
    now: NowDep,
    corrects_event_id: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    corrective_reason_code: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """The history page's form: declare one event wrong; with a corrected reason code, the
    corrective event restates it (same kind and time, the new reason)."""

    def correct() -> CorrectionRead:
        try:
            wrong_id = uuid.UUID(corrects_event_id)
        except ValueError:
            raise InvalidInput(
                "choose the event that is wrong", field="corrects_event_id"
            ) from None
        corrective = None
        if corrective_reason_code.strip():
            wrong, _ = wrong_event(session, wrong_id)
            details = {**wrong.details, "reason_code": corrective_reason_code.strip()[:60]}
            corrective = ScanCommand(kind=wrong.kind, code="", occurred_at=wrong.occurred_at,
                                     client_event_id=uuid.uuid4(), details=details)  # fmt: skip
        return _correct(session, user, wrong_id=wrong_id, reason=reason, note=note or None,
                        corrective=corrective, now=now)  # fmt: skip

    done = attempt(session, correct)
    if isinstance(done, DomainError):
        return _history_page(request, session, user, code, done)
    return RedirectResponse(f"/ledger/items/{code}?corrected=1", status_code=303)


@page_router.get("/ledger/exceptions", response_class=HTMLResponse)
def exceptions_page(
    request: Request, user: CorrectorPage, session: SessionDep, resolved: str = ""
) -> HTMLResponse:
    views = list_exceptions(session, case_scope(user), open_only=not resolved)
    return render(request, "ledger/exceptions.html",
                  {"exceptions": views, "VN": VN, "resolved": bool(resolved),
                   "error": None, "done": request.query_params.get("done")})  # fmt: skip


@page_router.post("/ledger/exceptions/{exception_id}/resolve", response_model=None)
def exceptions_page_resolve(
    exception_id: ExceptionId,
    request: Request,
    user: CorrectorPage,
    session: SessionDep,
    now: NowDep,
    resolution: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    refused = attempt(session, lambda: _resolve(session, user, exception_id, resolution, now))
    if isinstance(refused, DomainError):
        exc = refused
        views = list_exceptions(session, case_scope(user))
        return render(request, "ledger/exceptions.html",
                      {"exceptions": views, "VN": VN, "resolved": False, "error": exc.detail,
                       "done": None}, status_code=status_for(exc))  # fmt: skip
    return RedirectResponse(f"/ledger/exceptions?done={exception_id}", status_code=303)
