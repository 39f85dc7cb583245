"""Recording an agency dossier code (mã hồ sơ) and appointment date: checked, sealed, kept.

A code must be plausible before it is written on a case, because the citizen, the SMS and
the national portal all use it to find the dossier: its agency part must belong to the
destination office's province (each office's level-1 codes are configurable in the
catalogue, else its province's apply), and the date it carries (the day the agency received
the dossier) can be neither after today nor long before the dossier reached the office.

Every code is a new append-only ``DossierCodeRecord``; the case's columns follow the latest
record (a trigger refuses anything else). Changing a recorded code is a correction: a new
record that supersedes the old one with a reason. Each record is sealed in the ledger.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.cases.models import Booking, Case, DossierCodeRecord
from core.custody.models import CustodyEvent, Item
from core.custody.parties import Actor, party
from core.custody.sealing import RECORD_DOSSIER_CODE, content_hash, day, moment, seal
from core.errors import Conflict, InvalidInput, code_refusal
from core.places.models import Office
from core.settings import Settings
from labels.dossier_code import DossierCode, validate_dossier_code
from labels.errors import InvalidCode
from vntime import VN

_NEXT_RECORD_ID = text("SELECT nextval(pg_get_serial_sequence('dossier_code_records', 'id'))")
APPOINTMENT_ADDED = "bổ sung ngày hẹn trả kết quả / appointment date added"


@cache
def province_agency_codes() -> dict[str, tuple[str, ...]]:
    """The reference table of level-1 agency codes per province."""
    raw = resources.files("core.reference").joinpath("data", "agency_codes.json")
    data = json.loads(raw.read_text(encoding="utf-8"))
    return {province: tuple(codes) for province, codes in data["provinces"].items()}


def office_agency_codes(office: Office) -> tuple[str, ...]:
    return tuple(office.agency_codes or ()) or province_agency_codes().get(office.province_code, ())


def _codes_elsewhere(session: Session, province_code: str) -> set[str]:
    """Level-1 codes known to belong to other provinces (their offices' or the table's)."""
    known = {
        code
        for province, codes in province_agency_codes().items()
        if province != province_code
        for code in codes
    }
    for codes in session.scalars(
        select(Office.agency_codes).where(Office.province_code != province_code)
    ):
        known.update(codes or ())
    return known


def _reached_office_on(session: Session, case: Case, office: Office) -> date | None:
    """The day (Vietnam time) the dossier was first offered or confirmed to the office."""
    if case.dossier_item_id is None:
        return None
    first = session.scalar(
        select(func.min(CustodyEvent.occurred_at)).where(
            CustodyEvent.item_id == case.dossier_item_id,
            CustodyEvent.kind.in_(("handover_offered", "handover_confirmed")),
            CustodyEvent.to_party == party("office", office.id),
        )
    )
    return first.astimezone(VN).date() if first is not None else None


def check_plausible(
    session: Session,
    settings: Settings,
    case: Case,
    office: Office,
    code: DossierCode,
    appointment: date | None,
    *,
    now: datetime,
) -> None:
    """Refuse a code that cannot be this dossier's at this office, naming the field."""
    allowed = office_agency_codes(office)
    agency = code.province_agency
    if allowed and agency not in allowed:
        raise InvalidInput(
            f"the code's agency {agency} is not {office.name_vi}'s ({', '.join(allowed)})",
            field="agency_dossier_code",
            reason="papers.agency_not_office",
            params={"code": code.code, "agency": agency, "office": office.name_vi,
                    "allowed": ", ".join(allowed)},
        )  # fmt: skip
    if not allowed and agency in _codes_elsewhere(session, office.province_code):
        raise InvalidInput(
            f"the code's agency {agency} belongs to another province",
            field="agency_dossier_code",
            reason="papers.agency_other_province",
            params={"code": code.code, "agency": agency},
        )
    today = now.astimezone(VN).date()
    if code.received_on > today:
        raise InvalidInput(
            f"the code's date ({code.received_on:%d/%m/%Y}) is in the future",
            field="agency_dossier_code",
            reason="papers.code_date_future",
            params={"date": f"{code.received_on:%d/%m/%Y}"},
        )
    reached = _reached_office_on(session, case, office) or today
    oldest = reached - timedelta(days=settings.dossier_code_max_age_days)
    if code.received_on < oldest:
        raise InvalidInput(
            f"the code's date ({code.received_on:%d/%m/%Y}) is more than "
            f"{settings.dossier_code_max_age_days} days before the hand-over "
            f"({reached:%d/%m/%Y})",
            field="agency_dossier_code",
            reason="papers.code_date_too_old",
            params={"date": f"{code.received_on:%d/%m/%Y}", "reached": f"{reached:%d/%m/%Y}",
                    "days": settings.dossier_code_max_age_days},
        )  # fmt: skip
    if appointment is not None and appointment < code.received_on:
        raise InvalidInput(
            "the appointment cannot be before the dossier was received",
            field="appointment_date",
            reason="case.appointment_before_receipt",
        )


def dossier_code_content(row: DossierCodeRecord) -> dict[str, Any]:
    return {
        "record": RECORD_DOSSIER_CODE,
        "id": row.id,
        "case_id": row.case_id,
        "office_id": row.office_id,
        "agency_dossier_code": row.agency_dossier_code,
        "appointment_date": day(row.appointment_date),
        "supersedes_id": row.supersedes_id,
        "reason": row.reason,
        "source": row.source,
        "recorded_by_user_id": row.recorded_by_user_id,
        "recorded_by_label": row.recorded_by_label,
        "recorded_at": moment(row.recorded_at),
    }


def latest_record(session: Session, case_id: int) -> DossierCodeRecord | None:
    return session.scalar(
        select(DossierCodeRecord)
        .where(DossierCodeRecord.case_id == case_id)
        .order_by(DossierCodeRecord.id.desc())
        .limit(1)
    )


def records_of(session: Session, case_id: int) -> list[DossierCodeRecord]:
    """Every code recorded for a case, oldest first: the printable history."""
    return list(
        session.scalars(
            select(DossierCodeRecord)
            .where(DossierCodeRecord.case_id == case_id)
            .order_by(DossierCodeRecord.id)
        )
    )


def record_dossier_code(
    session: Session,
    settings: Settings,
    case: Case,
    raw_code: str,
    appointment: date | None,
    *,
    actor: Actor,
    recorded_by: str,
    source: str,
    now: datetime,
    reason: str | None = None,
) -> Case:
    """Check, record and seal a dossier code (and appointment date) for ``case``.

    The same code and date again change nothing. Another code, or another appointment date,
    is a correction and needs ``reason``; an appointment date given for the first time is
    an addition and needs none.
    """
    try:
        code = validate_dossier_code(raw_code)
    except InvalidCode as exc:
        raise code_refusal(exc, "agency_dossier_code") from exc
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > 500:
        raise InvalidInput("the reason is at most 500 characters", field="reason",
                           reason="papers.reason_too_long")  # fmt: skip
    # Two desks (or the desk and the agency's system) recording at once take turns: each
    # correction must name the record it supersedes.
    session.execute(select(Case.id).where(Case.id == case.id).with_for_update())
    booking = session.get(Booking, case.booking_id)
    assert booking is not None
    office = session.get(Office, booking.office_id)
    assert office is not None
    other = session.scalar(select(Case.id).where(Case.agency_dossier_code == code.code))
    if other is not None and other != case.id:
        raise Conflict(f"{code.code} is already recorded on case {other}",
                       field="agency_dossier_code", reason="case.dossier_code_taken",
                       params={"code": code.code, "case_id": other})  # fmt: skip
    latest = latest_record(session, case.id)
    current = (
        (latest.agency_dossier_code, latest.appointment_date)
        if latest is not None
        else (case.agency_dossier_code, case.appointment_date)
    )
    if current == (code.code, appointment):
        return case
    if current[0] is not None:
        adding_date = current[0] == code.code and current[1] is None
        if adding_date:
            reason = reason or APPOINTMENT_ADDED
        elif reason is None:
            raise Conflict(
                f"the case already has code {current[0]}: a recorded code or date is changed "
                "only by a correction with a reason",
                field="reason",
                reason="papers.correction_needs_reason",
                params={"code": current[0]},
            )
    check_plausible(session, settings, case, office, code, appointment, now=now)
    row = DossierCodeRecord(
        id=int(session.execute(_NEXT_RECORD_ID).scalar_one()),
        case_id=case.id,
        office_id=office.id,
        agency_dossier_code=code.code,
        appointment_date=appointment,
        supersedes_id=latest.id if latest is not None else None,
        reason=reason if current[0] is not None else None,
        source=source,
        recorded_by_user_id=actor.user_id,
        recorded_by_label=recorded_by,
        recorded_at=now,
        content_sha256="",
    )
    row.content_sha256 = content_hash(dossier_code_content(row))
    session.add(row)
    session.flush()
    case.agency_dossier_code = code.code
    case.appointment_date = appointment
    session.flush()
    # The record is sealed on the dossier (a receive-only case has only its result).
    sealed_on = case.dossier_item_id or case.result_item_id
    item_code = session.scalar(select(Item.code).where(Item.id == sealed_on)) if sealed_on else None
    seal(
        session,
        actor,
        record_kind=RECORD_DOSSIER_CODE,
        ref=str(row.id),
        content_sha256=row.content_sha256,
        item_codes=[item_code] if item_code else [],
        now=now,
        shown={
            "agency_dossier_code": row.agency_dossier_code,
            "appointment_date": row.appointment_date.isoformat() if row.appointment_date else None,
        },
    )
    return case
