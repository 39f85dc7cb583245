"""The citizens' journey: address, quote, booking, cancel, reschedule, rating, sign-in.

Services flush and never commit; the HTTP edge owns the transaction. A booking is opened
through ``core.cases.service.open_case`` (which writes the ``booked`` ledger event), and a
cancellation is a ``cancelled`` ledger event through ``core.custody.service``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.booking.models import PAYMENT_METHODS, BookingTerms, CaseRating
from core.booking.notify import record_told_window
from core.booking.places import commune_or_error, offices_for, post_office_for
from core.booking.prices import province_price_table
from core.booking.pricing import Quote, load_price_table, make_quote, zone_between
from core.booking.receive import (
    FIELD,
    Reference,
    ReferenceRefused,
    check_reference_free,
    lock_reference,
    open_receive_request,
    parse_reference,
    receive_request_of,
)
from core.booking.slots import lock_post_office_day, offerable_windows
from core.booking.transit import transit_post_office
from core.booking.validation import BookingInvalid, FieldErrors, normalise_phone
from core.cases.models import Booking, Case
from core.cases.service import SERVICE_OPTIONS, BookingRequest, CaseContext, case_context, open_case
from core.cases.transit import cross_province_refusal, is_cross_province
from core.custody.models import Item, ItemState
from core.custody.service import ScanCommand, record_one
from core.dispatch.live import queue_update
from core.errors import Conflict, InvalidInput, NotFound
from core.identity.models import User
from core.identity.service import actor_for, create_user
from core.money.charges import cancel_charge, charge_case
from core.money.exemptions import exemption_for
from core.money.models import Receipt
from core.money.receipts import receipts_of_case
from core.money.state import PaymentState, payment_state
from core.otp.service import CodeCheck, verify_code
from core.outbox.citizen import ChannelChoice, check_channel, choose_channel, send_to_citizen
from core.places.models import Commune, Office, PostOffice, Procedure, Province
from core.settings import Settings
from labels.cccd import validate_cccd
from labels.errors import InvalidCode
from labels.vietqr import build_vietqr
from routing.address import AddressNotRecognised, ParsedAddress, parse_address
from vntime import VN, vn_date, vn_time

# A pin further than this from the commune's centre is more likely a wrong tap than a home.
MAX_PIN_DISTANCE_KM = 30.0
SEXES = ("male", "female")


# -- address -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddressCheck:
    parsed: ParsedAddress
    commune: Commune
    province: Province


# A street address with commune and province, old form included, fits with room to spare.
MAX_ADDRESS_CHARS = 250


def check_address(session: Session, text: str) -> AddressCheck:
    """Parse a typed address into a 2025 commune; old three-level forms are converted."""
    cleaned = " ".join(text.split())
    if len(cleaned) < 5:
        raise InvalidInput(
            "type the address with its commune and province",
            field="address",
            reason="address.too_short",
        )
    if len(cleaned) > MAX_ADDRESS_CHARS:
        # The parser's time grows faster than the text (0.3 s at 250 characters of repeated
        # place names): every edge, JSON or form, is held to what an address needs.
        raise InvalidInput(
            f"an address has at most {MAX_ADDRESS_CHARS} characters",
            field="address",
            reason="address.too_long",
            params={"max": MAX_ADDRESS_CHARS},
        )
    try:
        parsed = parse_address(cleaned)
    except AddressNotRecognised as exc:
        raise InvalidInput(
            str(exc),
            field="address",
            reason="address.not_recognised",
            # Which part (a key of the catalogue: "address.part.province", …) and the words.
            params={"part_text": f"address.part.{exc.part}", "fragment": exc.fragment},
        ) from exc
    commune = commune_or_error(session, parsed.commune_code)
    province = session.get(Province, parsed.province_code)
    assert province is not None
    return AddressCheck(parsed, commune, province)


def _resolve_commune(
    session: Session, check: AddressCheck, confirmed_code: str | None
) -> Commune | None:
    """The commune the citizen confirmed: the parsed one, or one of its candidates."""
    if not confirmed_code or confirmed_code == check.commune.code:
        return check.commune
    if confirmed_code in check.parsed.candidates:
        return session.get(Commune, confirmed_code)
    return None


def accuracy_for(commune: Commune) -> float:
    """A commune centroid stands for a home within about the commune's radius."""
    area = commune.area_km2 or 25.0
    return round(math.sqrt(area / math.pi) * 1000.0, 1)


# -- quote and booking --------------------------------------------------------------------


@dataclass(frozen=True)
class BookingInput:
    service_option: str
    procedure_id: int | None
    address_text: str
    contact_name: str
    contact_phone: str
    cccd: str
    citizen_sex: str
    citizen_birth_year: int | None
    payment_method: str
    window_start: datetime | None
    commune_code: str | None = None
    office_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    gps_accuracy_m: float | None = None
    pay_fee_on_behalf: bool = False
    weight_g: int = 100
    # How the citizen wants to hear about their cases (core/outbox/citizen.py); None keeps
    # the choice they have.
    notify_channel: str | None = None
    email: str = ""
    # An exemption or reduction of the postal charges (core.money.exemptions) and the
    # document the citizen will show for it (its number), printed on the quote and receipts.
    exemption_code: str = ""
    exemption_proof: str = ""
    # Receive only (QĐ 45 option 2): the dossier code or appointment slip number the citizen
    # holds for the dossier they filed in person (core/booking/receive.py).
    receive_reference: str = ""
    # The result leg: collected at the counter of the booking's post office instead of
    # being brought home ("nhận tại bưu cục").
    result_at_post_office: bool = False
    # A walk-in at this post office's counter (core/counter/reception.py): the dossier is
    # handed in now, so there is no window to choose and the post office is the counter's.
    walk_in_post_office_id: int | None = None


# A walk-in's "window" is the few minutes at the counter: the pickup is on time by design.
WALK_IN_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class BookingPlan:
    """A checked booking, ready to open: what the confirmation step shows."""

    input: BookingInput
    address: AddressCheck
    commune: Commune
    procedure: Procedure
    office: Office
    post_office_id: int
    lat: float
    lon: float
    position_source: str
    position_accuracy_m: float
    window: tuple[datetime, datetime]
    phone: str
    cccd: str
    quote: Quote
    zone: str
    channel: ChannelChoice | None
    receive_reference: Reference | None = None
    # An office in another province: the post office of its province the items go through.
    transit_post_office_id: int | None = None


def plan_booking(
    session: Session, settings: Settings, data: BookingInput, *, now: datetime
) -> BookingPlan:
    """Check every field (all errors at once, each naming its field); nothing is written."""
    errors = FieldErrors()
    if data.service_option not in SERVICE_OPTIONS:
        errors.add("service_option", "Chọn hình thức: gửi hồ sơ, nhận kết quả hoặc cả hai.",
                   "Choose send the dossier, receive the result, or both.")  # fmt: skip
    procedure = session.get(Procedure, data.procedure_id) if data.procedure_id else None
    if procedure is None:
        errors.add("procedure_id", "Chọn thủ tục hành chính.", "Choose a procedure.")

    address: AddressCheck | None = None
    commune: Commune | None = None
    try:
        address = check_address(session, data.address_text)
    except InvalidInput as exc:
        errors.refuse("address", exc)
    if address is not None:
        commune = _resolve_commune(session, address, data.commune_code)
        if commune is None:
            errors.add("commune_code", "Xã/phường đã chọn không khớp với địa chỉ.",
                       "The chosen commune does not match the address.")  # fmt: skip

    lat = lon = None
    source, accuracy = "commune_centroid", 0.0
    if (data.lat is None) != (data.lon is None):
        errors.add("lat", "Vị trí GPS thiếu vĩ độ hoặc kinh độ.", "The GPS pin lacks lat or lon.")
    elif data.lat is not None and data.lon is not None:
        if not (-90 <= data.lat <= 90 and -180 <= data.lon <= 180):
            errors.add("lat", "Vị trí GPS không hợp lệ.", "The GPS pin is not a valid position.")
        elif commune is not None:
            from core.booking.places import distance_km

            if distance_km(data.lat, data.lon, commune.lat, commune.lon) > MAX_PIN_DISTANCE_KM:
                errors.add("lat", "Vị trí GPS ở quá xa xã/phường của địa chỉ.",
                           "The GPS pin is far from the address's commune.")  # fmt: skip
            else:
                lat, lon, source = data.lat, data.lon, "gps"
                accuracy = data.gps_accuracy_m if data.gps_accuracy_m is not None else 50.0
    if commune is not None and lat is None:
        lat, lon, accuracy = commune.lat, commune.lon, accuracy_for(commune)

    office: Office | None = None
    post_office_id: int | None = None
    transit_id: int | None = None
    if commune is not None and lat is not None and lon is not None:
        choices = offices_for(session, commune, lat, lon)
        if data.office_id is None:
            office = choices[0].office if choices else None
            if office is None:
                errors.add(
                    "office_id",
                    "Tỉnh này chưa có bộ phận một cửa nhận hồ sơ qua bưu chính.",
                    "No office in this province takes dossiers by post yet.",
                )
        else:
            office = next((c.office for c in choices if c.office.id == data.office_id), None)
            if office is None:
                office, transit_id = _far_office(session, data.office_id, procedure, commune,
                                                 errors)  # fmt: skip
        if data.walk_in_post_office_id is not None:
            post_office_id = _walk_in_post_office(session, data.walk_in_post_office_id, commune,
                                                  errors)  # fmt: skip
        else:
            try:
                post_office_id = post_office_for(session, commune, lat, lon).id
            except InvalidInput:
                errors.add("address", "Chưa có bưu cục nhận hồ sơ tại tỉnh này.",
                           "No post office takes bookings in this province yet.")  # fmt: skip

    window: tuple[datetime, datetime] | None = None
    if data.walk_in_post_office_id is not None:
        window = (now, now + WALK_IN_WINDOW)
    elif data.window_start is None:
        errors.add("pickup_window", "Chọn khung giờ hẹn.", "Choose a time window.")
    elif post_office_id is not None and lat is not None and lon is not None:
        day = data.window_start.astimezone(VN).date()
        offered = offerable_windows(session, post_office_id=post_office_id, lat=lat, lon=lon,
                                    day=day, now=now, settings=settings)  # fmt: skip
        window = next((w for w in offered if w[0] == data.window_start), None)
        if window is None:
            errors.add("pickup_window", "Khung giờ này không còn chỗ hoặc không được phục vụ.",
                       "This window is full or not served.")  # fmt: skip

    name = " ".join(data.contact_name.split())
    if not name or len(name) > 100:
        errors.add("contact_name", "Nhập họ tên người liên hệ (tối đa 100 ký tự).",
                   "Enter the contact's name (at most 100 characters).")  # fmt: skip
    phone = normalise_phone(data.contact_phone)
    if phone is None:
        errors.add("contact_phone", "Số di động gồm 10 chữ số, bắt đầu bằng 03, 05, 07, 08, 09.",
                   "A mobile number has 10 digits starting with 03, 05, 07, 08 or 09.")  # fmt: skip
    if data.citizen_sex not in SEXES:
        errors.add("citizen_sex", "Chọn giới tính.", "Choose the sex on the ID card.")
    year_now = now.astimezone(VN).year
    if data.citizen_birth_year is None or not 1900 <= data.citizen_birth_year <= year_now:
        errors.add("citizen_birth_year", f"Năm sinh từ 1900 đến {year_now}.",
                   f"Birth year between 1900 and {year_now}.")  # fmt: skip
    cccd = ""
    try:
        info = validate_cccd(data.cccd)
        cccd = info.number
        if data.citizen_sex in SEXES and info.sex != data.citizen_sex:
            errors.add("cccd", "Chữ số thứ 4 của số CCCD không khớp với giới tính đã chọn.",
                       "Digit 4 of the ID number does not match the sex given.")  # fmt: skip
        elif data.citizen_birth_year is not None and info.birth_year != data.citizen_birth_year:
            errors.add("cccd", "Chữ số 4–6 của số CCCD không khớp với năm sinh.",
                       "Digits 4-6 of the ID number do not match the birth year.")  # fmt: skip
    except InvalidCode as exc:
        errors.add("cccd", "Số CCCD gồm 12 chữ số hợp lệ.", f"Citizen ID: {exc}")
    channel = None
    if data.notify_channel is not None:
        checked = check_channel(data.notify_channel, data.email)
        if isinstance(checked, ChannelChoice):
            channel = checked
        else:
            errors.add(*checked)
    if data.payment_method not in PAYMENT_METHODS:
        errors.add("payment_method", "Chọn cách thanh toán: tiền mặt hoặc chuyển khoản VietQR.",
                   "Choose cash or VietQR bank transfer.")  # fmt: skip

    exemption = None
    if data.exemption_code:
        try:
            exemption = exemption_for(data.exemption_code)
        except InvalidInput:
            errors.add("exemption_code", "Chọn đối tượng miễn, giảm trong danh sách.",
                       "Choose an exemption from the list.")  # fmt: skip
        if not data.exemption_proof.strip() or len(data.exemption_proof) > 100:
            errors.add("exemption_proof",
                       "Ghi số giấy tờ chứng minh được miễn, giảm (tối đa 100 ký tự).",
                       "Give the number of the document that proves the exemption "
                       "(at most 100 characters).")  # fmt: skip

    reference: Reference | None = None
    if data.service_option == "receive":
        try:
            reference = parse_reference(data.receive_reference)
            if office is not None:
                check_reference_free(session, reference, office.id)
        except ReferenceRefused as exc:
            errors.add(FIELD, exc.vi, exc.detail)

    quote: Quote | None = None
    zone = ""
    if (
        commune is not None
        and office is not None
        and procedure is not None
        and (data.service_option in SERVICE_OPTIONS)
    ):
        zone = zone_between(commune.code, commune.province_code, office.commune_code,
                            office.province_code)  # fmt: skip
        try:
            quote = make_quote(
                # The citizen's province's table: it prices the legs from their door, to an
                # office of their province or (``other_province``) of another one.
                province_price_table(
                    session, commune.province_code, load_price_table(settings.booking_price_table)
                ),
                service_option=data.service_option,
                zone=zone,
                weight_g=data.weight_g,
                admin_fee_vnd=procedure.fee_vnd,
                pay_fee_on_behalf=data.pay_fee_on_behalf,
                fee_transfer_vnd=settings.booking_fee_transfer_vnd,
                exemption=exemption,
                exemption_proof=" ".join(data.exemption_proof.split()),
            )
        except InvalidInput as exc:
            assert exc.field is not None
            errors.add(exc.field, "Không tính được cước: " + exc.detail, exc.detail)
    errors.raise_if_any()
    assert address and commune and procedure and office and post_office_id and window
    assert phone and quote and lat is not None and lon is not None
    return BookingPlan(
        input=data, address=address, commune=commune, procedure=procedure, office=office,
        post_office_id=post_office_id, lat=lat, lon=lon, position_source=source,
        position_accuracy_m=accuracy, window=window, phone=phone, cccd=cccd, quote=quote,
        zone=zone, channel=channel, receive_reference=reference,
        transit_post_office_id=transit_id,
    )  # fmt: skip


def _far_office(
    session: Session,
    office_id: int,
    procedure: Procedure | None,
    commune: Commune,
    errors: FieldErrors,
) -> tuple[Office | None, int | None]:
    """An office outside the address's province, and the post office of its province the
    dossier travels through, if the catalogue lets the post carry this procedure there
    (core/booking/transit.py); else the field's error."""
    office = session.get(Office, office_id)
    if office is None or not is_cross_province(office, commune.province_code):
        errors.add("office_id", "Không có bộ phận một cửa này.", "No such office.")
        return None, None
    if procedure is None:
        return None, None  # the procedure's own error says what to do first
    refusal = cross_province_refusal(session, procedure, office, commune.province_code)
    if refusal is not None:
        errors.refuse("office_id", refusal)
        return None, None
    try:
        transit = transit_post_office(session, office)
    except InvalidInput as exc:
        errors.refuse("office_id", exc)
        return None, None
    return office, transit.id


def _walk_in_post_office(
    session: Session, post_office_id: int, commune: Commune, errors: FieldErrors
) -> int | None:
    """The counter's post office, if it may take this citizen's dossier: one of the address's
    province, where its result comes back (an office of another province is reached by bag
    from there, core/booking/transit.py)."""
    post = session.get(PostOffice, post_office_id)
    if post is None:
        errors.add("post_office_id", "Không có bưu cục này.", "No such post office.")
        return None
    if post.province_code != commune.province_code:
        errors.add(
            "address",
            "Bưu cục chỉ nhận hồ sơ của người dân có địa chỉ trong tỉnh.",
            "This post office takes dossiers of citizens whose address is in its province.",
        )
        return None
    return post.id


@dataclass(frozen=True)
class BookingCreated:
    case: Case
    item_code: str | None
    quote: Quote
    payment_method: str
    vietqr_payload: str | None
    tracking_url: str | None


def payment_purpose(case: Case, item_code: str | None) -> str:
    """The transfer's purpose (field 62/08): the item ID, so the bank statement names it."""
    return f"HOSO {item_code}" if item_code else f"HOSO CASE {case.id}"


def vietqr_for(settings: Settings, amount: int, purpose: str) -> str:
    return build_vietqr(settings.vietqr_bank_bin, settings.vietqr_account, amount, purpose)


def create_booking(
    session: Session,
    settings: Settings,
    citizen: User,
    data: BookingInput,
    *,
    now: datetime,
    clerk: User | None = None,
) -> BookingCreated:
    """Check the booking, take its place in the window, open the case, queue the SMS.

    With ``clerk``: a walk-in the counter clerk books for ``citizen`` at the counter
    (``data.walk_in_post_office_id``); no window to hold and no SMS (the citizen is there)."""
    plan = plan_booking(session, settings, data, now=now)
    walk_in = data.walk_in_post_office_id is not None
    # Re-check the window's capacity under the post office's lock, so two citizens cannot
    # both take the last place. The full check above runs without the lock, so a form with
    # errors never waits for it, and the lock is held only for this check and the inserts.
    day = plan.window[0].astimezone(VN).date()
    if not walk_in:
        lock_post_office_day(session, plan.post_office_id, day)
        still = offerable_windows(session, post_office_id=plan.post_office_id, lat=plan.lat,
                                  lon=plan.lon, day=day, now=now, settings=settings)  # fmt: skip
    if not walk_in and plan.window not in still:
        raise BookingInvalid({"pickup_window": (
            "Khung giờ này vừa hết chỗ; vui lòng chọn khung khác.",
            "This window has just filled up; choose another.",
        )})  # fmt: skip
    if plan.receive_reference is not None:
        lock_reference(session, plan.receive_reference)
        try:
            check_reference_free(session, plan.receive_reference, plan.office.id)
        except ReferenceRefused as exc:
            raise BookingInvalid({FIELD: (exc.vi, exc.detail)}) from exc
    case = open_case(
        session,
        settings,
        actor_for(clerk if clerk is not None else citizen),
        BookingRequest(
            service_option=data.service_option,
            procedure_id=plan.procedure.id,
            office_id=plan.office.id,
            post_office_id=plan.post_office_id,
            contact_name=" ".join(data.contact_name.split()),
            contact_phone=plan.phone,
            address_text=plan.address.parsed.display,
            commune_code=plan.commune.code,
            lat=plan.lat,
            lon=plan.lon,
            position_source=plan.position_source,
            position_accuracy_m=plan.position_accuracy_m,
            pickup_window_start=plan.window[0],
            pickup_window_end=plan.window[1],
            cccd=plan.cccd,
            citizen_birth_year=data.citizen_birth_year,
            citizen_sex=data.citizen_sex,
            citizen_user_id=citizen.id,
            result_at_post_office=data.result_at_post_office,
            transit_post_office_id=plan.transit_post_office_id,
        ),
        now=now,
    )
    if plan.receive_reference is not None:
        open_receive_request(session, case, plan.receive_reference, now=now)
    session.add(
        BookingTerms(
            case_id=case.id,
            payment_method=data.payment_method,
            pay_fee_on_behalf=data.pay_fee_on_behalf,
            weight_g=data.weight_g,
            zone=plan.zone,
            quote=plan.quote.to_json(),
            total_vnd=plan.quote.total_vnd,
        )
    )
    session.flush()
    # The citizen now owes the quote, line by line: the ledger's charge (core.money.charges).
    charge_case(session, case.id, at=now, actor_user_id=citizen.id)
    if citizen.full_name == citizen.phone:
        # Created at first sign-in with only a phone: the booking gives the name to greet.
        citizen.full_name = " ".join(data.contact_name.split())
    # The choice made at booking is the citizen's from now on (changeable on /my).
    if plan.channel is not None:
        choose_channel(citizen, plan.channel.channel, plan.channel.email or "")
        session.flush()
    item_code = _item_code(session, case.dossier_item_id)
    payload = None
    if data.payment_method == "vietqr":
        payload = vietqr_for(settings, plan.quote.total_vnd, payment_purpose(case, item_code))
    tracking_url = f"{settings.public_base_url.rstrip('/')}/t/{item_code}" if item_code else None
    if walk_in:
        # At the counter the citizen gets the slip and receipt in hand; the ledger's events
        # (received, handed over, result ready) reach their phone as for any booking.
        return BookingCreated(case, item_code, plan.quote, data.payment_method, payload,
                              tracking_url)  # fmt: skip
    window = f"{vn_time(plan.window[0])}–{vn_time(plan.window[1])}"
    date_text = vn_date(plan.window[0])
    send_to_citizen(
        session,
        phone=plan.phone,
        user_id=citizen.id,
        kind="booked",
        text=(
            f"Đã đặt lịch hồ sơ #{case.id}"
            + (f", mã bưu gửi {item_code}" if item_code else "")
            + f". Bưu tá đến {window} ngày {date_text}."
            + (f" Theo dõi: {tracking_url}" if tracking_url else "")
            if plan.receive_reference is None
            # Receive only: nothing moves until the office has the result; say so.
            else f"Đã đặt lịch nhận kết quả hồ sơ {plan.receive_reference.text} (#{case.id}). "
            f"Khi bộ phận một cửa có kết quả, bưu tá mang đến khung giờ {window}."
        ),
        params={"case_id": case.id, "item_code": item_code or "", "window": window,
                "date": date_text, "tracking_url": tracking_url or ""},
    )  # fmt: skip
    session.flush()
    return BookingCreated(case, item_code, plan.quote, data.payment_method, payload, tracking_url)


def _item_code(session: Session, item_id: int | None) -> str | None:
    if item_id is None:
        return None
    return session.scalar(select(Item.code).where(Item.id == item_id))


# -- a citizen's own cases ------------------------------------------------------------------


@dataclass(frozen=True)
class CitizenCase:
    context: CaseContext
    terms: BookingTerms | None
    dossier_code: str | None
    dossier_status: str | None
    result_code: str | None
    result_status: str | None
    rating: CaseRating | None
    # The money as the ledger has it: state, amounts, and the receipts of money taken.
    money: PaymentState | None = None
    receipts: tuple[Receipt, ...] = ()
    # Receive only: the dossier code or slip number the case waits for.
    receive_reference: str | None = None

    @property
    def awaiting_result(self) -> bool:
        """A receive-only booking the office has not registered a result for yet."""
        return (
            self.context.booking.service_option == "receive"
            and self.result_code is None
            and not self.cancelled
        )

    @property
    def cancelled(self) -> bool:
        return self.dossier_status == "cancelled" or (
            self.terms is not None and self.terms.cancelled_at is not None
        )

    @property
    def before_pickup(self) -> bool:
        """Still changeable: nothing has left the citizen's hands."""
        if self.cancelled:
            return False
        if self.dossier_status is not None:
            return self.dossier_status in ("booked", "refused")
        return self.result_status is None  # receive only: until the result exists

    @property
    def delivered(self) -> bool:
        if self.context.booking.service_option == "send":
            return self.dossier_status == "handed_over"
        return self.result_status == "delivered"


def _status(session: Session, item_id: int | None) -> tuple[str | None, str | None]:
    if item_id is None:
        return None, None
    row = session.execute(
        select(Item.code, ItemState.status)
        .join(ItemState, ItemState.item_id == Item.id)
        .where(Item.id == item_id)
    ).one()
    return row[0], row[1]


def citizen_case(session: Session, citizen: User, case_id: int) -> CitizenCase:
    """The case if it is this citizen's; anyone else's is answered as not found."""
    owner = session.scalar(
        select(Booking.citizen_user_id)
        .join(Case, Case.booking_id == Booking.id)
        .where(Case.id == case_id)
    )
    if owner is None or owner != citizen.id:
        raise NotFound(
            f"you have no case {case_id}",
            field="case_id",
            reason="case.not_yours",
            params={"case_id": case_id},
        )
    context = case_context(session, case_id)
    dossier_code, dossier_status = _status(session, context.case.dossier_item_id)
    result_code, result_status = _status(session, context.case.result_item_id)
    terms = session.get(BookingTerms, case_id)
    request = receive_request_of(session, case_id)
    return CitizenCase(
        context=context,
        terms=terms,
        dossier_code=dossier_code,
        dossier_status=dossier_status,
        result_code=result_code,
        result_status=result_status,
        rating=session.get(CaseRating, case_id),
        money=payment_state(session, case_id) if terms is not None else None,
        receipts=tuple(receipts_of_case(session, case_id)),
        receive_reference=request.reference if request is not None else None,
    )


def citizen_case_ids(session: Session, citizen: User, limit: int = 100) -> list[int]:
    return list(
        session.scalars(
            select(Case.id)
            .join(Booking, Booking.id == Case.booking_id)
            .where(Booking.citizen_user_id == citizen.id)
            .order_by(Case.id.desc())
            .limit(limit)
        )
    )


def cancel_booking(session: Session, citizen: User, case_id: int, *, now: datetime) -> CitizenCase:
    view = citizen_case(session, citizen, case_id)
    if not view.before_pickup:
        raise Conflict(
            "only a booking not yet picked up can be cancelled",
            field="case_id",
            reason="booking.too_late_to_cancel",
        )
    if view.dossier_code is not None:
        command = ScanCommand(kind="cancelled", code=view.dossier_code, occurred_at=now)
        record_one(session, actor_for(citizen), command)
    if view.terms is not None:
        view.terms.cancelled_at = now
        # Nothing is owed any more; money already paid shows as owed back until refunded.
        cancel_charge(session, case_id, at=now, actor_user_id=citizen.id,
                      reason="người dân hủy lịch / cancelled by the citizen")  # fmt: skip
    send_to_citizen(session, phone=view.context.booking.contact_phone, user_id=citizen.id,
                    kind="cancelled", params={"case_id": case_id},
                    text=f"Đã hủy lịch hồ sơ #{case_id}. Cảm ơn bạn đã dùng dịch vụ.")  # fmt: skip
    session.flush()
    return citizen_case(session, citizen, case_id)


def reschedule_booking(
    session: Session,
    settings: Settings,
    citizen: User,
    case_id: int,
    window_start: datetime,
    *,
    now: datetime,
) -> CitizenCase:
    view = citizen_case(session, citizen, case_id)
    if not view.before_pickup:
        raise Conflict(
            "only a booking not yet picked up can be moved",
            field="case_id",
            reason="booking.too_late_to_move",
        )
    booking = view.context.booking
    day = window_start.astimezone(VN).date()
    lock_post_office_day(session, booking.post_office_id, day)
    offered = offerable_windows(session, post_office_id=booking.post_office_id, lat=booking.lat,
                                lon=booking.lon, day=day, now=now, settings=settings,
                                exclude_case_id=case_id)  # fmt: skip
    window = next((w for w in offered if w[0] == window_start), None)
    if window is None:
        raise InvalidInput(
            "this window is full or not served", field="pickup_window", reason="booking.window_full"
        )
    old_day = booking.pickup_window_start.astimezone(VN).date()
    booking.pickup_window_start, booking.pickup_window_end = window
    if view.terms is not None:
        view.terms.reschedule_count += 1
    # No ledger event says a booking moved: its days' live plans are told here (old day first:
    # the stop leaves it, then joins the new one).
    for changed in dict.fromkeys((old_day, day)):
        queue_update(session, post_office_id=booking.post_office_id, day=changed,
                     case_id=case_id, cause="rescheduled")  # fmt: skip
    span, date_text = f"{vn_time(window[0])}–{vn_time(window[1])}", vn_date(window[0])
    told = send_to_citizen(session, phone=booking.contact_phone, user_id=citizen.id,
                    kind="rescheduled",
                    params={"case_id": case_id, "window": span, "date": date_text},
                    text=f"Lịch hồ sơ #{case_id} đã đổi: bưu tá đến {span} "
                         f"ngày {date_text}.")  # fmt: skip
    record_told_window(session, case_id, booking, now, told.id)
    session.flush()
    return citizen_case(session, citizen, case_id)


# Reason chips a citizen may tick beside the stars: (Vietnamese, English). The service-quality
# pages count them (core.sla); the keys are stored, so a label can change without a migration.
RATING_REASONS: dict[str, tuple[str, str]] = {
    "on_time": ("Đến đúng hẹn", "On time"),
    "courteous": ("Bưu tá lịch sự, tận tình", "Courteous courier"),
    "clear_info": ("Hướng dẫn, thông tin rõ ràng", "Clear information"),
    "late": ("Đến muộn", "Late"),
    "unfriendly": ("Thái độ chưa tốt", "Unfriendly"),
    "damaged": ("Hồ sơ, kết quả bị hư hỏng", "Papers damaged"),
    "fees": ("Phí chưa rõ ràng", "Unclear fees"),
}


def rate_case(
    session: Session,
    citizen: User,
    case_id: int,
    stars: int,
    comment: str | None,
    *,
    now: datetime,
    reasons: Sequence[str] = (),
) -> CaseRating:
    view = citizen_case(session, citizen, case_id)
    if not 1 <= stars <= 5:
        raise InvalidInput(
            "stars must be a whole number from 1 to 5", field="stars", reason="rating.stars"
        )
    unknown = [r for r in reasons if r not in RATING_REASONS]
    if unknown:
        raise InvalidInput(f"unknown reason {unknown[0]!r}; one of {', '.join(RATING_REASONS)}",
                           field="reasons", reason="rating.unknown_reason",
                           params={"reason": unknown[0]})  # fmt: skip
    chosen = list(dict.fromkeys(reasons))
    text = (comment or "").strip()
    if len(text) > 1000:
        raise InvalidInput(
            "the comment is limited to 1,000 characters",
            field="comment",
            reason="rating.comment_too_long",
        )
    if not view.delivered:
        raise Conflict(
            "a case can be rated once it is delivered",
            field="case_id",
            reason="rating.not_delivered",
        )
    if view.rating is not None:
        raise Conflict("this case is already rated", field="case_id", reason="rating.already")
    # Lock the case row: two tabs rating at once get one rating and one Conflict.
    session.execute(select(Case.id).where(Case.id == case_id).with_for_update())
    if session.get(CaseRating, case_id, populate_existing=True) is not None:
        raise Conflict("this case is already rated", field="case_id", reason="rating.already")
    rating = CaseRating(case_id=case_id, citizen_user_id=citizen.id, stars=stars,
                        comment=text or None, reasons=chosen, created_at=now)  # fmt: skip
    session.add(rating)
    session.flush()
    return rating


# -- sign-in by one-time code -------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    check: CodeCheck
    user: User | None


def sign_in_with_code(
    session: Session, settings: Settings, *, phone: str, code: str, now: datetime
) -> SignIn:
    """Check the code; on success return the citizen, created on first sign-in.

    A wrong code is a result, not an exception: the caller must commit so the guess counts.
    """
    check = verify_code(session, settings, phone=phone, purpose="sign_in", code=code, now=now)
    if not check.ok:
        return SignIn(check, None)
    user = citizen_with_phone(session, phone)
    if not user.active:
        return SignIn(CodeCheck(ok=False, reason="this account is disabled"), None)
    return SignIn(check, user)


def citizen_with_phone(session: Session, phone: str) -> User:
    """The citizen account of this phone number, created on first use (a sign-in, or a
    walk-in at a counter: signing in later with the phone finds their cases)."""
    user = session.scalar(
        select(User).where(User.phone == phone, User.role == "citizen").order_by(User.id).limit(1)
    )
    if user is None:
        user = create_user(session, username=f"citizen-{phone}", full_name=phone,
                           role="citizen", phone=phone)  # fmt: skip
    return user


def windows_for_address(
    session: Session,
    settings: Settings,
    *,
    commune_code: str,
    day: date,
    now: datetime,
    lat: float | None = None,
    lon: float | None = None,
) -> list[tuple[datetime, datetime]]:
    commune = commune_or_error(session, commune_code)
    lat = commune.lat if lat is None else lat
    lon = commune.lon if lon is None else lon
    post = post_office_for(session, commune, lat, lon)
    return offerable_windows(session, post_office_id=post.id, lat=lat, lon=lon, day=day, now=now,
                             settings=settings)  # fmt: skip


def quote_for(
    session: Session,
    settings: Settings,
    *,
    service_option: str,
    procedure_id: int,
    commune_code: str,
    office_id: int,
    weight_g: int = 100,
    pay_fee_on_behalf: bool = False,
    exemption_code: str = "",
    exemption_proof: str = "",
) -> tuple[Quote, str]:
    """The quote shown before confirming, and its zone; the same rule ``create_booking`` uses."""
    procedure = session.get(Procedure, procedure_id)
    if procedure is None:
        raise InvalidInput(f"no procedure {procedure_id}", field="procedure_id")
    commune = commune_or_error(session, commune_code)
    office = session.get(Office, office_id)
    if office is None:
        raise InvalidInput(f"no office {office_id}", field="office_id")
    if is_cross_province(office, commune.province_code):
        refusal = cross_province_refusal(session, procedure, office, commune.province_code)
        if refusal is not None:
            raise refusal
    zone = zone_between(commune.code, commune.province_code, office.commune_code,
                        office.province_code)  # fmt: skip
    quote = make_quote(
        province_price_table(
            session, commune.province_code, load_price_table(settings.booking_price_table)
        ),
        service_option=service_option,
        zone=zone,
        weight_g=weight_g,
        admin_fee_vnd=procedure.fee_vnd,
        pay_fee_on_behalf=pay_fee_on_behalf,
        fee_transfer_vnd=settings.booking_fee_transfer_vnd,
        exemption=exemption_for(exemption_code),
        exemption_proof=exemption_proof,
    )
    return quote, zone


def booking_vietqr(settings: Settings, view: CitizenCase) -> str | None:
    """The transfer QR of a booking paid by VietQR (rebuilt from the stored terms)."""
    if view.terms is None or view.terms.payment_method != "vietqr":
        return None
    purpose = payment_purpose(view.context.case, view.dossier_code)
    return vietqr_for(settings, view.terms.total_vnd, purpose)
