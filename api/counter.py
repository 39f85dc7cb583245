"""The post office's counter (/counter): a clerk at a desktop with a USB barcode scanner (it
types the code and Enter), a 2D scanner for chip ID card QRs, a signature pad and a label
printer. Walk-in dossiers are booked and received, results are handed to citizens who chose
to collect them here, and the queue's numbers are called. The queue's ticket page (/q/...) is
public: a kiosk, or a QR on the wall that opens it on the citizen's phone.

Every action is a service of core (core/counter, which calls the door-step's own services);
this module only reads forms and renders pages. Pages work as plain forms; static/desk.js
adds the signature pads.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.desk import _dong, _signature_bytes
from api.web import attempt, page_user, refusal_text, render, request_lang
from core.booking.service import BookingCreated, BookingInput
from core.counter.bags import scan_in
from core.counter.handout import Handout, due_for, hand_out, results_to_collect, send_counter_code
from core.counter.queue import (
    queue_board,
)
from core.counter.reception import (
    CounterCase,
    CounterIntake,
    book_walk_in,
    case_of_code,
    counter_case,
    counter_post_office,
    offer_to_courier,
    receive_at_counter,
    refuse_at_counter,
)
from core.courier.doorstep import PICKUP_REFUSAL_REASONS
from core.custody.commands import ScanResult
from core.custody.transitions import STATUS_LABELS
from core.digitising.service import latest_copy
from core.errors import DomainError, InvalidInput
from core.identity.models import User
from core.media.service import store_media
from core.money.receipts import receipts_of_case
from core.places.models import Office, PostOffice, Procedure
from edge.deps import NowDep, SessionDep, SettingsDep
from edge.texts import scan_message
from labels.s10 import format_item_id
from labels.text import format_vnd, mask_phone

router = APIRouter(prefix="/counter", include_in_schema=False)
ClerkUser = Annotated[User, Depends(page_user("counter"))]

FORMS = (("original", "Bản chính", "Original"), ("certified_copy", "Bản sao chứng thực",
         "Certified copy"), ("copy", "Bản sao", "Copy"))  # fmt: skip


# More rows than any procedure lists (the catalogue's longest has about 20).
MAX_CHECKLIST_ROWS = 100


def redirect_back(path: str, **params: Any) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def _common(session: Session, user: User) -> dict[str, Any]:
    post = session.get(PostOffice, counter_post_office(user))
    return {
        "post_office": post,
        "status_label": lambda s: STATUS_LABELS.get(s, (s, s)),
        "fmt_id": format_item_id,
        "vnd": format_vnd,
    }


def _flash(request: Request) -> dict[str, str | None]:
    q = request.query_params
    return {"ok": q.get("ok"), "error": q.get("error"), "field": q.get("field")}


def _scan_refusal(request: Request, result: ScanResult) -> str:
    """The ledger's refusal in the page's language, with what the rule said (e.g. which
    documents are missing)."""
    lang = request_lang(request)
    said = scan_message(result.to_json(), lang) or ""
    # The missing documents are named in the refusal's detail, in both languages.
    bilingual = result.reason_code == "incomplete_dossier"
    return f"{said} {result.detail}" if result.detail and (lang == "en" or bilingual) else said


# -- the counter's page ---------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, user: ClerkUser, session: SessionDep, now: NowDep) -> HTMLResponse:
    common = _common(session, user)
    context = {
        **common,
        "board": queue_board(session, user, now=now),
        "to_collect": results_to_collect(session, user),
        "ticket_url": f"/q/{common['post_office'].id}",
        "flash": _flash(request),
    }
    return render(request, "counter/dashboard.html", context)


@router.post("/find")
def find(
    request: Request, user: ClerkUser, session: SessionDep, code: Annotated[str, Form()] = ""
) -> Response:
    """A scanned label (dossier or result): its case at this counter."""
    try:
        found = case_of_code(session, user, code)
    except DomainError as exc:
        return redirect_back("/counter", error=refusal_text(request, exc), field=exc.field)
    return redirect_back(f"/counter/cases/{found.case.id}")


@router.post("/receive")
def receive_from_courier(
    request: Request,
    user: ClerkUser,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    code: Annotated[str, Form()] = "",
) -> Response:
    """A label scanned in: a courier's hand-off to the post office (custody moves to it), or a
    bag (or item) arriving from another post office — refused, and kept for a dispatcher,
    when it is addressed to another one."""
    result = attempt(session, lambda: scan_in(session, settings, user, code, now=now))
    if isinstance(result, DomainError):
        return redirect_back("/counter", error=refusal_text(request, result), field=result.field)
    if result.outcome != "accepted":
        return redirect_back("/counter", error=_scan_refusal(request, result), field="code")
    return redirect_back("/counter", ok=f"received:{result.code}")


# -- walk-ins -------------------------------------------------------------------------------

WALK_IN_FIELDS = ("service_option", "procedure_id", "office_id", "address", "contact_name",
                  "contact_phone", "cccd", "citizen_sex", "citizen_birth_year",
                  "result_at_post_office")  # fmt: skip


def _walk_in_choices(session: Session, user: User) -> dict[str, Any]:
    post = session.get(PostOffice, counter_post_office(user))
    assert post is not None
    procedures = select(Procedure).where(Procedure.postal_receive.is_(True))
    offices = select(Office).where(Office.province_code == post.province_code)
    return {
        "procedures": list(session.scalars(procedures.order_by(Procedure.name_vi))),
        "offices": list(session.scalars(offices.order_by(Office.name_vi))),
    }


@router.get("/walk-in", response_class=HTMLResponse)
def walk_in_form(request: Request, user: ClerkUser, session: SessionDep) -> HTMLResponse:
    context = {**_common(session, user), **_walk_in_choices(session, user),
               "form": dict.fromkeys(WALK_IN_FIELDS, ""), "errors": {}}  # fmt: skip
    context["form"]["service_option"] = "both"
    return render(request, "counter/walk_in.html", context)


def _int(value: str) -> int | None:
    return int(value) if value.strip().isdigit() and len(value.strip()) < 10 else None


@router.post("/walk-in", response_model=None)
async def walk_in(
    request: Request, user: ClerkUser, session: SessionDep, settings: SettingsDep, now: NowDep
) -> Response:
    raw = await request.form()
    form = {name: str(raw.get(name, "")).strip() for name in WALK_IN_FIELDS}
    data = BookingInput(
        service_option=form["service_option"],
        procedure_id=_int(form["procedure_id"]),
        address_text=form["address"],
        contact_name=form["contact_name"],
        contact_phone=form["contact_phone"],
        cccd=form["cccd"],
        citizen_sex=form["citizen_sex"],
        citizen_birth_year=_int(form["citizen_birth_year"]),
        # Paid at the counter, in cash into the till (the receipt is printed on the spot).
        payment_method="cash",
        window_start=None,
        office_id=_int(form["office_id"]),
        result_at_post_office=form["result_at_post_office"] in ("1", "on", "true"),
    )
    created = attempt(session, lambda: book_walk_in(session, settings, user, data, now=now))
    if isinstance(created, BookingCreated):
        return redirect_back(f"/counter/cases/{created.case.id}")
    errors = _form_errors(request, created)
    context = {**_common(session, user), **_walk_in_choices(session, user), "form": form,
               "errors": errors}  # fmt: skip
    return render(request, "counter/walk_in.html", context, status_code=422)


def _form_errors(request: Request, error: DomainError) -> dict[str, str]:
    """Each field's error in the page's language (a booking's errors come all at once)."""
    lang = request_lang(request)
    messages = getattr(error, "messages", None)
    if not messages:
        return {error.field or "form": refusal_text(request, error)}
    out: dict[str, str] = {}
    for name, text in messages.items():
        if isinstance(text, DomainError):
            out[name] = refusal_text(request, text)
        else:
            out[name] = text[1] if lang == "en" else text[0]
    return out


# -- one case at the counter ----------------------------------------------------------------


def _case_context(session: Session, user: User, found: CounterCase) -> dict[str, Any]:
    case_id = found.case.id
    of_here = select(User).where(
        User.role == "courier",
        User.post_office_id == found.booking.post_office_id,
        User.active.is_(True),
    )
    couriers = list(session.scalars(of_here.order_by(User.full_name)))
    return {
        **_common(session, user),
        "c": found,
        "phone_masked": mask_phone(found.booking.contact_phone),
        "documents": found.procedure.documents,
        "forms": FORMS,
        "due_vnd": due_for(session, case_id),
        "receipts": receipts_of_case(session, case_id),
        "couriers": couriers,
        "refusal_reasons": PICKUP_REFUSAL_REASONS,
        **_digitise_context(session, found),
    }


# Statuses in which the counter may hold the paper (core.digitising.service decides).
DIGITISE_AT = ("booked", "refused", "at_post_office")


def _digitise_context(session: Session, found: CounterCase) -> dict[str, Any]:
    """The digitise section (api/counter_digitise.py): the latest copy, and each checklist
    document's pages in it, which tick the intake's checklist."""
    item_id = found.case.dossier_item_id
    copy = latest_copy(session, item_id) if item_id is not None else None
    if copy is not None and copy.deleted_at is not None:
        copy = None
    captured = {
        d["name"]: d["last_page"] - d["first_page"] + 1 for d in (copy.documents if copy else [])
    }
    return {
        "copy": copy,
        "captured": captured,
        "digitise_documents": [d for d in found.procedure.documents if d.get("kind") != "shown"],
        "digitise_client_id": uuid.uuid4(),
        "may_digitise": found.dossier_status in DIGITISE_AT,
    }


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: int, user: ClerkUser, session: SessionDep) -> HTMLResponse:
    try:
        found = counter_case(session, user, case_id)
    except DomainError as exc:
        status = 403 if exc.code == "forbidden" else 404
        context = {**_common(session, user), "detail": refusal_text(request, exc)}
        return render(request, "counter/refused.html", context, status_code=status)
    context = {**_case_context(session, user, found), "flash": _flash(request)}
    return render(request, "counter/case.html", context)


def _signature(session: Session, user: User, data_url: str, field: str) -> str:
    data = _signature_bytes(data_url, None, field)
    if data is None:
        raise InvalidInput("the signature is missing", field=field, reason="signature.missing")
    return store_media(session, data, "image/png", uploaded_by_user_id=user.id)


@router.post("/cases/{case_id}/receive", response_model=None)
async def receive(
    request: Request,
    case_id: int,
    user: ClerkUser,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """The walk-in's dossier received: checklist, seal, fees, both signatures."""
    raw = await request.form()
    here = f"/counter/cases/{case_id}"

    def intake() -> CounterIntake:
        checklist = []
        # The form's own count of its rows; anything else reads as none (the check then
        # names the missing documents), and no form has more rows than a procedure lists.
        for index in range(min(_int(str(raw.get("documents", ""))) or 0, MAX_CHECKLIST_ROWS)):
            pages = str(raw.get(f"pages_{index}", "")).strip()
            checklist.append({
                "name": str(raw.get(f"name_{index}", "")),
                "form": str(raw.get(f"form_{index}", "")),
                "present": raw.get(f"present_{index}") is not None,
                "not_applicable": raw.get(f"na_{index}") is not None,
                **({"pages": int(pages)} if pages.isdigit() and len(pages) < 4 else {}),
            })  # fmt: skip
        return CounterIntake(
            checklist=checklist,
            seal_number=str(raw.get("seal_number", "")),
            fees_collected_vnd=_dong(
                str(raw.get("fees_collected_vnd", "")) or "0", "fees_collected_vnd"
            ),  # fmt: skip
            payment_method="cash",
            citizen_signature_sha256=_signature(
                session, user, str(raw.get("citizen_signature", "")), "citizen_signature"
            ),  # fmt: skip
            clerk_signature_sha256=_signature(
                session, user, str(raw.get("clerk_signature", "")), "clerk_signature"
            ),  # fmt: skip
            cash_difference_reason=str(raw.get("cash_difference_reason", "")) or None,
            note=str(raw.get("note", "")).strip() or None,
        )

    def receive_it() -> ScanResult:
        return receive_at_counter(session, settings, user, case_id, intake(), now=now)

    result = attempt(session, receive_it)
    if isinstance(result, DomainError):
        return redirect_back(here, error=refusal_text(request, result), field=result.field)
    if result.outcome != "accepted":
        return redirect_back(here, error=_scan_refusal(request, result), field=result.field)
    return redirect_back(here, ok="received")


@router.post("/cases/{case_id}/refuse")
def refuse(
    request: Request,
    case_id: int,
    user: ClerkUser,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    reason_code: Annotated[str, Form()] = "",
    missing: Annotated[str, Form()] = "",
) -> Response:
    """The dossier stays with the citizen: why, and what to add (the courier's refusal)."""
    result = attempt(session, lambda: refuse_at_counter(
        session, settings, user, case_id, reason_code=reason_code, missing=missing.split(";"),
        now=now))  # fmt: skip
    return _after_scan(request, case_id, result, ok="refused", field=None)


@router.post("/cases/{case_id}/hand-off")
def hand_off(
    request: Request,
    case_id: int,
    user: ClerkUser,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    courier_id: Annotated[str, Form()] = "",
) -> Response:
    """The dossier travels on: offered to a courier of this post office, who confirms it on
    the phone (custody moves then, as for every hand-off)."""
    result = attempt(session, lambda: offer_to_courier(
        session, settings, user, case_id, courier_id=_int(courier_id) or 0, now=now))  # fmt: skip
    return _after_scan(request, case_id, result, ok="offered", field="courier_id")


def _after_scan(
    request: Request,
    case_id: int,
    result: ScanResult | DomainError,
    *,
    ok: str,
    field: str | None,
) -> Response:
    """Back to the counter when the case is not this counter's (or has no dossier); back to
    the case with the ledger's answer otherwise (naming ``field``, else the ledger's)."""
    if isinstance(result, DomainError):
        return redirect_back("/counter", error=refusal_text(request, result), field=result.field)
    here = f"/counter/cases/{case_id}"
    if result.outcome != "accepted":
        return redirect_back(here, error=_scan_refusal(request, result),
                             field=result.field if field is None else field)  # fmt: skip
    return redirect_back(here, ok=ok)


# -- results collected at the counter ---------------------------------------------------------


@router.post("/cases/{case_id}/code")
def send_code(
    request: Request,
    case_id: int,
    user: ClerkUser,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """Text the booking's phone the one-time code that releases the result."""
    here = f"/counter/cases/{case_id}"

    def send() -> str:
        found = counter_case(session, user, case_id)
        code = send_counter_code(session, settings, user, found.result_code or "", now=now)
        return code.phone_masked

    sent = attempt(session, send)
    if isinstance(sent, DomainError):
        return redirect_back(here, error=refusal_text(request, sent), field=sent.field)
    return redirect_back(here, ok=f"code_sent:{sent}")


@router.post("/cases/{case_id}/hand-out", response_model=None)
def hand_out_result(
    request: Request,
    case_id: int,
    user: ClerkUser,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    proof: Annotated[str, Form()] = "cccd_qr",
    cccd_qr: Annotated[str, Form()] = "",
    otp_code: Annotated[str, Form()] = "",
    fees_collected_vnd: Annotated[str, Form()] = "",
    citizen_signature: Annotated[str, Form()] = "",
) -> Response:
    """The result handed to the citizen on proof (chip ID card QR or one-time code), the fee
    due taken into the till. A refused proof is kept (a wrong code counts as a guess)."""
    here = f"/counter/cases/{case_id}"

    def give() -> Handout:
        signature = _signature(session, user, citizen_signature, "citizen_signature")
        fees = _dong(fees_collected_vnd or "0", "fees_collected_vnd")
        return hand_out(session, settings, user, case_id, proof=proof, cccd_qr=cccd_qr,
                        otp_code=otp_code, fees_collected_vnd=fees, signature_sha256=signature,
                        now=now)  # fmt: skip

    done = attempt(session, give)
    if isinstance(done, DomainError):
        return redirect_back(here, error=refusal_text(request, done), field=done.field)
    if done.result.outcome != "accepted":
        return redirect_back(
            here, error=_scan_refusal(request, done.result), field=done.result.field
        )
    return redirect_back(here, ok="handed_out")
