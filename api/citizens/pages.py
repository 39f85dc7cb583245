"""Citizens' pages: sign-in by SMS code, the booking form, own cases, public tracking.

The basic path needs no JavaScript: the booking form is three server-rendered steps
(procedure and address → details → review and confirm), each carrying what was typed so
far in hidden fields, with every error printed next to its field. The only script fills
the optional GPS pin.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import suppress
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.citizens.auth import client_ip
from api.citizens.endpoints import search_procedures
from api.tracking import parse_item_id
from api.tracking_cache import MAX_ENTRIES, PublicTracking, tracking_cache
from api.web import (
    attempt,
    optional_web_user,
    page_user,
    render,
    request_lang,
    safe_next,
    start_web_session,
)
from core.booking.places import offices_for
from core.booking.result_leg import choose_result_leg
from core.booking.service import (
    RATING_REASONS,
    BookingInput,
    CitizenCase,
    booking_vietqr,
    cancel_booking,
    check_address,
    citizen_case,
    citizen_case_ids,
    create_booking,
    plan_booking,
    rate_case,
    reschedule_booking,
    sign_in_with_code,
    windows_for_address,
)
from core.booking.slots import offerable_windows
from core.booking.transit import far_offices_for
from core.booking.validation import BookingInvalid, normalise_phone
from core.cases.tracking import transit_steps
from core.custody.transitions import STATUS_LABELS
from core.errors import DomainError, InvalidInput, RateLimited
from core.identity.models import User
from core.money.exemptions import EXEMPTIONS
from core.otp.service import issue_code
from core.outbox.citizen import CHANNEL_LABELS, check_channel, choose_channel
from core.places.models import Commune, Procedure
from core.settings import Settings
from edge.deps import NowDep, SessionDep, SettingsDep
from edge.texts import both, field_texts, text
from labels.codes import code128_svg, qr_svg
from labels.s10 import format_item_id
from labels.text import format_vnd, mask_phone
from vntime import VN

CITIZEN_LOGIN = "/citizen/sign-in"
router = APIRouter(include_in_schema=False, dependencies=[Depends(optional_web_user)])
CurrentCitizenPage = Annotated[User, Depends(page_user("citizen", login_path=CITIZEN_LOGIN))]

BOOKING_FIELDS = (
    "service_option", "procedure_id", "address", "commune_code", "office_id", "lat", "lon",
    "gps_accuracy_m", "pickup_window_start", "contact_name", "contact_phone", "cccd",
    "citizen_sex", "citizen_birth_year", "payment_method", "pay_fee_on_behalf", "weight_g",
    "notify_channel", "email", "exemption_code", "exemption_proof", "receive_reference",
    "result_at_post_office",
)  # fmt: skip
WEIGHTS = (100, 250, 500, 1000, 2000)
DAYS_SHOWN = 7


def _common() -> dict[str, Any]:
    return {"format_vnd": format_vnd, "channel_labels": CHANNEL_LABELS,
            "exemptions": EXEMPTIONS}  # fmt: skip


# -- sign-in ------------------------------------------------------------------------------


@router.get(CITIZEN_LOGIN, response_class=HTMLResponse)
def sign_in_form(request: Request, next: str = "/my") -> HTMLResponse:
    return render(request, "citizen/sign_in.html",
                  {"next": next, "stage": "phone", "phone": "", "errors": {}})  # fmt: skip


@router.post(CITIZEN_LOGIN, response_model=None)
def sign_in_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    phone: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    stage: Annotated[str, Form()] = "phone",
    next: Annotated[str, Form()] = "/my",
) -> HTMLResponse | RedirectResponse:
    context: dict[str, Any] = {"next": next, "phone": phone, "errors": {}, "stage": stage}
    normalised = normalise_phone(phone)
    if normalised is None:
        context["errors"]["phone"] = ("Số di động gồm 10 chữ số, bắt đầu bằng 03, 05, 07, 08, 09.",
                                      "A mobile number has 10 digits starting with 0.")  # fmt: skip
        context["stage"] = "phone"
        return render(request, "citizen/sign_in.html", context, status_code=422)
    context["phone"] = normalised
    if stage == "phone":
        try:
            issue_code(session, settings, phone=normalised, purpose="sign_in", now=now,
                       client_ip=client_ip(request))  # fmt: skip
        except RateLimited as exc:
            context["errors"]["phone"] = ("Bạn đã yêu cầu quá nhiều mã; vui lòng thử lại sau.",
                                          exc.detail)  # fmt: skip
            return render(request, "citizen/sign_in.html", context, status_code=429)
        context["stage"] = "code"
        return render(request, "citizen/sign_in.html", context)
    try:
        result = sign_in_with_code(session, settings, phone=normalised, code=code, now=now)
    except InvalidInput as exc:
        context["errors"]["code"] = ("Mã gồm 6 chữ số.", exc.detail)
        return render(request, "citizen/sign_in.html", context, status_code=422)
    if result.user is None:
        # Rendered, not raised: the transaction commits, so the wrong guess is counted.
        check = result.check
        context["errors"]["code"] = (
            text(check.text_key, check.params, "vi", fallbacks=("otp.none_valid",)),
            check.reason,
        )
        return render(request, "citizen/sign_in.html", context, status_code=401)
    response = RedirectResponse(safe_next(next, "/my"), status_code=303)
    start_web_session(response, session, settings, result.user, now=now)
    return response


# -- booking --------------------------------------------------------------------------------


def _windows_by_day(
    session: Session, settings: Settings, commune_code: str, lat: float | None,
    lon: float | None, now: datetime,
) -> list[tuple[date, list[tuple[datetime, datetime]]]]:  # fmt: skip
    today = now.astimezone(VN).date()
    days = []
    for offset in range(DAYS_SHOWN):
        day = today + timedelta(days=offset)
        found = windows_for_address(session, settings, commune_code=commune_code, day=day,
                                    now=now, lat=lat, lon=lon)  # fmt: skip
        if found:
            days.append((day, found))
    return days


def _float(value: str) -> float | None:
    try:
        return float(value) if value.strip() else None
    except ValueError:
        return None


def _int(value: str) -> int | None:
    try:
        return int(value) if value.strip() else None
    except ValueError:
        return None


def _when(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=VN)


def _input(form: dict[str, str]) -> BookingInput:
    return BookingInput(
        service_option=form["service_option"],
        procedure_id=_int(form["procedure_id"]),
        address_text=form["address"],
        contact_name=form["contact_name"],
        contact_phone=form["contact_phone"],
        cccd=form["cccd"],
        citizen_sex=form["citizen_sex"],
        citizen_birth_year=_int(form["citizen_birth_year"]),
        payment_method=form["payment_method"],
        window_start=_when(form["pickup_window_start"]),
        commune_code=form["commune_code"] or None,
        office_id=_int(form["office_id"]),
        lat=_float(form["lat"]),
        lon=_float(form["lon"]),
        gps_accuracy_m=_float(form["gps_accuracy_m"]),
        pay_fee_on_behalf=form["pay_fee_on_behalf"] in ("1", "on", "true"),
        weight_g=_int(form["weight_g"]) or 100,
        notify_channel=form["notify_channel"] or None,
        email=form["email"],
        exemption_code=form["exemption_code"],
        exemption_proof=form["exemption_proof"],
        receive_reference=form["receive_reference"],
        result_at_post_office=form["result_at_post_office"] in ("1", "on", "true"),
    )


async def _form(request: Request) -> dict[str, str]:
    raw = await request.form()
    return {name: str(raw.get(name, "")).strip() for name in BOOKING_FIELDS} | {
        "stage": str(raw.get("stage", "address")),
        "q": str(raw.get("q", "")),
    }


def _book_page(
    request: Request,
    session: Session,
    settings: Settings,
    now: datetime,
    form: dict[str, str],
    stage: str,
    errors: dict[str, tuple[str, str]] | None = None,
    **extra: Any,
) -> HTMLResponse:
    procedures = search_procedures(session, form.get("q", ""))
    chosen = session.get(Procedure, _int(form.get("procedure_id", "")) or 0)
    if chosen is not None and chosen not in procedures:
        procedures.insert(0, chosen)
    context: dict[str, Any] = {
        **_common(), "form": form, "stage": stage, "errors": errors or {},
        "procedures": procedures, "procedure": chosen, "weights": WEIGHTS, **extra,
    }  # fmt: skip
    if stage in ("details", "review") and form.get("address"):
        try:
            check = check_address(session, form["address"])
        except InvalidInput:
            check = None
        if check is not None:
            codes = check.parsed.candidates or (check.commune.code,)
            commune = session.get(Commune, form.get("commune_code") or check.commune.code)
            commune = commune if commune and commune.code in codes else check.commune
            lat, lon = _float(form["lat"]), _float(form["lon"])
            context["address_check"] = check
            context["candidates"] = [session.get(Commune, c) for c in codes]
            context["offices"] = offices_for(session, commune, lat or commune.lat,
                                             lon or commune.lon) + far_offices_for(
                session, commune, lat or commune.lat, lon or commune.lon, chosen)  # fmt: skip
            context["days"] = _windows_by_day(session, settings, commune.code, lat, lon, now)
    status = 422 if errors else 200
    return render(request, "citizen/book.html", context, status_code=status)


def _empty_form(user: User, q: str = "", procedure_id: str = "") -> dict[str, str]:
    form = dict.fromkeys(BOOKING_FIELDS, "")
    form.update(service_option="both", payment_method="cash", weight_g="100", q=q,
                contact_phone=user.phone or "", procedure_id=procedure_id,
                notify_channel=user.notify_channel, email=user.email or "")  # fmt: skip
    return form


@router.get("/book", response_class=HTMLResponse)
def book_form(
    request: Request,
    citizen: CurrentCitizenPage,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    q: str = "",
    procedure_id: str = "",
) -> HTMLResponse:
    return _book_page(request, session, settings, now, _empty_form(citizen, q, procedure_id),
                      "address")  # fmt: skip


_FIRST_STAGE = {"service_option", "procedure_id", "address", "receive_reference"}


@router.post("/book", response_model=None)
async def book_submit(
    request: Request,
    citizen: CurrentCitizenPage,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> HTMLResponse | RedirectResponse:
    form = await _form(request)
    stage = form["stage"]
    if stage == "search":
        return _book_page(request, session, settings, now, form, "address")
    if stage == "address":
        errors: dict[str, tuple[str, str]] = {}
        try:
            plan_booking(session, settings, _input(form), now=now)
        except BookingInvalid as exc:
            errors = {k: v for k, v in field_texts(exc.messages).items() if k in _FIRST_STAGE}
        if errors:
            return _book_page(request, session, settings, now, form, "address", errors)
        return _book_page(request, session, settings, now, form, "details")
    if stage == "edit":
        return _book_page(request, session, settings, now, form, "details")
    try:
        if stage == "confirm":
            # In a savepoint: a booking refused half-way leaves nothing behind.
            with session.begin_nested():
                created = create_booking(session, settings, citizen, _input(form), now=now)
            return RedirectResponse(f"/my/cases/{created.case.id}?new=1", status_code=303)
        plan = plan_booking(session, settings, _input(form), now=now)
    except BookingInvalid as exc:
        back = "address" if _FIRST_STAGE & set(exc.messages) else "details"
        return _book_page(request, session, settings, now, form, back, field_texts(exc.messages))
    form["commune_code"] = plan.commune.code
    form["office_id"] = str(plan.office.id)
    # The page's signed-in user is only a name and a role: the saved channel comes from here.
    return _book_page(request, session, settings, now, form, "review", plan=plan,
                      saved_channel=citizen.notify_channel)  # fmt: skip


# -- own cases ------------------------------------------------------------------------------


def _case_page(
    request: Request,
    session: Session,
    settings: Settings,
    view: CitizenCase,
    now: datetime,
    errors: dict[str, tuple[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    booking = view.context.booking
    days = []
    if view.before_pickup:
        today = now.astimezone(VN).date()
        for offset in range(DAYS_SHOWN):
            day = today + timedelta(days=offset)
            found = offerable_windows(
                session, post_office_id=booking.post_office_id, lat=booking.lat,
                lon=booking.lon, day=day, now=now, settings=settings,
                exclude_case_id=view.context.case.id,
            )  # fmt: skip
            if found:
                days.append((day, found))
    context = {
        **_common(), "view": view, "vietqr": booking_vietqr(settings, view), "days": days,
        "errors": errors or {}, "format_item_id": format_item_id,
        "is_new": request.query_params.get("new") == "1", "settings": settings,
        "rating_reasons": RATING_REASONS,
        "transit": transit_steps(session, view.context.case.id)
        if booking.transit_post_office_id is not None
        else [],
    }  # fmt: skip
    return render(request, "citizen/case.html", context, status_code=status_code)


def _my_page(
    request: Request,
    session: Session,
    citizen: User,
    channel_form: dict[str, str] | None = None,
    errors: dict[str, tuple[str, str]] | None = None,
    saved: bool = False,
) -> HTMLResponse:
    views = [
        citizen_case(session, citizen, case_id) for case_id in citizen_case_ids(session, citizen)
    ]
    channel_form = channel_form or {"notify_channel": citizen.notify_channel,
                                    "email": citizen.email or ""}  # fmt: skip
    return render(request, "citizen/my.html",
                  {**_common(), "views": views, "status_labels": STATUS_LABELS,
                   "channel_form": channel_form, "errors": errors or {}, "saved": saved},
                  status_code=422 if errors else 200)  # fmt: skip


@router.get("/my", response_class=HTMLResponse)
def my_cases_page(
    request: Request, citizen: CurrentCitizenPage, session: SessionDep
) -> HTMLResponse:
    return _my_page(request, session, citizen, saved=request.query_params.get("saved") == "1")


@router.post("/my/channel", response_model=None)
def my_channel_submit(
    request: Request,
    citizen: CurrentCitizenPage,
    session: SessionDep,
    notify_channel: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """The citizen changes how they are notified; an invalid choice changes nothing."""
    checked = check_channel(notify_channel, email)
    if isinstance(checked, tuple):
        field, vi, en = checked
        form = {"notify_channel": notify_channel, "email": email}
        return _my_page(request, session, citizen, form, {field: (vi, en)})
    choose_channel(citizen, checked.channel, checked.email or "")
    return RedirectResponse("/my?saved=1", status_code=303)


@router.get("/my/cases/{case_id}", response_class=HTMLResponse)
def my_case_page(
    case_id: int,
    request: Request,
    citizen: CurrentCitizenPage,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> HTMLResponse:
    try:
        view = citizen_case(session, citizen, case_id)
    except DomainError:
        return render(request, "citizen/not_found.html", {"case_id": case_id}, status_code=404)
    return _case_page(request, session, settings, view, now)


@router.post("/my/cases/{case_id}/{action}", response_model=None)
def my_case_action(
    case_id: int,
    action: str,
    request: Request,
    citizen: CurrentCitizenPage,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    pickup_window_start: Annotated[str, Form()] = "",
    stars: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    reasons: Annotated[list[str] | None, Form()] = None,
    result_at_post_office: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        view = citizen_case(session, citizen, case_id)
    except DomainError:
        return render(request, "citizen/not_found.html", {"case_id": case_id}, status_code=404)
    if action not in ("cancel", "reschedule", "rating", "result-leg"):
        return render(request, "citizen/not_found.html", {"case_id": case_id}, status_code=404)

    def act() -> None:
        if action == "cancel":
            cancel_booking(session, citizen, case_id, now=now)
        elif action == "reschedule":
            when = _when(pickup_window_start)
            if when is None:
                raise InvalidInput(
                    "choose a window", field="pickup_window", reason="booking.choose_window"
                )
            reschedule_booking(session, settings, citizen, case_id, when, now=now)
        elif action == "result-leg":
            at_counter = result_at_post_office in ("1", "on", "true")
            choose_result_leg(session, citizen, case_id, at_post_office=at_counter)
        else:
            rate_case(session, citizen, case_id, _int(stars) or 0, comment, now=now,
                      reasons=reasons or [])  # fmt: skip

    refused = attempt(session, act)
    if isinstance(refused, DomainError):
        # The savepoint undid whatever the service wrote before it refused.
        exc = refused
        messages = {
            "pickup_window": ("Khung giờ này không còn chỗ.", exc.detail),
            "stars": ("Chọn từ 1 đến 5 sao.", exc.detail),
            "comment": ("Nhận xét tối đa 1.000 ký tự.", exc.detail),
            "reasons": ("Lý do không hợp lệ.", exc.detail),
        }
        field = exc.field or "case_id"
        # The refusal's own text when it has one; else the field's general Vietnamese text.
        pair = both(exc) if exc.reason or field not in messages else messages[field]
        view = citizen_case(session, citizen, case_id)
        return _case_page(request, session, settings, view, now, {field: pair}, 422)
    del view
    return RedirectResponse(f"/my/cases/{case_id}", status_code=303)


# -- public tracking --------------------------------------------------------------------------


@router.get("/t", response_model=None)
def track_form(request: Request, id: str) -> HTMLResponse | RedirectResponse:
    """The home page's form (no JavaScript): on to the item's page."""
    try:
        code = parse_item_id(id)
    except InvalidInput as exc:
        return render(request, "citizen/track.html", {"error": both(exc), "view": None},
                      status_code=422)  # fmt: skip
    return RedirectResponse(f"/t/{code}", status_code=303)


@router.get("/t/{item_id}", response_class=HTMLResponse)
def track_page(request: Request, item_id: str, session: SessionDep, now: NowDep) -> HTMLResponse:
    """The label's QR target: status and timeline in plain Vietnamese, personal data masked,
    and the courier's first name and ETA when one is due at the door today."""
    try:
        public = tracking_cache.read(session, parse_item_id(item_id), now=now)
    except DomainError as exc:
        code = 422 if isinstance(exc, InvalidInput) else 404
        return render(request, "citizen/track.html", {"error": both(exc), "view": None},
                      status_code=code)  # fmt: skip
    # The page as the QR opens it (no query, nobody signed in on it) depends only on the
    # answer and the language: rendered once per answer kept by the cache, per language.
    plain = not request.url.query
    key = (public.view.item_code, request_lang(request))
    kept = _rendered_pages.get(key) if plain else None
    if kept is not None and kept[0] is public:
        return HTMLResponse(kept[1])
    response = render(request, "citizen/track.html",
                      {**_common(), "view": public.view, "error": None,
                       "format_item_id": format_item_id, "mask_phone": mask_phone,
                       "money": public.money, "eta": public.eta})  # fmt: skip
    if plain:
        _rendered_pages[key] = (public, bytes(response.body))
        if len(_rendered_pages) > 2 * MAX_ENTRIES:
            with suppress(KeyError):  # another thread emptied it first
                _rendered_pages.popitem(last=False)
    return response


# (item code, language) -> (the cached answer it was rendered from, the page). An answer the
# cache replaced (a scan, an ETA a second old) is a new object, so its page is rendered anew.
_rendered_pages: OrderedDict[tuple[str, str], tuple[PublicTracking, bytes]] = OrderedDict()


@router.get("/t/{item_id}/barcode.svg")
def item_barcode(item_id: str) -> Response:
    """Code 128 of the item ID (public: the ID is printed on the label anyway)."""
    return Response(code128_svg(parse_item_id(item_id)), media_type="image/svg+xml")


@router.get("/t/{item_id}/qr.svg")
def item_qr(item_id: str, settings: SettingsDep) -> Response:
    """QR of the tracking page's URL."""
    url = f"{settings.public_base_url.rstrip('/')}/t/{parse_item_id(item_id)}"
    return Response(qr_svg(url, module_mm=0.8), media_type="image/svg+xml")
