"""Receive-only bookings (QĐ 45/2016/QĐ-TTg art. 5, option 2): the citizen filed in person
and asks the post only to bring the result home.

hoso never saw that dossier, so the booking names it by what the citizen holds: the agency's
dossier code (mã hồ sơ, printed on the appointment slip) or, on older slips, the slip number.
The claim is kept as given (``receive_requests``, append-only). When the office has the
result, the desk scans that reference or the agency system posts "result ready" with it, and
the result item is issued on the citizen's case: from there the return leg runs like any
other (collected at the desk, delivered on verified proof). Until then the booking waits,
shown to the citizen and listed at the desk of the office chosen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from core.booking.models import BookingTerms
from core.cases.models import Booking, Case, ReceiveRequest
from core.cases.service import register_result
from core.custody.models import Item
from core.custody.parties import Actor
from core.errors import Conflict, InvalidInput
from core.identity.models import User
from core.papers.codes import record_dossier_code
from core.places.models import Office
from core.settings import Settings
from labels.dossier_code import validate_dossier_code
from labels.errors import InvalidCode
from labels.text import mask_phone

FIELD = "receive_reference"
# Older appointment slips carry an office's own number ("125/TNHS", "TN-2026-0042"):
# letters, digits and the separators offices use, nothing a scanner or a person adds.
_SLIP_NUMBER = re.compile(r"^[0-9A-Z][0-9A-Z/\-]{2,39}$")
# A postal item ID typed where the dossier code belongs: said so, not taken as a slip.
_ITEM_ID = re.compile(r"^[A-Z]{2}[0-9]{9}[A-Z]{2}$")


class ReferenceRefused(InvalidInput):
    """A reference a receive-only booking cannot take; ``vi`` is the text for the citizen."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en, field=FIELD)
        self.vi = vi


@dataclass(frozen=True)
class Reference:
    text: str
    kind: str  # "dossier_code" or "slip_number"


def parse_reference(raw: str) -> Reference:
    """The citizen's dossier code or slip number, normalised, or ``ReferenceRefused``.

    A dossier code is recognised by its dots (``000.00.24.H05-261203-0012``) and must then be
    a valid one; anything else must look like a slip number.
    """
    text = "".join(raw.split()).upper()
    if not text:
        raise ReferenceRefused(
            "Nhập mã hồ sơ hoặc số giấy tiếp nhận và hẹn trả kết quả.",
            "Give the dossier code or the appointment slip number.",
        )
    if "." in text:
        try:
            return Reference(validate_dossier_code(text).code, "dossier_code")
        except InvalidCode as exc:
            raise ReferenceRefused(
                "Mã hồ sơ không đúng dạng 000.00.24.H05-261203-0012 (xem giấy hẹn trả kết quả).",
                f"the dossier code is not valid: {exc}",
            ) from exc
    if _ITEM_ID.match(text):
        raise ReferenceRefused(
            "Đây là mã bưu gửi, không phải mã hồ sơ; nhập mã hồ sơ trên giấy hẹn trả kết quả.",
            "this is a postal item ID, not a dossier code: give the code on the appointment slip",
        )
    if not _SLIP_NUMBER.match(text):
        raise ReferenceRefused(
            "Số giấy hẹn gồm 3 đến 40 chữ cái, chữ số, dấu / hoặc -.",
            "an appointment slip number has 3 to 40 letters, digits, '/' or '-'",
        )
    return Reference(text, "slip_number")


def _live_claims(reference: str) -> Select[Case]:
    """Receive-only bookings under this reference that are not cancelled."""
    return (
        select(Case)
        .join(ReceiveRequest, ReceiveRequest.case_id == Case.id)
        .join(Booking, Booking.id == Case.booking_id)
        .outerjoin(BookingTerms, BookingTerms.case_id == Case.id)
        .where(ReceiveRequest.reference == reference, BookingTerms.cancelled_at.is_(None))
        .order_by(Case.id.desc())
        .limit(1)
    )


def check_reference_free(session: Session, reference: Reference, office_id: int) -> None:
    """Refuse a second booking for the return of the same result.

    A dossier code is unique nationwide; a slip number only at its office. A dossier sent by
    post whose return was booked with it (option "both") is already coming home; one sent
    alone (option "send") may still have its return booked here.
    """
    query = _live_claims(reference.text)
    if reference.kind == "slip_number":
        query = query.where(ReceiveRequest.office_id == office_id)
    if session.scalar(query) is not None:
        raise ReferenceRefused(
            "Đã có lịch hẹn nhận kết quả cho mã này.",
            "the return of this result is already booked",
        )
    if reference.kind == "dossier_code":
        option = session.scalar(
            select(Booking.service_option)
            .join(Case, Case.booking_id == Booking.id)
            .where(Case.agency_dossier_code == reference.text)
        )
        if option == "both":
            raise ReferenceRefused(
                "Hồ sơ này gửi qua bưu điện và đã đặt trả kết quả tại nhà.",
                "this dossier was sent by post with its return booked",
            )


def lock_reference(session: Session, reference: Reference) -> None:
    """Serialise bookings of one reference, so two cannot both book the same result's return
    (the check runs again under the lock; cancellation lives in another table, so no unique
    index can say it)."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(:space, hashtext(:reference))"),
        {"space": 0x0B00D, "reference": reference.text},
    )


def open_receive_request(
    session: Session, case: Case, reference: Reference, *, now: datetime
) -> ReceiveRequest:
    """Record what a receive-only case waits for (after ``check_reference_free``)."""
    booking = session.get(Booking, case.booking_id)
    assert booking is not None
    if booking.service_option != "receive":
        raise Conflict("only a receive-only booking names a result to wait for", field=FIELD)
    request = ReceiveRequest(
        case_id=case.id,
        office_id=booking.office_id,
        reference=reference.text,
        reference_kind=reference.kind,
        created_at=now,
    )
    session.add(request)
    session.flush()
    return request


def waiting_case(
    session: Session,
    reference: Reference,
    *,
    office_id: int | None = None,
    province_code: str | None = None,
) -> Case | None:
    """The live receive-only case booked under this reference, within an office (the desk)
    or a province (a provincial agency system), if any."""
    query = _live_claims(reference.text)
    if office_id is not None:
        query = query.where(ReceiveRequest.office_id == office_id)
    if province_code is not None:
        # The province whose office the citizen filed at (their address may be elsewhere).
        offices = select(Office.id).where(Office.province_code == province_code)
        query = query.where(Booking.office_id.in_(offices))
    case: Case | None = session.scalar(query)
    return case


def register_result_for_case(
    session: Session, settings: Settings, actor: Actor, case: Case, *, now: datetime
) -> Item:
    """Issue the case's result item; a receive-only case booked under a dossier code gets
    that code recorded too, so the portal, the tracking page and the desk know it by it."""
    request = session.get(ReceiveRequest, case.id)
    if (
        request is not None
        and request.reference_kind == "dossier_code"
        and case.agency_dossier_code is None
        and session.scalar(select(Case.id).where(Case.agency_dossier_code == request.reference))
        is None
    ):
        # Recorded and sealed like any dossier code, by whoever registered the result.
        by_desk = actor.user_id is not None
        record_dossier_code(
            session, settings, case, request.reference, None, actor=actor,
            recorded_by=_recorder_name(session, actor), source="desk" if by_desk else "agency",
            now=now,
        )  # fmt: skip
    return register_result(session, settings, actor, case, now=now)


def _recorder_name(session: Session, actor: Actor) -> str:
    if actor.user_id is None:
        return actor.party
    name = session.scalar(select(User.full_name).where(User.id == actor.user_id))
    return name or actor.party


@dataclass(frozen=True)
class WaitingRequest:
    """A receive-only booking the office has no result for yet: what the desk lists."""

    case_id: int
    reference: str
    reference_kind: str
    citizen: str
    booked_at: datetime


def requests_waiting(session: Session, office_id: int, limit: int = 200) -> list[WaitingRequest]:
    rows = session.execute(
        select(ReceiveRequest, Booking.contact_name, Booking.contact_phone)
        .join(Case, Case.id == ReceiveRequest.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .outerjoin(BookingTerms, BookingTerms.case_id == Case.id)
        .where(
            ReceiveRequest.office_id == office_id,
            Case.result_item_id.is_(None),
            BookingTerms.cancelled_at.is_(None),
        )
        .order_by(ReceiveRequest.created_at)
        .limit(limit)
    )
    return [
        WaitingRequest(
            case_id=request.case_id,
            reference=request.reference,
            reference_kind=request.reference_kind,
            citizen=f"{name} ({mask_phone(phone)})",
            booked_at=request.created_at,
        )
        for request, name, phone in rows
    ]


def receive_request_of(session: Session, case_id: int) -> ReceiveRequest | None:
    return session.get(ReceiveRequest, case_id)
