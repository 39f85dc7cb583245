"""Opening cases, registering results, recording the agency's dossier code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core.cases.models import Booking, Case
from core.cases.transit import cross_province_refusal
from core.custody.models import Item
from core.custody.parties import Actor, citizen_party, party
from core.custody.service import create_item
from core.errors import Conflict, InvalidInput, NotFound, code_refusal
from core.identity.service import keyed_hash
from core.outbox.citizen import send_to_citizen
from core.places.models import Commune, Office, PostOffice, Procedure, Province
from core.settings import Settings
from labels.cccd import validate_cccd
from labels.errors import InvalidCode

SERVICE_OPTIONS = ("send", "receive", "both")


@dataclass(frozen=True)
class BookingRequest:
    service_option: str
    procedure_id: int
    office_id: int
    post_office_id: int
    contact_name: str
    contact_phone: str
    address_text: str
    commune_code: str
    lat: float
    lon: float
    position_source: str
    position_accuracy_m: float
    pickup_window_start: datetime
    pickup_window_end: datetime
    cccd: str | None = None
    # What the citizen states; the ID card QR is cross-checked against them at delivery.
    citizen_birth_year: int | None = None
    citizen_sex: str | None = None
    citizen_user_id: int | None = None
    result_at_post_office: bool = False
    # An office in another province: the post office of that province its items travel
    # through (core/booking/transit.py).
    transit_post_office_id: int | None = None


def _check_transit(
    session: Session,
    procedure: Procedure,
    office: Office,
    commune: Commune,
    transit_post_office_id: int | None,
) -> None:
    """Decree 118/2025: any office of the address's province. An office of another province
    only for a procedure the catalogue lets the post carry there, through a post office of
    the office's province (core/booking/transit.py)."""
    if office.province_code == commune.province_code:
        if transit_post_office_id is not None:
            raise InvalidInput(
                "a booking within one province travels through no other province's post office",
                field="transit_post_office_id",
            )
        return
    refusal = cross_province_refusal(session, procedure, office, commune.province_code)
    if refusal is not None:
        raise refusal
    transit = (
        session.get(PostOffice, transit_post_office_id)
        if transit_post_office_id is not None
        else None
    )
    if transit is None or transit.province_code != office.province_code:
        raise InvalidInput("an office in another province is reached through a post office of "
                           "its province", field="transit_post_office_id")  # fmt: skip


def open_case(
    session: Session, settings: Settings, actor: Actor, request: BookingRequest, *, now: datetime
) -> Case:
    """Record a booking, open its case and, when a dossier travels, issue the dossier item."""
    if request.service_option not in SERVICE_OPTIONS:
        raise InvalidInput(
            f"service_option must be one of {', '.join(SERVICE_OPTIONS)}", field="service_option"
        )
    if request.pickup_window_end <= request.pickup_window_start:
        raise InvalidInput("the pickup window must end after it starts", field="pickup_window_end")
    procedure = session.get(Procedure, request.procedure_id)
    if procedure is None:
        raise InvalidInput(f"no procedure {request.procedure_id}", field="procedure_id")
    commune = session.get(Commune, request.commune_code)
    if commune is None:
        raise InvalidInput(f"no commune {request.commune_code}", field="commune_code")
    office = session.get(Office, request.office_id)
    if office is None:
        raise InvalidInput(f"no office {request.office_id}", field="office_id")
    _check_transit(session, procedure, office, commune, request.transit_post_office_id)
    if session.get(PostOffice, request.post_office_id) is None:
        raise InvalidInput(f"no post office {request.post_office_id}", field="post_office_id")
    cccd_hash = cccd_last4 = None
    if request.cccd:
        try:
            number = validate_cccd(request.cccd).number
        except InvalidCode as exc:
            raise code_refusal(exc, "cccd") from exc
        cccd_hash = keyed_hash(settings, number, purpose="cccd")
        cccd_last4 = number[-4:]

    booking = Booking(
        citizen_user_id=request.citizen_user_id,
        service_option=request.service_option,
        procedure_id=request.procedure_id,
        office_id=request.office_id,
        post_office_id=request.post_office_id,
        contact_name=request.contact_name,
        contact_phone=request.contact_phone,
        address_text=request.address_text,
        commune_code=request.commune_code,
        province_code=commune.province_code,
        lat=request.lat,
        lon=request.lon,
        position_source=request.position_source,
        position_accuracy_m=request.position_accuracy_m,
        pickup_window_start=request.pickup_window_start,
        pickup_window_end=request.pickup_window_end,
        cccd_hash=cccd_hash,
        cccd_last4=cccd_last4,
        citizen_birth_year=request.citizen_birth_year,
        citizen_sex=request.citizen_sex,
        result_at_post_office=request.result_at_post_office,
        transit_post_office_id=request.transit_post_office_id,
        # The service's clock, not the database's: the receipt states this time, and a test
        # (or a replayed import) that sets the clock must see it printed.
        created_at=now,
    )
    session.add(booking)
    session.flush()
    case = Case(booking_id=booking.id)
    session.add(case)
    session.flush()
    if request.service_option in ("send", "both"):
        item = create_item(
            session,
            kind="dossier",
            case_id=case.id,
            first_kind="booked",
            holder=citizen_party(case.id),
            actor=actor,
            occurred_at=now,
            service_indicator=settings.dossier_service_indicator,
        )
        case.dossier_item_id = item.id
    session.flush()
    return case


def register_result(
    session: Session, settings: Settings, actor: Actor, case: Case, *, now: datetime
) -> Item:
    """The office has the result: issue the result item, held by that office."""
    if case.result_item_id is not None:
        raise Conflict(
            f"case {case.id} already has a result item",
            field="case_id",
            reason="case.has_result",
            params={"case_id": case.id},
        )
    booking = session.get(Booking, case.booking_id)
    assert booking is not None
    if booking.service_option == "send":
        raise Conflict(
            "this case asked to send the dossier only", field="case_id", reason="case.send_only"
        )
    item = create_item(
        session,
        kind="result",
        case_id=case.id,
        first_kind="result_registered",
        holder=party("office", booking.office_id),
        actor=actor,
        occurred_at=now,
        service_indicator=settings.result_service_indicator,
    )
    case.result_item_id = item.id
    send_to_citizen(
        session,
        phone=booking.contact_phone,
        user_id=booking.citizen_user_id,
        kind="result_ready",
        text=f"Kết quả hồ sơ của bạn đã sẵn sàng, mã bưu gửi {item.code}. "
        f"Theo dõi: {settings.public_base_url}/t/{item.code}",
        params={"case_id": case.id, "item_code": item.code,
                "tracking_url": f"{settings.public_base_url}/t/{item.code}"},
    )  # fmt: skip
    session.flush()
    return item


@dataclass(frozen=True)
class CaseContext:
    """A case with everything printed or shown about it, read in one query."""

    case: Case
    booking: Booking
    procedure: Procedure
    office: Office
    office_commune: Commune
    post_office: PostOffice
    commune: Commune
    province: Province


def case_context(session: Session, case_id: int) -> CaseContext:
    office_commune = aliased(Commune)
    row = session.execute(
        select(Case, Booking, Procedure, Office, office_commune, PostOffice, Commune, Province)
        .join(Booking, Booking.id == Case.booking_id)
        .join(Procedure, Procedure.id == Booking.procedure_id)
        .join(Office, Office.id == Booking.office_id)
        .join(office_commune, office_commune.code == Office.commune_code)
        .join(PostOffice, PostOffice.id == Booking.post_office_id)
        .join(Commune, Commune.code == Booking.commune_code)
        .join(Province, Province.code == Booking.province_code)
        .where(Case.id == case_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no case {case_id}", field="case_id")
    return CaseContext(*row)
