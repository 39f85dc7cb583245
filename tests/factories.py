"""Plain factory functions: ``make_x(session, **overrides)`` returns a flushed row."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.cases.service import BookingRequest, open_case
from core.custody.models import Item
from core.custody.parties import Actor
from core.dispatch.models import RouteStop
from core.identity.models import User
from core.identity.service import actor_for, create_user
from core.outbox.models import OutboxMessage
from core.places.models import Office, PostOffice, Procedure
from core.settings import Settings
from vntime import VN

_counter = itertools.count(1)

# Phường Kinh Bắc, Bắc Ninh: a real commune in the annex, used as the default address.
KINH_BAC = "09187"


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}-{datetime.now(UTC).strftime('%H%M%S%f')}"


def make_post_office(session: Session, **overrides: Any) -> PostOffice:
    values: dict[str, Any] = {
        "code": unique("PO"),
        "name": "Bưu cục Kinh Bắc",
        "province_code": "24",
        "commune_code": KINH_BAC,
        "address": "Số 1 Lý Thái Tổ, Phường Kinh Bắc, Tỉnh Bắc Ninh",
        "lat": 21.1820,
        "lon": 106.0610,
        "position_source": "test",
    }
    values.update(overrides)
    post = PostOffice(**values)
    session.add(post)
    session.flush()
    return post


HOME_POST_OFFICE = "PO-HOME"


def home_post_office(session: Session) -> PostOffice:
    """The post office couriers and bookings share unless a test asks for another."""
    existing = session.scalar(select(PostOffice).where(PostOffice.code == HOME_POST_OFFICE))
    return existing or make_post_office(session, code=HOME_POST_OFFICE)


def make_office(session: Session, **overrides: Any) -> Office:
    values: dict[str, Any] = {
        "code": unique("OF"),
        "name_vi": "Trung tâm Phục vụ hành chính công phường Kinh Bắc",
        "name_en": "Kinh Bac Ward Public Administration Service Centre",
        "kind": "commune_centre",
        "province_code": "24",
        "commune_code": KINH_BAC,
        "address": "Phường Kinh Bắc, Tỉnh Bắc Ninh",
        "lat": 21.1861,
        "lon": 106.0763,
        "position_source": "test",
    }
    values.update(overrides)
    office = Office(**values)
    session.add(office)
    session.flush()
    return office


def make_procedure(session: Session, **overrides: Any) -> Procedure:
    values: dict[str, Any] = {
        "slug": unique("proc-"),
        "national_code": None,
        "name_vi": "Cấp Phiếu lý lịch tư pháp",
        "name_en": "Judicial record certificate",
        "level": "province",
        "agency": "Sở Tư pháp",
        "processing_days": 10,
        "fee_vnd": 200000,
        "legal_basis": "Luật Lý lịch tư pháp 2009",
        "documents": [{"name_vi": "Tờ khai", "name_en": "Declaration", "form": "original",
                       "quantity": 1}],
    }  # fmt: skip
    values.update(overrides)
    procedure = Procedure(**values)
    session.add(procedure)
    session.flush()
    return procedure


def make_user(session: Session, role: str, **overrides: Any) -> User:
    values: dict[str, Any] = {
        "username": unique(role),
        "full_name": f"Nguyễn Văn {role}",
        "role": role,
        "password": "correct horse battery",
    }
    if role in ("courier", "dispatcher") and "post_office_id" not in overrides:
        values["post_office_id"] = home_post_office(session).id
    if role == "desk_officer" and "office_id" not in overrides:
        values["office_id"] = make_office(session).id
    values.update(overrides)
    return create_user(session, **values)


def make_actor(session: Session, role: str, **overrides: Any) -> Actor:
    return actor_for(make_user(session, role, **overrides))


def make_case(
    session: Session,
    settings: Settings,
    *,
    post_office: PostOffice | None = None,
    office: Office | None = None,
    service_option: str = "both",
    now: datetime | None = None,
    **overrides: Any,
) -> Case:
    post_office = post_office or home_post_office(session)
    office = office or make_office(session)
    start = (now or datetime.now(VN)).replace(minute=0, second=0, microsecond=0)
    values: dict[str, Any] = {
        "service_option": service_option,
        "procedure_id": make_procedure(session).id,
        "office_id": office.id,
        "post_office_id": post_office.id,
        "contact_name": "Trần Thị Hoa",
        "contact_phone": "0912345678",
        "address_text": "Số 12 Nguyễn Gia Thiều, Phường Kinh Bắc, Tỉnh Bắc Ninh",
        "commune_code": KINH_BAC,
        "lat": 21.185,
        "lon": 106.07,
        "position_source": "gps",
        "position_accuracy_m": 15.0,
        "pickup_window_start": start + timedelta(hours=1),
        "pickup_window_end": start + timedelta(hours=3),
    }
    values.update(overrides)
    return open_case(session, settings, Actor.system(), BookingRequest(**values),
                     now=now or datetime.now(VN))  # fmt: skip


def dossier_of(session: Session, case: Case) -> Item:
    assert case.dossier_item_id is not None
    item = session.get(Item, case.dossier_item_id)
    assert item is not None
    return item


def sent_code(session: Session, phone: str) -> str:
    """The six digits of the latest SMS queued for ``phone`` (the outbox is the only path)."""
    text = session.scalars(
        select(OutboxMessage.payload["text"].astext)
        .where(OutboxMessage.payload["phone"].astext == phone)
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert text is not None
    found = re.search(r"\b(\d{6})\b", text)
    assert found is not None
    return found.group(1)


def todays_stop(session: Session, courier: User, *, kind: str, sequence: int,
                start: datetime, **overrides: Any) -> RouteStop:  # fmt: skip
    """A stop on the courier's run sheet today (Vietnam's day of ``start``): two-hour window
    from ``start``, near the home post office unless ``overrides`` say otherwise."""
    values: dict[str, Any] = {
        "post_office_id": courier.post_office_id, "service_date": start.astimezone(VN).date(),
        "kind": kind, "courier_id": courier.id, "sequence": sequence, "lat": 21.18,
        "lon": 106.06, "window_start": start, "window_end": start + timedelta(hours=2),
    }  # fmt: skip
    values.update(overrides)
    stop = RouteStop(**values)
    session.add(stop)
    session.flush()
    return stop
