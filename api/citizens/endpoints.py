"""The citizens' JSON API: sign-in by SMS code, the booking form's look-ups, own cases."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy import select

from api.citizens.auth import CurrentCitizen, client_ip
from api.citizens.schemas import (
    AddressParse,
    AddressRead,
    BookingCreate,
    CaseRead,
    ChannelRead,
    ChannelUpdate,
    CodeRequest,
    CodeSent,
    CommuneRead,
    DocumentRead,
    LegRead,
    OfficeRead,
    PaymentRead,
    ProcedureRead,
    QuoteLineRead,
    QuoteRead,
    QuoteRequest,
    RatingCreate,
    RatingRead,
    RescheduleRequest,
    SignedIn,
    SignInRequest,
    WindowRead,
)
from api.tracking import EtaRead, eta_read
from api.web import WEB_SESSION_TTL, end_web_session, start_web_session
from core.booking.documents import booking_quote_pdf
from core.booking.places import commune_or_error, offices_for
from core.booking.pricing import Quote
from core.booking.service import (
    BookingInput,
    CitizenCase,
    booking_vietqr,
    cancel_booking,
    check_address,
    citizen_case,
    citizen_case_ids,
    create_booking,
    quote_for,
    rate_case,
    reschedule_booking,
    sign_in_with_code,
    windows_for_address,
)
from core.booking.transit import far_offices_for
from core.booking.validation import phone_or_error
from core.courier.eta import citizens_eta
from core.errors import InvalidInput, NotFound
from core.identity.service import issue_token
from core.money.printing import receipt_doc
from core.otp.service import issue_code
from core.outbox.citizen import choose_channel
from core.places.models import Commune, Procedure
from core.settings import Settings
from edge.deps import NowDep, SessionDep, SettingsDep
from edge.errors import CallerLang
from edge.texts import text
from labels.codes import qr_png
from labels.money import render_receipt
from labels.text import strip_diacritics

router = APIRouter(prefix="/api/v1", tags=["citizens"])

# -- sign-in ------------------------------------------------------------------------------


@router.post("/citizen/sign-in/code", response_model=CodeSent, status_code=202)
def send_sign_in_code(
    body: CodeRequest, request: Request, session: SessionDep, settings: SettingsDep, now: NowDep
) -> CodeSent:
    """Send a six-digit code by SMS (through the outbox). Limited per phone and per IP."""
    phone = phone_or_error(body.phone)
    issued = issue_code(session, settings, phone=phone, purpose="sign_in", now=now,
                        client_ip=client_ip(request))  # fmt: skip
    return CodeSent(phone=phone, expires_at=issued.expires_at)


_WRONG_CODE: dict[int | str, dict[str, Any]] = {
    401: {"description": "Wrong or expired code (the guess is counted)"}
}


@router.post("/citizen/sign-in", response_model=SignedIn, responses=_WRONG_CODE)
def sign_in(
    body: SignInRequest, session: SessionDep, settings: SettingsDep, now: NowDep, lang: CallerLang
) -> Response:
    """Exchange the code for a session (cookie, and a bearer token for API clients).

    A wrong code answers 401 *after* committing, so every guess counts against the code.
    """
    phone = phone_or_error(body.phone)
    result = sign_in_with_code(session, settings, phone=phone, code=body.code, now=now)
    if result.user is None:
        return JSONResponse(
            status_code=401,
            content={
                "error": "unauthorized",
                "detail": result.check.reason,
                "field": "code",
                "message": text(
                    result.check.text_key,
                    result.check.params,
                    lang,
                    detail=result.check.reason,
                    fallbacks=("otp.none_valid",),
                ),
            },
        )
    issued = issue_token(session, settings, result.user, now=now, ttl=WEB_SESSION_TTL)
    body_out = SignedIn(user_id=result.user.id, token=issued.token, expires_at=issued.expires_at)
    response = JSONResponse(body_out.model_dump(mode="json"))
    start_web_session(response, session, settings, result.user, now=now)
    return response


@router.post("/citizen/sign-out", status_code=204)
def sign_out(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep) -> Response:
    response = Response(status_code=204)
    end_web_session(request, response, session, settings, now=now)
    return response


# -- look-ups for the booking form ---------------------------------------------------------


def procedure_read(p: Procedure) -> ProcedureRead:
    return ProcedureRead(
        id=p.id, name_vi=p.name_vi, name_en=p.name_en, agency=p.agency, fee_vnd=p.fee_vnd,
        processing_days=p.processing_days,
        documents=[DocumentRead(name_vi=d["name_vi"], name_en=d["name_en"], form=d["form"],
                                quantity=int(d.get("quantity", 1))) for d in p.documents],
    )  # fmt: skip


def search_procedures(session: SessionDep, q: str) -> list[Procedure]:
    """Match every word of ``q`` in the names or agency, diacritics folded on both sides.

    The catalogue is a few hundred rows at most, so it is filtered here rather than with an
    unaccent index.
    """
    rows = list(session.scalars(select(Procedure).order_by(Procedure.name_vi)))
    words = strip_diacritics(q).lower().split()

    def text(p: Procedure) -> str:
        return strip_diacritics(f"{p.name_vi} {p.name_en} {p.agency}").lower()

    return [p for p in rows if all(w in text(p) for w in words)][:50]


@router.get("/procedures", response_model=list[ProcedureRead])
def list_procedures(session: SessionDep, q: str = "") -> list[ProcedureRead]:
    """Procedures in the catalogue, searchable with or without diacritics."""
    return [procedure_read(p) for p in search_procedures(session, q)]


@router.post("/addresses/parse", response_model=AddressRead)
def parse_address_endpoint(body: AddressParse, session: SessionDep) -> AddressRead:
    """Free text to a 2025 commune; an old three-level address comes back converted."""
    check = check_address(session, body.text)
    parsed = check.parsed
    codes = parsed.candidates or (parsed.commune_code,)
    rows = session.execute(select(Commune.code, Commune.name).where(Commune.code.in_(codes)))
    names = {row[0]: row[1] for row in rows}
    return AddressRead(
        street=parsed.street, commune_code=parsed.commune_code, commune_name=parsed.commune_name,
        province_code=parsed.province_code, province_name=parsed.province_name,
        display=parsed.display, was_legacy=parsed.was_legacy, legacy_text=parsed.legacy_text,
        candidates=[CommuneRead(code=c, name=names.get(c, c)) for c in codes],
    )  # fmt: skip


@router.get("/offices", response_model=list[OfficeRead])
def list_offices(
    session: SessionDep,
    commune_code: str,
    lat: float | None = None,
    lon: float | None = None,
    procedure_id: int | None = None,
) -> list[OfficeRead]:
    """Every office of the address's province; the first (same commune, else nearest) is
    the suggestion. With a procedure the post may carry to another province, the
    province-level offices of other provinces follow (``other_province``)."""
    commune = commune_or_error(session, commune_code)
    at_lat = commune.lat if lat is None else lat
    at_lon = commune.lon if lon is None else lon
    procedure = session.get(Procedure, procedure_id) if procedure_id is not None else None
    choices = offices_for(session, commune, at_lat, at_lon) + far_offices_for(
        session, commune, at_lat, at_lon, procedure
    )
    return [
        OfficeRead(id=c.office.id, name_vi=c.office.name_vi, name_en=c.office.name_en,
                   commune_code=c.office.commune_code, distance_km=round(c.distance_km, 2),
                   suggested=i == 0, other_province=c.other_province)
        for i, c in enumerate(choices)
    ]  # fmt: skip


@router.get("/windows", response_model=list[WindowRead])
def list_windows(
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    commune_code: str,
    day: date,
    lat: float | None = None,
    lon: float | None = None,
) -> list[WindowRead]:
    """Pickup windows with courier capacity left on ``day`` for this address."""
    windows = windows_for_address(session, settings, commune_code=commune_code, day=day,
                                  now=now, lat=lat, lon=lon)  # fmt: skip
    return [WindowRead(start=s, end=e) for s, e in windows]


def quote_read(quote: Quote, zone: str) -> QuoteRead:
    return QuoteRead(
        zone=zone,
        lines=[QuoteLineRead(**line.__dict__) for line in quote.lines],
        total_vnd=quote.total_vnd,
        admin_fee_at_office_vnd=quote.admin_fee_at_office_vnd,
        exemption=quote.exemption,
    )


@router.post("/quotes", response_model=QuoteRead)
def make_quote_endpoint(
    body: QuoteRequest, session: SessionDep, settings: SettingsDep
) -> QuoteRead:
    """The itemised price: postage per leg by zone and weight, fee transfer, the fee."""
    quote, zone = quote_for(session, settings, **body.model_dump())
    return quote_read(quote, zone)


# -- bookings and own cases -----------------------------------------------------------------


def case_read(settings: Settings, view: CitizenCase) -> CaseRead:
    ctx = view.context
    legs = [
        LegRead(item_id=code, kind=kind, status=st)
        for code, kind, st in (
            (view.dossier_code, "dossier", view.dossier_status),
            (view.result_code, "result", view.result_status),
        )
        if code and st
    ]
    state = (
        "cancelled"
        if view.cancelled
        else legs[-1].status
        if legs
        else "awaiting_result"
        if view.awaiting_result
        else "booked"
    )
    terms = view.terms
    quote = None
    payment = None
    if terms is not None:
        quote = QuoteRead(zone=terms.zone, **terms.quote)
        money = view.money
        payment = PaymentRead(method=terms.payment_method, amount_vnd=terms.total_vnd,
                              vietqr_payload=booking_vietqr(settings, view),
                              state=money.state if money else None,
                              state_label_vi=money.label_vi if money else None,
                              paid_vnd=money.paid_vnd if money else 0,
                              due_vnd=money.due_vnd if money else 0,
                              receipts=[r.number for r in view.receipts])  # fmt: skip
    track = view.dossier_code or view.result_code
    return CaseRead(
        case_id=ctx.case.id, service_option=ctx.booking.service_option,
        procedure_name_vi=ctx.procedure.name_vi, office_name_vi=ctx.office.name_vi,
        address=ctx.booking.address_text, pickup_window_start=ctx.booking.pickup_window_start,
        pickup_window_end=ctx.booking.pickup_window_end, status=state, legs=legs,
        agency_dossier_code=ctx.case.agency_dossier_code,
        appointment_date=ctx.case.appointment_date, receive_reference=view.receive_reference,
        result_at_post_office=ctx.booking.result_at_post_office, quote=quote, payment=payment,
        tracking_url=f"{settings.public_base_url.rstrip('/')}/t/{track}" if track else None,
        can_cancel=view.before_pickup, can_rate=view.delivered and view.rating is None,
        rating_stars=view.rating.stars if view.rating else None,
    )  # fmt: skip


def booking_input(body: BookingCreate) -> BookingInput:
    return BookingInput(
        service_option=body.service_option, procedure_id=body.procedure_id,
        address_text=body.address, contact_name=body.contact_name,
        contact_phone=body.contact_phone, cccd=body.cccd, citizen_sex=body.citizen_sex,
        citizen_birth_year=body.citizen_birth_year, payment_method=body.payment_method,
        window_start=body.pickup_window_start, commune_code=body.commune_code,
        office_id=body.office_id, lat=body.lat, lon=body.lon, gps_accuracy_m=body.gps_accuracy_m,
        pay_fee_on_behalf=body.pay_fee_on_behalf, weight_g=body.weight_g,
        notify_channel=body.notify_channel, email=body.email,
        exemption_code=body.exemption_code, exemption_proof=body.exemption_proof,
        receive_reference=body.receive_reference or "",
        result_at_post_office=body.result_at_post_office,
    )  # fmt: skip


@router.post("/bookings", response_model=CaseRead, status_code=status.HTTP_201_CREATED)
def create_booking_endpoint(
    body: BookingCreate,
    citizen: CurrentCitizen,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> CaseRead:
    """Book a pickup. Every invalid field answers 422 naming it; nothing is created then."""
    created = create_booking(session, settings, citizen, booking_input(body), now=now)
    return case_read(settings, citizen_case(session, citizen, created.case.id))


@router.get("/my/channel", response_model=ChannelRead)
def my_channel(citizen: CurrentCitizen) -> ChannelRead:
    """How this citizen is notified (the sign-in code always goes by SMS, or Zalo)."""
    return ChannelRead(notify_channel=citizen.notify_channel, email=citizen.email)


@router.put("/my/channel", response_model=ChannelRead)
def change_my_channel(
    body: ChannelUpdate, citizen: CurrentCitizen, session: SessionDep
) -> ChannelRead:
    """Change the channel; email needs a valid address. Refused input changes nothing."""
    choose_channel(citizen, body.notify_channel, body.email)
    session.flush()
    return ChannelRead(notify_channel=citizen.notify_channel, email=citizen.email)


@router.get("/my/cases", response_model=list[CaseRead])
def my_cases(citizen: CurrentCitizen, session: SessionDep, settings: SettingsDep) -> list[CaseRead]:
    """The signed-in citizen's own cases, newest first."""
    return [case_read(settings, citizen_case(session, citizen, case_id))
            for case_id in citizen_case_ids(session, citizen)]  # fmt: skip


@router.get("/my/cases/{case_id}", response_model=CaseRead)
def my_case(
    case_id: int, citizen: CurrentCitizen, session: SessionDep, settings: SettingsDep
) -> CaseRead:
    return case_read(settings, citizen_case(session, citizen, case_id))


@router.get("/my/cases/{case_id}/eta", response_model=EtaRead | None)
def my_case_eta(
    case_id: int, citizen: CurrentCitizen, session: SessionDep, now: NowDep
) -> EtaRead | None:
    """When the courier is expected at the door today (null when none is due). Another
    citizen's case is not found; the courier's position is never part of the answer."""
    return eta_read(citizens_eta(session, citizen, case_id, now=now))


@router.post("/my/cases/{case_id}/cancel", response_model=CaseRead)
def cancel(
    case_id: int, citizen: CurrentCitizen, session: SessionDep, settings: SettingsDep, now: NowDep
) -> CaseRead:
    """Cancel before pickup: a ``cancelled`` event in the ledger."""
    return case_read(settings, cancel_booking(session, citizen, case_id, now=now))


@router.post("/my/cases/{case_id}/reschedule", response_model=CaseRead)
def reschedule(
    case_id: int,
    body: RescheduleRequest,
    citizen: CurrentCitizen,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> CaseRead:
    view = reschedule_booking(session, settings, citizen, case_id, body.pickup_window_start,
                              now=now)  # fmt: skip
    return case_read(settings, view)


@router.post("/my/cases/{case_id}/rating", response_model=RatingRead, status_code=201)
def rate(
    case_id: int, body: RatingCreate, citizen: CurrentCitizen, session: SessionDep, now: NowDep
) -> RatingRead:
    """Rate 1–5 with a comment, once, after delivery."""
    rating = rate_case(session, citizen, case_id, body.stars, body.comment, now=now,
                       reasons=body.reasons)  # fmt: skip
    return RatingRead(case_id=rating.case_id, stars=rating.stars, comment=rating.comment,
                      reasons=rating.reasons, created_at=rating.created_at)  # fmt: skip


@router.get("/my/cases/{case_id}/quote.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})  # fmt: skip
def quote_pdf(
    case_id: int, citizen: CurrentCitizen, session: SessionDep, settings: SettingsDep
) -> Response:
    """The booking's quote (báo giá), line by line: not a receipt, nothing is paid by it."""
    view = citizen_case(session, citizen, case_id)
    return Response(
        booking_quote_pdf(session, settings, view),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="bao-gia-{case_id}.pdf"'},
    )


@router.get("/my/cases/{case_id}/receipts/{receipt_id}.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})  # fmt: skip
def receipt_pdf(
    case_id: int, receipt_id: int, citizen: CurrentCitizen, session: SessionDep
) -> Response:
    """A receipt of money this case's citizen paid (or its cancellation), reprinted as issued."""
    view = citizen_case(session, citizen, case_id)
    found = next((r for r in view.receipts if r.id == receipt_id), None)
    if found is None:
        raise NotFound(f"case {case_id} has no receipt {receipt_id}", field="receipt_id")
    return Response(
        render_receipt(receipt_doc(session, found)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{found.number}.pdf"'},
    )


@router.get("/my/cases/{case_id}/payment-qr.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})  # fmt: skip
def payment_qr(
    case_id: int, citizen: CurrentCitizen, session: SessionDep, settings: SettingsDep
) -> Response:
    """The VietQR code to scan with a banking app (bookings paid by transfer only)."""
    payload = booking_vietqr(settings, citizen_case(session, citizen, case_id))
    if payload is None:
        raise InvalidInput("this booking is paid in cash", field="payment_method")
    return Response(qr_png(payload, box_px=6), media_type="image/png",
                    headers={"Cache-Control": "private, no-store"})  # fmt: skip
