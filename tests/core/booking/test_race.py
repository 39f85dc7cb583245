"""Two citizens racing for the last place in a window: one gets it, the other is told."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session, sessionmaker

from core.booking.service import create_booking
from core.booking.validation import BookingInvalid
from core.db import transaction
from core.identity.models import User
from core.settings import Settings
from tests.core.booking.helpers import NOW, booking_input, make_area
from tests.factories import make_user, unique

# Phường Hồng Bàng, Hải Phòng: committed data here stays out of the other booking tests.
HONG_BANG = "11311"


def test_last_place_goes_to_exactly_one(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    one_place = settings.model_copy(update={"booking_stops_per_window": 1})
    with committing.begin() as session:
        area = make_area(session, HONG_BANG, couriers=1)
        citizens = [make_user(session, "citizen") for _ in range(2)]
        session.expunge_all()
    data = booking_input(area, address_text="5 Hoàng Văn Thụ, Phường Hồng Bàng, Hải Phòng")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def book(citizen: User) -> None:
        barrier.wait()
        try:
            with transaction(committing) as session:
                create_booking(session, one_place, session.merge(citizen), data, now=NOW)
            outcomes.append("booked")
        except BookingInvalid as exc:
            outcomes.append(next(iter(exc.messages)))

    threads = [threading.Thread(target=book, args=(c,)) for c in citizens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["booked", "pickup_window"]


def test_two_bookings_of_one_result_give_one_booking(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    with committing.begin() as session:
        area = make_area(session, HONG_BANG, couriers=2)
        citizens = [make_user(session, "citizen") for _ in range(2)]
        session.expunge_all()
    reference = f"{unique('')[-6:]}/TN".replace("-", "")
    data = booking_input(area, address_text="5 Hoàng Văn Thụ, Phường Hồng Bàng, Hải Phòng",
                         service_option="receive", receive_reference=reference)  # fmt: skip
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def book(citizen: User) -> None:
        barrier.wait()
        try:
            with transaction(committing) as session:
                create_booking(session, settings, session.merge(citizen), data, now=NOW)
            outcomes.append("booked")
        except BookingInvalid as exc:
            outcomes.append(next(iter(exc.messages)))

    threads = [threading.Thread(target=book, args=(c,)) for c in citizens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["booked", "receive_reference"]
