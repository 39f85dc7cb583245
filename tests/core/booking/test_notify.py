"""The notifier turns ledger events and case changes into SMS, each exactly once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.booking.models import NotifierWatermark
from core.booking.notify import SETTLE, WATERMARK, notify_citizens
from core.booking.service import create_booking
from core.cases.service import register_result
from core.custody.models import CustodyEvent
from core.custody.parties import party
from core.custody.service import record_one
from core.identity.service import actor_for
from core.outbox.models import OutboxMessage
from core.papers.codes import record_dossier_code
from core.settings import Settings
from tests.core.booking.helpers import NOW, booking_input, make_area
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import make_user

PHONE = "0978123456"


def _texts(db: Session, after_id: int) -> list[str]:
    return list(
        db.scalars(
            select(OutboxMessage.payload["text"].astext)
            .where(OutboxMessage.payload["phone"].astext == PHONE, OutboxMessage.id > after_id)
            .order_by(OutboxMessage.id)
        )
    )


def _last_outbox_id(db: Session) -> int:
    return db.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)) or 0


def test_each_moment_gets_one_sms(db: Session, settings: Settings) -> None:
    area = make_area(db)
    citizen = make_user(db, "citizen", phone=PHONE)
    created = create_booking(db, settings, citizen, booking_input(area, contact_phone=PHONE),
                             now=NOW)  # fmt: skip
    case, code = created.case, created.item_code
    assert code is not None
    # Start from a watermark just before this test's events (others' events are not ours).
    first_id = db.scalar(select(CustodyEvent.id).order_by(CustodyEvent.id.desc()).limit(1))
    assert first_id is not None
    db.merge(NotifierWatermark(name=WATERMARK, last_event_id=first_id))
    db.flush()
    mark = _last_outbox_id(db)
    later = NOW + timedelta(hours=1)

    courier_user = area.couriers[0]
    case.pickup_courier_id = courier_user.id
    db.flush()
    notify_citizens(db, settings, now=later)
    texts = _texts(db, mark)
    assert len(texts) == 1 and courier_user.full_name in texts[0] and "08:00–10:00" in texts[0]

    courier = actor_for(courier_user)
    record_one(db, courier, scan("picked_up", code, details=PICKUP_DETAILS))
    desk = actor_for(make_user(db, "desk_officer", office_id=area.office.id))
    record_one(
        db, courier, scan("handover_offered", code, to_party=party("office", area.office.id))
    )
    record_one(db, desk, scan("handover_confirmed", code))
    notify_citizens(db, settings, now=later)
    texts = _texts(db, mark)
    assert len(texts) == 3
    assert "đã nhận hồ sơ" in texts[1] and code in texts[1]
    assert "bàn giao cho bộ phận một cửa" in texts[2] and "mã hồ sơ" not in texts[2]

    # The desk records the agency's code afterwards: a follow-up SMS carries it.
    record_dossier_code(
        db, settings, case, "000.A0.01.H33-261123-0001", date(2026, 12, 4), actor=desk,
        recorded_by="Cán bộ", source="desk", now=later,
    )  # fmt: skip
    notify_citizens(db, settings, now=later)
    texts = _texts(db, mark)
    assert len(texts) == 4 and "000.A0.01.H33-261123-0001" in texts[3] and "04/12/2026" in texts[3]

    result = register_result(db, settings, desk, case, now=later)
    record_one(db, courier, scan("handover_offered", result.code, to_party=courier.party))
    record_one(db, desk, scan("handover_confirmed", result.code))
    record_one(db, courier, scan("out_for_delivery", result.code))
    record_one(db, courier, scan("attempt_failed", result.code,
                                 details={"reason_code": "addressee_absent"}))  # fmt: skip
    record_one(db, courier, scan("out_for_delivery", result.code))
    record_one(db, courier, scan("delivered", result.code,
                                 evidence={"proof": "otp", "otp_verified": True}))  # fmt: skip
    notify_citizens(db, settings, now=later)
    texts = _texts(db, mark)
    # register_result sends its own "ready" SMS; then on its way, failed, on its way, delivered.
    assert len(texts) == 9, texts
    assert "sẵn sàng" in texts[4]
    assert "đang được bưu tá mang đến" in texts[5]
    assert "không thành công (người nhận vắng nhà)" in texts[6]
    assert "đang được bưu tá mang đến" in texts[7]
    assert "phát thành công" in texts[8] and f"/my/cases/{case.id}" in texts[8]

    # A second pass, and a pass that re-reads unsettled events, send nothing new.
    notify_citizens(db, settings, now=later)
    notify_citizens(db, settings, now=later + SETTLE * 2)
    assert len(_texts(db, mark)) == 9


def test_watermark_only_passes_settled_events(db: Session, settings: Settings) -> None:
    area = make_area(db)
    citizen = make_user(db, "citizen", phone=PHONE)
    last = db.scalar(select(CustodyEvent.id).order_by(CustodyEvent.id.desc()).limit(1)) or 0
    db.merge(NotifierWatermark(name=WATERMARK, last_event_id=last))
    db.flush()
    create_booking(db, settings, citizen, booking_input(area, contact_phone=PHONE), now=NOW)
    newest = db.scalar(select(CustodyEvent.id).order_by(CustodyEvent.id.desc()).limit(1))
    real_now = datetime.now(UTC)
    notify_citizens(db, settings, now=real_now)  # just recorded: not settled yet
    mark = db.get(NotifierWatermark, WATERMARK)
    assert mark is not None and mark.last_event_id == last
    notify_citizens(db, settings, now=real_now + SETTLE + timedelta(seconds=1))
    db.refresh(mark)
    assert mark.last_event_id == newest
