"""The one-stop desk (/desk): a desk officer with a USB scanner takes in a courier's items,
records discrepancies, fees and signatures, enters agency dossier codes, registers results
and hands them to couriers. Every page works as plain forms (a scanner types the code and
Enter); static/desk.js only makes scanning faster (no reload) and adds signature canvases.

Custody moves only through ``core.handovers.service`` and ``core.desk.service``: each is a
ledger event with the officer as actor.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.web import attempt, page_user, refusal_text, render
from core.access import may_see_case
from core.booking.receive import receive_request_of, requests_waiting
from core.cases.models import Booking, Case
from core.cases.service import case_context
from core.custody.models import Item, ItemState
from core.custody.parties import party
from core.custody.transitions import STATUS_LABELS
from core.desk.service import (
    attempts_of,
    case_by_scan,
    codes_recorded_today,
    desk_office,
    expected_incoming,
    handover_for_desk,
    open_handovers,
    record_code_at_desk,
    register_result_at_desk,
    results_waiting,
    returns_expected,
)
from core.errors import DomainError, Forbidden, InvalidInput, NotFound
from core.handovers.corrections import correct_handover, superseded_by
from core.handovers.models import Handover, HandoverLine
from core.handovers.service import (
    complete_handover,
    confirming_party,
    handover_view,
    mark_line,
    receive_item,
)
from core.identity.models import User
from core.identity.service import actor_for
from core.media.service import store_media
from core.papers.codes import records_of
from edge.deps import NowDep, SessionDep, SettingsDep
from labels.s10 import format_item_id
from labels.text import format_vnd, mask_phone
from vntime import VN

router = APIRouter(prefix="/desk", include_in_schema=False)
DeskUser = Annotated[User, Depends(page_user("desk"))]


def _vn_day_start(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(VN).date(), time(0), VN)


def _back(path: str, **params: Any) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


OUTCOME_LABELS = {
    "expected": ("Chờ quét", "To scan"),
    "confirmed": ("Đã nhận", "Received"),
    "missing": ("Thiếu", "Missing"),
    "extra": ("Thừa", "Extra"),
    "damaged": ("Hư hỏng", "Damaged"),
    "seal_broken": ("Niêm phong không nguyên vẹn", "Seal broken"),
    "declined": ("Từ chối nhận", "Declined"),
}


def _common(session: Session, user: User) -> dict[str, Any]:
    return {
        "office": desk_office(session, user),
        "status_label": lambda s: STATUS_LABELS.get(s, (s, s)),
        "outcome_label": lambda o: OUTCOME_LABELS.get(o, (o, o)),
        "fmt_id": format_item_id,
        "vnd": format_vnd,
    }


# -- dashboard ----------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, user: DeskUser, session: SessionDep) -> HTMLResponse:
    office = desk_office(session, user)
    context = {
        **_common(session, user),
        "handovers": open_handovers(session, office.id),
        "incoming": expected_incoming(session, office.id),
        "waiting": results_waiting(session, office.id),
        "returns": returns_expected(session, office.id),
        "error": request.query_params.get("error"),
    }
    return render(request, "desk/dashboard.html", context)


@router.post("/find")
def find(
    request: Request, user: DeskUser, session: SessionDep, code: Annotated[str, Form()] = ""
) -> Response:
    try:
        case = case_by_scan(session, user, code)
    except DomainError as exc:
        return _back("/desk", error=refusal_text(request, exc))
    return _back(f"/desk/cases/{case.id}")


# -- hand-overs ---------------------------------------------------------------------------


def _handover_context(session: Session, user: User, handover_id: int) -> dict[str, Any]:
    handover = handover_for_desk(session, user, handover_id)
    view = handover_view(session, handover.id)
    here = party("office", desk_office(session, user).id)
    incoming = view.to_party == here
    result_codes = list(
        session.scalars(
            select(Item.code).where(
                Item.code.in_([line.item_code for line in view.lines]), Item.kind == "result"
            )
        )
    )
    return {
        **_common(session, user),
        "h": view,
        "incoming": incoming,
        "courier_name": view.from_name if incoming else view.to_name,
        "mine_to_confirm": confirming_party(handover) == here,
        # A chain of signed records: the one this corrects, and the one that corrected it.
        "supersedes": session.get(Handover, handover.supersedes_id)
        if handover.supersedes_id
        else None,
        "superseded_by": superseded_by(session, handover.id),
        "correction_reason": handover.correction_reason,
        "attempts": attempts_of(session, result_codes),
    }


@router.get("/handovers/{handover_id}", response_class=HTMLResponse)
def handover_page(
    request: Request, handover_id: int, user: DeskUser, session: SessionDep
) -> HTMLResponse:
    try:
        context = _handover_context(session, user, handover_id)
    except (Forbidden, NotFound) as exc:
        status = 403 if isinstance(exc, Forbidden) else 404
        return render(
            request, "desk/refused.html", {"detail": refusal_text(request, exc)}, status_code=status
        )
    q = request.query_params
    context["flash"] = {
        "outcome": q.get("outcome"),
        "code": q.get("code"),
        "error": q.get("error"),
        "field": q.get("field"),
    }
    return render(request, "desk/handover.html", context)


_SCAN_MESSAGES = {
    "confirmed": ("Đã nhận {code}.", "Received {code}."),
    "extra": (
        "{code} không có trong danh sách: ghi nhận THỪA.",
        "{code} is not on the list: recorded as EXTRA.",
    ),  # fmt: skip
    "already": (
        "{code} đã được quét trước đó ({outcome}).",
        "{code} was already scanned ({outcome}).",
    ),
}


@router.post("/handovers/{handover_id}/scan", response_model=None)
def handover_scan(
    request: Request,
    handover_id: int,
    user: DeskUser,
    session: SessionDep,
    now: NowDep,
    code: Annotated[str, Form()] = "",
) -> Response:
    """One scanner read: a listed item is confirmed (custody moves), anything else is extra."""

    def scan() -> tuple[dict[str, str], HandoverLine]:
        handover_for_desk(session, user, handover_id)
        before = {
            line.item_code: line.outcome for line in handover_view(session, handover_id).lines
        }
        return before, receive_item(session, actor_for(user), handover_id, code, now=now)

    scanned = attempt(session, scan)
    if isinstance(scanned, DomainError):
        exc = scanned
        if _wants_json(request):
            return JSONResponse(
                {"ok": False, "error": refusal_text(request, exc), "field": exc.field},
                status_code=422,
            )
        return _back(
            f"/desk/handovers/{handover_id}", error=refusal_text(request, exc), field=exc.field
        )
    before, line = scanned
    outcome = line.outcome
    if before.get(line.item_code) not in (None, "expected"):
        outcome = "already"
    key = outcome if outcome in _SCAN_MESSAGES else "already"
    vi, en = (m.format(code=format_item_id(line.item_code), outcome=line.outcome)
              for m in _SCAN_MESSAGES[key])  # fmt: skip
    if _wants_json(request):
        return JSONResponse({"ok": True, "outcome": key, "code": line.item_code,
                             "message_vi": vi, "message_en": en})  # fmt: skip
    return _back(f"/desk/handovers/{handover_id}", outcome=key, code=line.item_code)


@router.post("/handovers/{handover_id}/lines")
def handover_mark(
    request: Request,
    handover_id: int,
    user: DeskUser,
    session: SessionDep,
    now: NowDep,
    code: Annotated[str, Form()],
    outcome: Annotated[Literal["damaged", "seal_broken", "declined"], Form()],
    reason: Annotated[str, Form()] = "",
    accept: Annotated[bool, Form()] = False,
) -> Response:

    def mark() -> None:
        handover_for_desk(session, user, handover_id)
        mark_line(session, actor_for(user), handover_id, code, outcome=outcome, reason=reason,
                  accept=accept, now=now)  # fmt: skip

    refused = attempt(session, mark)
    if isinstance(refused, DomainError):
        return _back(
            f"/desk/handovers/{handover_id}",
            error=refusal_text(request, refused),
            field=refused.field,
        )
    return _back(f"/desk/handovers/{handover_id}", outcome="marked", code=code)


def _signature_bytes(data_url: str, upload: UploadFile | None, field: str) -> bytes | None:
    """A signature drawn on the canvas (a PNG data URL) or, without JavaScript, a PNG file."""
    if data_url.startswith("data:image/png;base64,"):
        try:
            return base64.b64decode(data_url.split(",", 1)[1], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(
                "the drawn signature could not be read", field=field, reason="signature.unreadable"
            ) from exc
    if data_url:
        raise InvalidInput(
            "a signature must be a PNG image", field=field, reason="signature.not_png"
        )
    if upload is not None and upload.filename:
        return upload.file.read()
    return None


Signature = tuple[str, UploadFile | None]  # drawn (a PNG data URL), or a file without JS


def _signatures(
    session: Session, user: User, handover: Handover, courier: Signature, desk: Signature
) -> tuple[str, str]:
    """Both signatures stored; their hashes as (giver's, receiver's) for this record."""
    hashes: dict[str, str] = {}
    for name, (drawn, upload) in (("courier_signature", courier), ("desk_signature", desk)):
        data = _signature_bytes(drawn, upload, name)
        if not data:
            raise InvalidInput(
                "biên bản cần chữ ký của cả hai bên / both sides must sign", field=name
            )
        hashes[name] = store_media(session, data, "image/png", uploaded_by_user_id=user.id)
    incoming = handover.to_party == party("office", user.office_id or 0)
    if incoming:
        return hashes["courier_signature"], hashes["desk_signature"]
    return hashes["desk_signature"], hashes["courier_signature"]


def _dong(text: str, field: str) -> int:
    """An amount typed as the desk writes it ("400.000", "400,000", "400 000")."""
    digits = text.replace(".", "").replace(",", "").replace(" ", "")
    if not digits.isdigit():
        raise InvalidInput(
            "fees must be a whole number of đồng", field=field, reason="money.whole_dong"
        )
    return int(digits)


def _fees_per_dossier(items: list[str] | None, amounts: list[str] | None) -> dict[str, int]:
    """The form's ``fee_item`` and ``fee_amount`` fields, in pairs: each dossier's fees."""
    items, amounts = items or [], amounts or []
    if len(items) != len(amounts):
        raise InvalidInput("one amount per dossier", field="fee_amount")
    pairs = zip(items, amounts, strict=True)
    return {code: _dong(amount or "0", "fee_amount") for code, amount in pairs}


@router.post("/handovers/{handover_id}/complete")
def handover_complete(
    request: Request,
    handover_id: int,
    user: DeskUser,
    session: SessionDep,
    now: NowDep,
    fees_confirmed_vnd: Annotated[str, Form()] = "",
    fee_item: Annotated[list[str] | None, Form()] = None,
    fee_amount: Annotated[list[str] | None, Form()] = None,
    note: Annotated[str, Form()] = "",
    courier_signature: Annotated[str, Form()] = "",
    desk_signature: Annotated[str, Form()] = "",
    courier_signature_file: Annotated[UploadFile | None, File()] = None,
    desk_signature_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Close the sitting: unscanned items become missing; each dossier's fees (``fee_item``
    and ``fee_amount``, in pairs) and both drawn signatures recorded; the record is sealed."""
    path = f"/desk/handovers/{handover_id}"

    def complete() -> None:
        handover = handover_for_desk(session, user, handover_id)
        total = _dong(fees_confirmed_vnd, "fees_confirmed_vnd") if fees_confirmed_vnd else None
        per_item = _fees_per_dossier(fee_item, fee_amount) or None
        giver, receiver = _signatures(
            session, user, handover, (courier_signature, courier_signature_file),
            (desk_signature, desk_signature_file),
        )  # fmt: skip
        complete_handover(
            session, actor_for(user), handover_id, fees_confirmed_vnd=total, item_fees=per_item,
            now=now, giver_signature_sha256=giver, receiver_signature_sha256=receiver,
            note=note.strip() or None,
        )  # fmt: skip

    refused = attempt(session, complete)
    if isinstance(refused, DomainError):
        return _back(path, error=refusal_text(request, refused), field=refused.field)
    return _back(path, outcome="completed")


@router.post("/handovers/{handover_id}/correct")
def handover_correct(
    request: Request,
    handover_id: int,
    user: DeskUser,
    session: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
    fee_item: Annotated[list[str] | None, Form()] = None,
    fee_amount: Annotated[list[str] | None, Form()] = None,
    note: Annotated[str, Form()] = "",
    courier_signature: Annotated[str, Form()] = "",
    desk_signature: Annotated[str, Form()] = "",
    courier_signature_file: Annotated[UploadFile | None, File()] = None,
    desk_signature_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A signed record corrected by a new one (core.handovers.corrections): each dossier's
    fees as really received, the reason, an optional note, both signatures again."""
    path = f"/desk/handovers/{handover_id}"

    def correct() -> int:
        handover = handover_for_desk(session, user, handover_id)
        per_item = _fees_per_dossier(fee_item, fee_amount)
        giver, receiver = _signatures(
            session, user, handover, (courier_signature, courier_signature_file),
            (desk_signature, desk_signature_file),
        )  # fmt: skip
        view = correct_handover(
            session, actor_for(user), handover_id, reason=reason, item_fees=per_item,
            note=note, now=now, giver_signature_sha256=giver, receiver_signature_sha256=receiver,
        )  # fmt: skip
        return view.id

    corrected = attempt(session, correct)
    if isinstance(corrected, DomainError):
        return _back(path, error=refusal_text(request, corrected), field=corrected.field)
    return _back(f"/desk/handovers/{corrected}", outcome="corrected")


# -- cases, dossier codes, results ----------------------------------------------------------


def _case_context(session: Session, user: User, case: Case) -> dict[str, Any]:
    ctx = case_context(session, case.id)
    if not may_see_case(user, ctx.booking, case):
        raise Forbidden("this case belongs to another office", field="case_id")
    items = []
    for item_id in (case.dossier_item_id, case.result_item_id):
        item = session.get(Item, item_id) if item_id else None
        if item is not None:
            items.append((item, session.get(ItemState, item.id)))
    return {
        **_common(session, user),
        "case": case,
        "ctx": ctx,
        "items": items,
        "receive_request": receive_request_of(session, case.id),
        "phone": mask_phone(ctx.booking.contact_phone),
        "code_records": records_of(session, case.id),
    }


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: int, user: DeskUser, session: SessionDep) -> HTMLResponse:
    case = session.get(Case, case_id)
    booking = session.get(Booking, case.booking_id) if case else None
    if case is None or booking is None or not may_see_case(user, booking, case):
        return render(request, "desk/not_found.html", {"case_id": case_id}, status_code=404)
    context = _case_context(session, user, case)
    context.update(error=request.query_params.get("error"), done=request.query_params.get("done"))
    return render(request, "desk/case.html", context)


def _appointment(raw: str) -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise InvalidInput(
            "the appointment date must be YYYY-MM-DD",
            field="appointment_date",
            reason="date.format",
        ) from exc


@router.get("/codes", response_class=HTMLResponse)
def codes_page(request: Request, user: DeskUser, session: SessionDep, now: NowDep) -> HTMLResponse:
    q = request.query_params
    context = {
        **_common(session, user),
        "recorded": codes_recorded_today(session, user, _vn_day_start(now)),
        "error": q.get("error"),
        "field": q.get("field"),
        "item_id": q.get("item_id", ""),
        "code": q.get("code", ""),
        "appointment_date": q.get("appointment_date", ""),
        "reason": q.get("reason", ""),
        "done": q.get("done"),
    }
    return render(request, "desk/codes.html", context, status_code=422 if q.get("error") else 200)


@router.post("/codes")
def codes_submit(
    request: Request,
    user: DeskUser,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    item_id: Annotated[str, Form()] = "",
    agency_dossier_code: Annotated[str, Form()] = "",
    appointment_date: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/desk/codes",
) -> Response:
    """Bulk entry by scanning: item, then its dossier code (and appointment), next. Changing
    a recorded code or date is a correction: it needs a reason, and both records are kept."""
    target = back if back.startswith("/desk/") else "/desk/codes"
    case = attempt(session, lambda: record_code_at_desk(
        session, user, item_id, agency_dossier_code, _appointment(appointment_date),
        settings=settings, now=now, reason=reason or None,
    ))  # fmt: skip
    if isinstance(case, DomainError):
        return _back(target, error=refusal_text(request, case), field=case.field, item_id=item_id,
                     code=agency_dossier_code, appointment_date=appointment_date,
                     reason=reason)  # fmt: skip
    return _back(target, done=case.agency_dossier_code)


@router.get("/results", response_class=HTMLResponse)
def results_page(request: Request, user: DeskUser, session: SessionDep) -> HTMLResponse:
    office = desk_office(session, user)
    q = request.query_params
    context = {
        **_common(session, user),
        "waiting": results_waiting(session, office.id),
        "returns": returns_expected(session, office.id),
        "receive_waiting": requests_waiting(session, office.id),
        "VN": VN,
        "registered": q.get("registered"),
        "error": q.get("error"),
        "field": q.get("field"),
    }
    return render(request, "desk/results.html", context)


@router.post("/results")
def results_register(
    request: Request,
    user: DeskUser,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    code: Annotated[str, Form()] = "",
) -> Response:
    """Scan a dossier code or item ID: the result item is issued here and its label printed."""
    item = attempt(session, lambda: register_result_at_desk(session, settings, user, code, now=now))
    if isinstance(item, DomainError):
        return _back("/desk/results", error=refusal_text(request, item), field=item.field)
    return _back("/desk/results", registered=item.code)
