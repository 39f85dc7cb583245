"""Pickup windows the booking page may offer.

Two rules, both must hold. Capacity: the post office's active couriers times the stops one
courier makes in a window (``booking_stops_per_window``), minus the bookings already in it
(a cancelled booking frees its place); it is cheap, and it is also what the booking
transaction re-checks under its lock. Feasibility: the new pickup must also fit the day's
routes by insertion (``core.dispatch.service.offerable_windows``): the live plan's, or on a
day not yet planned the draft routes every booking is inserted into as it comes
(``core.dispatch.live``). A booking made less than a worker's poll ago may not be in them yet;
the capacity rule still counts it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.booking.models import BookingTerms
from core.cases.models import Booking, Case
from core.custody.models import ItemState
from core.dispatch.service import booking_slots
from core.dispatch.service import offerable_windows as dispatch_windows
from core.identity.models import User
from core.settings import Settings, get_settings
from vntime import VN

# A courier needs time to fit a new stop in: no window starting within the hour.
LEAD_TIME = timedelta(hours=1)
BOOKABLE_DAYS = 14

Window = tuple[datetime, datetime]


def candidate_windows(day: date, settings: Settings | None = None) -> list[Window]:
    # The dispatcher's windows (``Settings.booking_windows``), so that the capacity rule and
    # the live-plan check below compare the very same windows.
    return booking_slots(settings or get_settings(), day)


def _capacity(session: Session, post_office_id: int, settings: Settings | None) -> int:
    couriers = session.scalar(
        select(func.count()).where(
            User.role == "courier", User.post_office_id == post_office_id, User.active.is_(True)
        )
    )
    per_courier = settings.booking_stops_per_window if settings else 6
    return int(couriers or 0) * per_courier


def booked_windows(session: Session, post_office_id: int, day: date) -> list[Window]:
    """Live (not cancelled) bookings of the post office with a window touching ``day``."""
    start = datetime.combine(day, time(0), VN)
    rows = session.execute(
        select(Booking.pickup_window_start, Booking.pickup_window_end)
        .join(Case, Case.booking_id == Booking.id)
        .outerjoin(ItemState, ItemState.item_id == Case.dossier_item_id)
        .outerjoin(BookingTerms, BookingTerms.case_id == Case.id)
        .where(
            Booking.post_office_id == post_office_id,
            Booking.pickup_window_start < start + timedelta(days=1),
            Booking.pickup_window_end > start,
            func.coalesce(ItemState.status, "") != "cancelled",
            BookingTerms.cancelled_at.is_(None),
        )
    )
    return [(row[0], row[1]) for row in rows]


def lock_post_office_day(session: Session, post_office_id: int, day: date) -> None:
    """Serialise bookings into one post office's day, so two cannot take the last place."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(:a, :b)"),
        {"a": 0x0B00C, "b": post_office_id * 10_000 + day.toordinal() % 10_000},
    )


def offerable_windows(
    session: Session,
    *,
    post_office_id: int,
    lat: float,
    lon: float,
    day: date,
    now: datetime,
    settings: Settings | None = None,
    exclude_case_id: int | None = None,
) -> list[Window]:
    """Windows on ``day`` with courier capacity left and, once the day is planned, room in
    the live routes (``core.dispatch.service.offerable_windows``), in time order.

    ``exclude_case_id`` leaves one booking out of the count (a reschedule frees its own place).
    """
    today = now.astimezone(VN).date()
    if day < today or day > today + timedelta(days=BOOKABLE_DAYS):
        return []
    capacity = _capacity(session, post_office_id, settings)
    if capacity <= 0:
        return []
    taken = booked_windows(session, post_office_id, day)
    if exclude_case_id is not None:
        own = session.execute(
            select(Booking.pickup_window_start, Booking.pickup_window_end)
            .join(Case, Case.booking_id == Booking.id)
            .where(Case.id == exclude_case_id)
        ).first()
        if own is not None and (own[0], own[1]) in taken:
            taken.remove((own[0], own[1]))
    offered = []
    for start, end in candidate_windows(day, settings):
        if start < now + LEAD_TIME:
            continue
        used = sum(1 for s, e in taken if s < end and e > start)
        if used < capacity:
            offered.append((start, end))
    if offered:
        # A window is offered only if the booking also fits the day's routes (couriers'
        # shifts, windows, travel) by insertion, not just the head count. Every day has them
        # once it has a booking: the live plan (``core.dispatch.live``) inserts each booking
        # as it comes, into draft routes on a day whose plan has not started.
        fitting = set(
            dispatch_windows(
                session,
                post_office_id=post_office_id,
                lat=lat,
                lon=lon,
                day=day,
                now=now,
                settings=settings,
            )  # fmt: skip
        )
        offered = [w for w in offered if w in fitting]
    return offered
