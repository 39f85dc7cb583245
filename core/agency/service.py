"""Agency systems: their keys, checking their signed requests, and what they tell us.

Inbound messages (dossier received, result ready, dossier returned for supplement) act on a
case found by its dossier item ID or its agency dossier code, only within the system's
province (the national portal sees every province). Each is kept in ``agency_messages``.
Services flush; the HTTP edge owns the transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.agency.models import (
    SYSTEM_KINDS,
    AgencyApiKey,
    AgencyMessage,
    AgencySystem,
)
from core.agency.signing import (
    KEY_HEADER,
    SignedRequest,
    checked_signature,
    derived_secret,
    read_signed_headers,
    sha256_hex,
)
from core.booking.receive import Reference, register_result_for_case, waiting_case
from core.cases.models import Booking, Case
from core.custody.models import CustodyEvent, Item, ItemState
from core.custody.parties import Actor, party
from core.errors import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    Unauthorized,
    code_refusal,
)
from core.outbox.citizen import send_to_citizen
from core.papers.codes import record_dossier_code
from core.places.models import Office, Province
from core.portal.sync import note_agency_code
from core.settings import Settings
from labels.dossier_code import validate_dossier_code
from labels.errors import InvalidCode
from labels.s10 import validate_item_id

# -- systems and keys ---------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedKey:
    """Shown once to whoever sets the system up; only a hash of the secret is kept."""

    key_id: str
    secret: str


def create_system(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    province_code: str | None = None,
    webhook_url: str | None = None,
) -> AgencySystem:
    if kind not in SYSTEM_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(SYSTEM_KINDS)}", field="kind")
    if kind == "provincial_one_stop" and not province_code:
        raise InvalidInput("a provincial system needs its province code", field="province_code")
    if province_code is not None and session.get(Province, province_code) is None:
        raise InvalidInput(f"no province {province_code}", field="province_code")
    if not code.strip():
        raise InvalidInput("a system needs a code", field="code")
    if session.scalar(select(AgencySystem.id).where(AgencySystem.code == code)) is not None:
        raise Conflict(f"a system with code {code!r} exists", field="code")
    system = AgencySystem(code=code, name=name, kind=kind, province_code=province_code)
    session.add(system)
    session.flush()
    if webhook_url:
        subscribe(session, system, webhook_url)
    return system


def subscribe(session: Session, system: AgencySystem, webhook_url: str | None) -> AgencySystem:
    """Send status webhooks to ``webhook_url`` from now on (None stops them)."""
    if webhook_url is not None and not webhook_url.startswith(("https://", "http://")):
        raise InvalidInput("the webhook URL must be http(s)", field="webhook_url")
    system.webhook_url = webhook_url
    if webhook_url is not None:
        system.webhook_from_event_id = int(
            session.scalar(select(func.coalesce(func.max(CustodyEvent.id), 0))) or 0
        )
    session.flush()
    return system


def issue_key(
    session: Session, settings: Settings, system: AgencySystem, *, now: datetime
) -> IssuedKey:
    key_id = f"ak_{secrets.token_hex(12)}"
    secret = derived_secret(settings, key_id)
    session.add(
        AgencyApiKey(
            system_id=system.id, key_id=key_id, secret_sha256=sha256_hex(secret.encode()),
            created_at=now,
        )
    )  # fmt: skip
    session.flush()
    return IssuedKey(key_id=key_id, secret=secret)


def revoke_key(session: Session, key_id: str, *, now: datetime) -> None:
    key = session.scalar(select(AgencyApiKey).where(AgencyApiKey.key_id == key_id))
    if key is None:
        raise NotFound(f"no key {key_id}", field="key_id")
    key.revoked_at = now
    session.flush()


def current_key_id(session: Session, system_id: int) -> str | None:
    """The newest unrevoked key of a system: what its webhooks are signed with."""
    return session.scalar(
        select(AgencyApiKey.key_id)
        .where(AgencyApiKey.system_id == system_id, AgencyApiKey.revoked_at.is_(None))
        .order_by(AgencyApiKey.created_at.desc(), AgencyApiKey.id.desc())
        .limit(1)
    )


# -- signed requests ----------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedRequest:
    system: AgencySystem
    key_id: str
    nonce: str
    signature: str


def verify_request(
    session: Session, settings: Settings, request: SignedRequest, *, now: datetime
) -> VerifiedRequest:
    """Check key, timestamp window and signature. The nonce is spent separately
    (``core.agency.nonces.spend_nonce``)."""
    signed = read_signed_headers(
        request, window_seconds=settings.agency_signature_window_seconds, now=now
    )
    row = session.execute(
        select(AgencyApiKey, AgencySystem)
        .join(AgencySystem, AgencySystem.id == AgencyApiKey.system_id)
        .where(AgencyApiKey.key_id == signed.key_id)
    ).first()
    if row is None:
        raise Unauthorized("unknown key", field=KEY_HEADER)
    key, system = row
    if key.revoked_at is not None or not system.active:
        raise Unauthorized("this key is revoked or its system disabled", field=KEY_HEADER)
    secret = derived_secret(settings, signed.key_id)
    expected = checked_signature(secret, key.secret_sha256, request, signed)
    return VerifiedRequest(system=system, key_id=signed.key_id, nonce=signed.nonce,
                           signature=expected)  # fmt: skip


# -- inbound messages ---------------------------------------------------------------------


def system_actor(system: AgencySystem) -> Actor:
    """An agency system acts as a system actor for its own party (``agency:<code>``)."""
    return Actor(user_id=None, role="system", party=party("agency", system.code))


def find_case(
    session: Session,
    system: AgencySystem,
    *,
    item_id: str | None = None,
    agency_dossier_code: str | None = None,
) -> Case:
    """The case named by a dossier or result item ID, or by the agency dossier code."""
    if item_id:
        try:
            code = validate_item_id(item_id)
        except InvalidCode as exc:
            raise code_refusal(exc, "item_id") from exc
        case = session.scalar(
            select(Case).join(Item, Item.case_id == Case.id).where(Item.code == code)
        )
        if case is None:
            raise NotFound(f"no case carries item {code}", field="item_id")
    elif agency_dossier_code:
        normalised = _dossier_code(agency_dossier_code)
        # A citizen who filed in person and booked the return under this code waits for it.
        case = waiting_case(session, Reference(normalised, "dossier_code"),
                            province_code=system.province_code)  # fmt: skip
        if case is None:
            case = session.scalar(select(Case).where(Case.agency_dossier_code == normalised))
        if case is None:
            raise NotFound(f"no case has dossier code {normalised}", field="agency_dossier_code")
    else:
        raise InvalidInput("give item_id or agency_dossier_code", field="item_id")
    booking = session.get(Booking, case.booking_id)
    assert booking is not None
    office = session.get(Office, booking.office_id)
    assert office is not None
    # The case is the province's whose office handles it (its address may be elsewhere).
    if system.province_code is not None and office.province_code != system.province_code:
        # Another province's case is, for this system, a case that does not exist.
        raise NotFound("no such case in this system's province", field="item_id")
    return case


def _dossier_code(raw: str) -> str:
    try:
        return validate_dossier_code(raw).code
    except InvalidCode as exc:
        raise code_refusal(exc, "agency_dossier_code") from exc


def _log(
    session: Session,
    system: AgencySystem,
    kind: str,
    case: Case,
    payload: Mapping[str, Any],
    now: datetime,
    *,
    reason: str | None = None,
) -> None:
    session.add(
        AgencyMessage(
            system_id=system.id, kind=kind, case_id=case.id,
            agency_dossier_code=case.agency_dossier_code,
            appointment_date=case.appointment_date, reason=reason, payload=dict(payload),
            received_at=now,
        )
    )  # fmt: skip
    session.flush()


def dossier_received(
    session: Session,
    settings: Settings,
    system: AgencySystem,
    *,
    item_id: str,
    agency_dossier_code: str,
    appointment_date: date | None,
    payload: Mapping[str, Any],
    now: datetime,
) -> Case:
    """The agency has taken the dossier in and given it its code and appointment date."""
    case = find_case(session, system, item_id=item_id)
    normalised = _dossier_code(agency_dossier_code)
    if case.agency_dossier_code not in (None, normalised):
        raise Conflict(
            f"case {case.id} already has dossier code {case.agency_dossier_code}",
            field="agency_dossier_code",
        )
    dossier = session.get(ItemState, case.dossier_item_id) if case.dossier_item_id else None
    booking = session.get(Booking, case.booking_id)
    assert booking is not None
    office = party("office", booking.office_id)
    if dossier is None or office not in (dossier.custodian, dossier.pending_to):
        status = dossier.status if dossier else "no dossier item"
        raise InvalidTransition(
            f"the dossier has not reached the office in hoso yet ({status})", field="item_id"
        )
    record_dossier_code(
        session, settings, case, normalised, appointment_date, actor=Actor.system(),
        recorded_by=system.name, source="agency", now=now,
    )  # fmt: skip
    # The agency's act of acceptance: the one portal status change that is not a ledger event.
    note_agency_code(session, settings, case, now=now)
    _log(session, system, "dossier_received", case, payload, now)
    return case


@dataclass(frozen=True)
class ResultReady:
    case: Case
    item: Item
    created: bool


def result_ready(
    session: Session,
    settings: Settings,
    system: AgencySystem,
    *,
    item_id: str | None,
    agency_dossier_code: str | None,
    payload: Mapping[str, Any],
    now: datetime,
) -> ResultReady:
    """Register the result (issue the result item, held by the office); idempotent."""
    case = find_case(session, system, item_id=item_id, agency_dossier_code=agency_dossier_code)
    created = case.result_item_id is None
    if created:
        item = register_result_for_case(session, settings, system_actor(system), case, now=now)
    else:
        existing = session.get(Item, case.result_item_id)
        assert existing is not None
        item = existing
    _log(session, system, "result_ready", case, payload, now)
    return ResultReady(case=case, item=item, created=created)


def returned_for_supplement(
    session: Session,
    settings: Settings,
    system: AgencySystem,
    *,
    item_id: str | None,
    agency_dossier_code: str | None,
    reason: str,
    payload: Mapping[str, Any],
    now: datetime,
) -> Case:
    """The agency asks the citizen to supplement the dossier: record it and tell them by SMS."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say what must be supplemented", field="reason")
    case = find_case(session, system, item_id=item_id, agency_dossier_code=agency_dossier_code)
    booking = session.get(Booking, case.booking_id)
    assert booking is not None
    _log(session, system, "returned_for_supplement", case, payload, now, reason=reason)
    reference = case.agency_dossier_code or f"#{case.id}"
    send_to_citizen(
        session,
        phone=booking.contact_phone,
        user_id=booking.citizen_user_id,
        kind="returned_for_supplement",
        text=f"Hồ sơ {reference} cần bổ sung: {reason[:300]}. "
        "Vui lòng liên hệ bộ phận một cửa hoặc đặt lịch bưu tá đến nhận.",
        params={"case_id": case.id, "reference": reference, "reason": reason[:300]},
    )
    return case
