"""Complaints: a citizen complains about one of their cases; a province supervisor (or an
admin) answers it. The answer is due ``complaint_days`` after filing (the province's or the
office's own target, else the setting); the roll-up counts it on the day it is answered, and
an unanswered one past its due time is in the "late now" list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import may_answer_complaint
from core.booking.service import citizen_case
from core.cases.models import Booking, Case
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.identity.models import User
from core.outbox.citizen import send_to_citizen
from core.places.models import PostOffice
from core.settings import Settings
from core.sla.models import Complaint
from core.sla.rollup import refresh
from core.sla.targets import TargetBook

MAX_TEXT = 2000


def _text(value: str | None, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput("write what went wrong", field=field, reason="sla.complaint_empty")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"at most {MAX_TEXT:,} characters", field=field,
                           reason="sla.complaint_too_long", params={"most": MAX_TEXT})  # fmt: skip
    return text


def file_complaint(
    session: Session, settings: Settings, citizen: User, case_id: int, text: str, *, now: datetime
) -> Complaint:
    citizen_case(session, citizen, case_id)  # NotFound for anyone else's case
    body = _text(text, "text")
    province, office = session.execute(
        select(PostOffice.province_code, Booking.office_id)
        .join(Booking, Booking.post_office_id == PostOffice.id)
        .join(Case, Case.booking_id == Booking.id)
        .where(Case.id == case_id)
    ).one()
    days = TargetBook.load(session, settings).for_place(province, office).complaint_days
    complaint = Complaint(case_id=case_id, citizen_user_id=citizen.id, text=body,
                          created_at=now, due_at=now + timedelta(days=days))  # fmt: skip
    session.add(complaint)
    session.flush()
    refresh(session, settings, complaints=[complaint.id], now=now)
    return complaint


def answer_complaint(
    session: Session,
    settings: Settings,
    user: User,
    complaint_id: int,
    answer: str,
    *,
    now: datetime,
) -> Complaint:
    if user.role not in ("admin", "province_supervisor"):
        raise Forbidden("complaints are answered by the province supervisor", field="role")
    complaint = session.get(Complaint, complaint_id, with_for_update=True)
    if complaint is None or not may_answer_complaint(session, user, complaint.case_id):
        raise NotFound(f"no complaint {complaint_id}", field="complaint_id")
    if complaint.answered_at is not None:
        raise Conflict("this complaint is already answered", field="complaint_id",
                       reason="sla.complaint_answered")  # fmt: skip
    complaint.answer = _text(answer, "answer")
    complaint.answered_at, complaint.answered_by_user_id = now, user.id
    booking = session.scalar(
        select(Booking)
        .join(Case, Case.booking_id == Booking.id)
        .where(Case.id == complaint.case_id)
    )
    assert booking is not None
    # The citizen hears the answer on their channel, through the outbox like every message.
    send_to_citizen(session, phone=booking.contact_phone, user_id=booking.citizen_user_id,
                    kind="complaint_answered",
                    text=f"Trả lời khiếu nại về hồ sơ #{complaint.case_id}: {complaint.answer}",
                    params={"case_id": complaint.case_id, "answer": complaint.answer})  # fmt: skip
    session.flush()
    refresh(session, settings, complaints=[complaint.id], now=now)
    return complaint


@dataclass(frozen=True)
class ComplaintRow:
    id: int
    case_id: int
    text: str
    created_at: datetime
    due_at: datetime
    answer: str | None
    answered_at: datetime | None


def complaints_of_province(
    session: Session, province_code: str, *, limit: int = 50
) -> list[ComplaintRow]:
    """Unanswered first (oldest due first), then the latest answered."""
    rows = session.scalars(
        select(Complaint)
        .join(Case, Case.id == Complaint.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .join(PostOffice, PostOffice.id == Booking.post_office_id)
        .where(PostOffice.province_code == province_code)
        .order_by(Complaint.answered_at.is_not(None), Complaint.due_at, Complaint.id.desc())
        .limit(limit)
    ).all()
    return [ComplaintRow(c.id, c.case_id, c.text, c.created_at, c.due_at, c.answer,
                         c.answered_at) for c in rows]  # fmt: skip
