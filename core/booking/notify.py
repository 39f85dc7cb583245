"""Messages to citizens at the moments that matter, without touching the ledger's code.

Each goes on the citizen's chosen channel (SMS, Zalo, email: ``core.outbox.citizen``).

Why a reader and not a hook inside ``core.custody``: the ledger's hot path stays one
batched write with no knowledge of SMS, and every event — whichever app, phone or import
wrote it — is seen, because the notifier reads the ledger itself. It runs in the worker:
each pass reads custody events above an id watermark, and two small queries over cases pick
up what is not a ledger event (a courier assigned; the agency dossier code recorded).

Identity values are handed out in order but committed in any order, so an event with a
lower id can appear after a higher one was read. The watermark therefore only advances over
events older than ``SETTLE`` (longer than any request transaction); newer ones are re-read
next pass, and the unique ``citizen_notices`` key makes the re-read send nothing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, String, and_, cast, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased, sessionmaker

from core.booking.models import CitizenNotice, NotifierWatermark
from core.cases.models import Booking, Case
from core.courier.doorstep import ATTEMPT_FAILURE_REASONS
from core.custody.models import CustodyEvent, Item, ItemState
from core.custody.receipts import receipt_url
from core.db import transaction
from core.dispatch.models import CitizenPlanTold, RouteStop
from core.dispatch.reasons import WINDOW_PASSED
from core.identity.models import User
from core.outbox.citizen import send_to_citizen
from core.settings import Settings
from vntime import in_vietnam, vn_date, vn_time

log = logging.getLogger(__name__)

WATERMARK = "citizen_sms"
SETTLE = timedelta(seconds=60)
BATCH = 500
# Cases older than this are not scanned for assignments or codes (keeps the scan small).
CASE_HORIZON = timedelta(days=60)


def _claim(session: Session, case_id: int, kind: str, ref: str) -> bool:
    """Record the notice; False if it was already sent (by this or an earlier pass)."""
    inserted = session.execute(
        insert(CitizenNotice)
        .values(case_id=case_id, kind=kind, ref=ref)
        .on_conflict_do_nothing(index_elements=["case_id", "kind", "ref"])
        .returning(CitizenNotice.id)
    ).first()
    return inserted is not None


def _send(session: Session, booking: Booking, kind: str, text: str, **params: object) -> None:
    """On the citizen's chosen channel; ``params`` fill the kind's Zalo ZNS template."""
    send_to_citizen(session, phone=booking.contact_phone, kind=kind, text=text, params=params,
                    user_id=booking.citizen_user_id)  # fmt: skip


def _event_text(
    settings: Settings, event: CustodyEvent, item: Item, case: Case, booking: Booking
) -> tuple[str, str] | None:
    """(notice kind, SMS text) for a ledger event a citizen should hear about, else None."""
    url = f"{settings.public_base_url.rstrip('/')}/t/{item.code}"
    if event.kind == "picked_up" and item.kind == "dossier":
        # Taken at the post office's counter (core/counter/reception.py), not at the door.
        who = (
            "Bưu cục đã nhận tại quầy" if event.actor_role == "counter_clerk" else "Bưu tá đã nhận"
        )
        return "picked_up", (
            f"{who} hồ sơ #{case.id} (mã bưu gửi {item.code}) và niêm phong. "
            f"Theo dõi: {url} Biên nhận: {receipt_url(settings, event.event_id)}"
        )
    if (
        event.kind == "handover_confirmed"
        and item.kind == "dossier"
        and (event.to_party or "").startswith("office:")
    ):
        code = f", mã hồ sơ {case.agency_dossier_code}" if case.agency_dossier_code else ""
        return "handed_over", (
            f"Hồ sơ #{case.id} đã được bàn giao cho bộ phận một cửa{code}. Theo dõi: {url}"
        )
    if event.kind == "out_for_delivery" and item.kind == "result":
        return "out_for_delivery", (
            f"Kết quả hồ sơ #{case.id} đang được bưu tá mang đến bạn (mã bưu gửi {item.code})."
        )
    if event.kind == "delivered" and item.kind == "result":
        return "delivered", (
            f"Kết quả hồ sơ #{case.id} đã được phát thành công. Mời bạn đánh giá dịch vụ: "
            f"{settings.public_base_url.rstrip('/')}/my/cases/{case.id} "
            f"Biên nhận: {receipt_url(settings, event.event_id)}"
        )
    if event.kind == "attempt_failed" and item.kind == "result":
        # The couriers' reason table (what the phone offers) is the one vocabulary.
        label = ATTEMPT_FAILURE_REASONS.get(str(event.details.get("reason_code", "")))
        reason = label[0].lower() if label else ""
        why = f" ({reason})" if reason else ""
        return "attempt_failed", (
            f"Phát kết quả hồ sơ #{case.id} không thành công{why}. Bưu tá sẽ liên hệ để hẹn "
            "lại; bạn có thể gọi bưu cục."
        )
    return None


def _notify_events(session: Session, settings: Settings, now: datetime) -> int:
    mark = session.get(NotifierWatermark, WATERMARK, with_for_update=True)
    if mark is None:
        session.execute(
            insert(NotifierWatermark)
            .values(name=WATERMARK, last_event_id=0)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        mark = session.get(NotifierWatermark, WATERMARK, with_for_update=True)
        assert mark is not None
    rows = session.execute(
        select(CustodyEvent, Item, Case, Booking)
        .join(Item, Item.id == CustodyEvent.item_id)
        .join(Case, Case.id == Item.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .where(CustodyEvent.id > mark.last_event_id)
        .order_by(CustodyEvent.id)
        .limit(BATCH)
    ).all()
    sent = 0
    settled = mark.last_event_id
    all_settled = True
    for event, item, case, booking in rows:
        found = _event_text(settings, event, item, case, booking)
        if found is not None:
            kind, text = found
            if _claim(session, case.id, kind, str(event.id)):
                tracking_url = f"{settings.public_base_url.rstrip('/')}/t/{item.code}"
                _send(session, booking, kind, text, case_id=case.id, item_code=item.code,
                      tracking_url=tracking_url)  # fmt: skip
                sent += 1
                if kind == "handed_over" and case.agency_dossier_code:
                    _claim(session, case.id, "agency_code", case.agency_dossier_code)
        if all_settled and event.recorded_at <= now - SETTLE:
            settled = event.id
        else:
            all_settled = False
    mark.last_event_id = settled
    mark.updated_at = now
    return sent


def _notify_assignments(session: Session, now: datetime) -> int:
    """Tell the citizen who comes and when, only when that differs from what they were told.

    ``citizen_plan_told`` keeps, per case, the courier and window of the last message; the
    plan may change couriers many times a day (insertions, re-optimisations, a dispatcher's
    move), but the citizen hears of it only when a pass finds their courier or window
    different from that row, once per change. A moved booking's own SMS updates the row's
    window (``record_told_window``), so a new window is not announced twice.
    """
    told = aliased(CitizenPlanTold)
    rows = session.execute(
        select(Case, Booking, User.full_name, told)
        .join(Booking, Booking.id == Case.booking_id)
        .join(User, User.id == Case.pickup_courier_id)
        .join(ItemState, ItemState.item_id == Case.dossier_item_id)
        .outerjoin(told, told.case_id == Case.id)
        .where(
            Case.pickup_courier_id.is_not(None),
            ItemState.status == "booked",
            # Only a window still to come is worth a message (and keeps the scan small).
            Booking.pickup_window_end > now,
            or_(
                told.case_id.is_(None),
                told.courier_id.is_distinct_from(Case.pickup_courier_id),
                told.window_start != Booking.pickup_window_start,
                told.window_end != Booking.pickup_window_end,
            ),
        )
        .order_by(Case.id)
        .limit(BATCH)
        .with_for_update(of=Case, skip_locked=True)
    ).all()
    sent = 0
    for case, booking, courier_name, _ in rows:
        window = f"{vn_time(booking.pickup_window_start)}–{vn_time(booking.pickup_window_end)}"
        day = vn_date(booking.pickup_window_start)
        message = send_to_citizen(
            session, phone=booking.contact_phone, kind="courier_assigned",
            text=f"Bưu tá {courier_name} sẽ đến nhận hồ sơ #{case.id} trong khung giờ "
                 f"{window} ngày {day}.",
            params={"case_id": case.id, "courier_name": courier_name, "window": window,
                    "date": day},
            user_id=booking.citizen_user_id,
        )  # fmt: skip
        _record_told(session, case.id, case.pickup_courier_id, booking, now, message.id)
        sent += 1
    return sent


def _record_told(
    session: Session,
    case_id: int,
    courier_id: int | None,
    booking: Booking,
    now: datetime,
    message_id: int | None,
) -> None:
    values = {
        "courier_id": courier_id,
        "window_start": booking.pickup_window_start,
        "window_end": booking.pickup_window_end,
        "told_at": now,
        "outbox_message_id": message_id,
    }
    session.execute(
        insert(CitizenPlanTold)
        .values(case_id=case_id, **values)
        .on_conflict_do_update(index_elements=["case_id"], set_=values)
    )


def record_told_window(
    session: Session, case_id: int, booking: Booking, now: datetime, message_id: int
) -> None:
    """The citizen was just told a new window (they moved the booking): remember it, with
    the courier they were told before. A courier other than that one (or a first one: the
    message named none) is still worth a message of its own."""
    previous = session.get(CitizenPlanTold, case_id)
    courier_id = previous.courier_id if previous is not None else None
    _record_told(session, case_id, courier_id, booking, now, message_id)


def _notify_agency_codes(session: Session, now: datetime) -> int:
    """The desk recorded the agency dossier code after the hand-over SMS went out."""
    rows = session.execute(
        select(Case, Booking)
        .join(Booking, Booking.id == Case.booking_id)
        .join(ItemState, ItemState.item_id == Case.dossier_item_id)
        .where(
            Case.agency_dossier_code.is_not(None),
            ItemState.status == "handed_over",
            Case.created_at > now - CASE_HORIZON,
            ~exists().where(
                and_(CitizenNotice.case_id == Case.id, CitizenNotice.kind == "agency_code")
            ),
        )
        .limit(BATCH)
    ).all()
    sent = 0
    for case, booking in rows:
        assert case.agency_dossier_code is not None
        if not _claim(session, case.id, "agency_code", case.agency_dossier_code):
            continue
        due = (
            f", hẹn trả kết quả ngày {vn_date(case.appointment_date)}"
            if case.appointment_date
            else ""
        )
        _send(session, booking, "agency_code",
              f"Bộ phận một cửa đã tiếp nhận hồ sơ #{case.id}, mã hồ sơ "
              f"{case.agency_dossier_code}{due}.", case_id=case.id,
              dossier_code=case.agency_dossier_code,
              appointment_date=vn_date(case.appointment_date))  # fmt: skip
        sent += 1
    return sent


def _notify_missed_windows(session: Session, settings: Settings, now: datetime) -> int:
    """The live plan gave up a pickup whose window the courier can no longer keep: say so
    at once, with the link to choose another window, rather than let the citizen wait in.

    Once per booked window (the notice's ref): a citizen who moves the booking and is
    missed again hears of it again; a plan that keeps the stop unassigned pass after pass
    sends nothing more."""
    rows = session.execute(
        select(Case, Booking)
        .join(Booking, Booking.id == Case.booking_id)
        .join(RouteStop, RouteStop.case_id == Case.id)
        .join(ItemState, ItemState.item_id == Case.dossier_item_id)
        .where(
            RouteStop.kind == "home_pickup",
            RouteStop.status == "planned",
            RouteStop.courier_id.is_(None),
            RouteStop.unassigned_reason == WINDOW_PASSED,
            # The stop is of the window the booking still holds (not a day it moved from).
            RouteStop.window_start == Booking.pickup_window_start,
            ItemState.status == "booked",
            Booking.pickup_window_end > now - CASE_HORIZON,
            ~exists().where(
                and_(
                    CitizenNotice.case_id == Case.id,
                    CitizenNotice.kind == "window_missed",
                    CitizenNotice.ref
                    == cast(
                        cast(func.extract("epoch", Booking.pickup_window_start), BigInteger), String
                    ),  # fmt: skip
                )
            ),
        )
        .order_by(Case.id)
        .limit(BATCH)
    ).all()
    sent = 0
    for case, booking in rows:
        ref = str(int(booking.pickup_window_start.timestamp()))
        if not _claim(session, case.id, "window_missed", ref):
            continue
        window = f"{vn_time(booking.pickup_window_start)}–{vn_time(booking.pickup_window_end)}"
        day = vn_date(booking.pickup_window_start)
        link = f"{settings.public_base_url.rstrip('/')}/my/cases/{case.id}"
        _send(session, booking, "window_missed",
              f"Rất tiếc, bưu tá không kịp đến nhận hồ sơ #{case.id} trong khung giờ {window} "
              f"ngày {day}. Mời bạn chọn khung giờ khác: {link} hoặc gọi bưu cục.",
              case_id=case.id, window=window, date=day, link=link)  # fmt: skip
        sent += 1
    return sent


def _notify_delivery_plans(session: Session, settings: Settings, now: datetime) -> int:
    """Tell the citizen which courier brings their result today and in which window, and
    again only when the plan gives it to another courier (the window is the booking's own
    time of day, so it does not move).

    The notices' refs are ``<day>|<courier id>|<n>``: the latest one names whom the citizen
    heard of, so a courier taken away and given back between two passes sends nothing, and
    one given back after the citizen heard of another is told again (n keeps refs unique)."""
    latest = (
        select(CitizenNotice.ref)
        .where(CitizenNotice.case_id == Case.id, CitizenNotice.kind == "delivery_planned")
        .order_by(CitizenNotice.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    told = func.concat(RouteStop.service_date, "|", RouteStop.courier_id, "|%")
    today = in_vietnam(now).date()
    rows = session.execute(
        select(Case, Booking, RouteStop, User.full_name, Item.code, latest)
        .join(Booking, Booking.id == Case.booking_id)
        .join(RouteStop, RouteStop.case_id == Case.id)
        .join(User, User.id == RouteStop.courier_id)
        .join(Item, Item.id == Case.result_item_id)
        .join(ItemState, ItemState.item_id == Case.result_item_id)
        .where(
            RouteStop.service_date == today,
            RouteStop.kind == "home_delivery",
            RouteStop.status == "planned",
            RouteStop.window_end > now,
            # Not yet on its way: "out for delivery" is a message of its own.
            ItemState.status.in_(("result_registered", "collected")),
            func.coalesce(latest, "").not_like(told),
        )
        .order_by(Case.id)
        .limit(BATCH)
    ).all()
    sent = 0
    for case, booking, stop, courier_name, item_code, last_ref in rows:
        # One more than the latest notice's n (refs are "<day>|<courier id>|<n>").
        n = int(last_ref.rsplit("|", 1)[1]) + 1 if last_ref else 1
        ref = f"{stop.service_date.isoformat()}|{stop.courier_id}|{n}"
        if not _claim(session, case.id, "delivery_planned", ref):
            continue
        window = f"{vn_time(stop.window_start)}–{vn_time(stop.window_end)}"
        day = vn_date(stop.window_start)
        url = f"{settings.public_base_url.rstrip('/')}/t/{item_code}"
        _send(session, booking, "delivery_planned",
              f"Bưu tá {courier_name} sẽ phát kết quả hồ sơ #{case.id} trong khung giờ {window} "
              f"ngày {day}. Theo dõi: {url}",
              case_id=case.id, courier_name=courier_name, window=window, date=day,
              tracking_url=url)  # fmt: skip
        sent += 1
    return sent


def notify_citizens(session: Session, settings: Settings, *, now: datetime) -> int:
    """One pass; returns how many SMS were queued. The caller owns the transaction."""
    sent = _notify_events(session, settings, now)
    sent += _notify_assignments(session, now)
    sent += _notify_missed_windows(session, settings, now)
    sent += _notify_delivery_plans(session, settings, now)
    sent += _notify_agency_codes(session, now)
    session.flush()
    if sent:
        log.info("booking.citizens_notified", extra={"count": sent})
    return sent


def notify_pass(factory: sessionmaker[Session], settings: Settings, *, now: datetime) -> int:
    with transaction(factory) as session:
        return notify_citizens(session, settings, now=now)
