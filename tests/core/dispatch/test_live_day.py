"""A live day driven in order, through the same services the pages and phones call.

Planned at 07:00; then 20 bookings arrive, 3 are cancelled, 5 results are registered and 2
delivery attempts fail, while the couriers work their routes. Nobody presses "re-plan": each
change reaches the plan through the ledger reader and the outbox (``core.dispatch.live``),
the independent checker (``tests/core/dispatch/checks.py``, rows only) passes after every
change, and each citizen's messages are exactly those their changes warrant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.booking.notify import notify_citizens
from core.booking.service import cancel_booking, create_booking, reschedule_booking
from core.booking.slots import offerable_windows
from core.cases.models import Booking, Case
from core.cases.service import register_result
from core.custody.models import CustodyEvent, Item
from core.custody.parties import party
from core.custody.service import record_one
from core.dispatch.live import LIVE_TOPIC, apply_update, ledger_pass, started_plan
from core.dispatch.models import CitizenPlanTold, DispatchLiveCursor, DispatchPlan, RouteStop
from core.dispatch.reasons import CODES, WINDOW_PASSED
from core.dispatch.service import move_stop, plan_day
from core.identity.models import User
from core.identity.service import actor_for
from core.outbox.models import OutboxMessage
from core.outbox.senders import default_handlers
from core.outbox.service import Handler, InTransaction, deliver_due
from core.settings import Settings
from tests.core.booking.helpers import Area, booking_input, make_area
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.core.dispatch.checks import saved_plan_violations
from tests.factories import make_case, make_user
from vntime import VN

DAY = date(2031, 3, 11)  # a Tuesday, after any real "today" of these tests


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=VN)


class LiveDay:
    """The test's world: the area, its citizens, and one "tick" of the worker."""

    def __init__(self, db: Session, settings: Settings, area: Area) -> None:
        self.db = db
        self.settings = settings
        self.area = area
        self.post_id = area.post_office.id
        self.desk = actor_for(make_user(db, "desk_officer", office_id=area.office.id))
        self.citizens: dict[int, User] = {}  # case id -> citizen
        # The worker's transactions are savepoints of the test's own (rolled back at the end).
        self.factory = sessionmaker(bind=db.connection(), join_transaction_mode="create_savepoint",
                                    expire_on_commit=False)  # fmt: skip
        handlers: dict[str, Handler | InTransaction] = {**default_handlers(),
                                                        LIVE_TOPIC: apply_update}  # fmt: skip
        self.handlers = handlers
        self.serial = 0

    def tick(self, now: datetime) -> None:
        """One round of the worker: ledger reader, outbox, notifier, outbox again."""
        self.db.flush()
        ledger_pass(self.factory, self.settings, now=now)
        deliver_due(self.factory, self.settings, self.handlers, now=now, limit=500)
        with self.factory() as session, session.begin():
            notify_citizens(session, self.settings, now=now)
        deliver_due(self.factory, self.settings, self.handlers, now=now, limit=500)
        self.db.expire_all()
        # Every change was applied, none is waiting for a retry.
        stuck = list(self.db.execute(select(OutboxMessage.id, OutboxMessage.last_error).where(
            OutboxMessage.topic == LIVE_TOPIC, OutboxMessage.status != "delivered")))  # fmt: skip
        assert stuck == [], stuck
        violations = saved_plan_violations(self.db, self.settings, self.post_id, DAY)
        assert violations == [], violations

    def book(self, now: datetime, *, nth_window: int = 0) -> Case:
        self.serial += 1
        phone = f"0978{self.serial:06d}"
        citizen = make_user(self.db, "citizen", phone=phone)
        windows = offerable_windows(self.db, post_office_id=self.post_id,
                                    lat=self.area.commune.lat, lon=self.area.commune.lon,
                                    day=DAY, now=now, settings=self.settings)  # fmt: skip
        assert windows, f"no window offered at {now}"
        start = windows[min(nth_window, len(windows) - 1)][0]
        created = create_booking(
            self.db, self.settings, citizen,
            booking_input(self.area, contact_phone=phone, window_start=start), now=now,
        )  # fmt: skip
        self.citizens[created.case.id] = citizen
        return created.case

    def stops(self, case_id: int | None = None) -> list[RouteStop]:
        query = select(RouteStop).where(
            RouteStop.post_office_id == self.post_id, RouteStop.service_date == DAY
        )
        if case_id is not None:
            query = query.where(RouteStop.case_id == case_id)
        return list(self.db.scalars(query.order_by(RouteStop.id)))

    def item(self, item_id: int | None) -> Item:
        found = self.db.get(Item, item_id)
        assert found is not None
        return found

    def work_until(self, now: datetime, *, skip_deliveries: set[int]) -> None:
        """Couriers finish every planned stop whose service (from its ETA) is over by ``now``,
        in ETA order; the scan is recorded when the service ends."""

        def end(s: RouteStop) -> datetime:
            assert s.eta is not None
            return s.eta + timedelta(minutes=s.service_minutes)

        due = [s for s in self.stops() if s.status == "planned" and s.courier_id is not None
               and s.eta is not None and end(s) <= now]  # fmt: skip
        for stop in sorted(due, key=lambda s: (s.eta, s.sequence)):
            assert stop.eta is not None and stop.courier_id is not None
            courier_user = self.db.get(User, stop.courier_id)
            assert courier_user is not None
            courier = actor_for(courier_user)
            case = self.db.get(Case, stop.case_id)
            assert case is not None
            moment = end(stop)
            if stop.kind == "home_pickup":
                code = self.item(case.dossier_item_id).code
                details = {**PICKUP_DETAILS, "seal_number": f"SEAL-{case.id}"}
                record_one(self.db, courier, scan("picked_up", code, details=details,
                                                  occurred_at=moment))  # fmt: skip
            elif stop.kind == "office_drop":
                code = self.item(case.dossier_item_id).code
                office = party("office", self.area.office.id)
                record_one(self.db, courier, scan("handover_offered", code, occurred_at=moment,
                                                  to_party=office))  # fmt: skip
                record_one(self.db, self.desk, scan("handover_confirmed", code,
                                                    occurred_at=moment))  # fmt: skip
            elif stop.kind == "office_pickup":
                code = self.item(case.result_item_id).code
                record_one(self.db, courier, scan("handover_offered", code, occurred_at=moment,
                                                  to_party=courier.party))  # fmt: skip
                record_one(self.db, self.desk, scan("handover_confirmed", code,
                                                    occurred_at=moment))  # fmt: skip
            elif stop.kind == "home_delivery" and case.id not in skip_deliveries:
                code = self.item(case.result_item_id).code
                record_one(self.db, courier, scan("out_for_delivery", code, occurred_at=moment))
                record_one(self.db, courier, scan("delivered", code, occurred_at=moment,
                                                  evidence={"proof": "otp",
                                                            "otp_verified": True}))  # fmt: skip
        self.tick(now)

    def kinds_of(self, case_id: int) -> list[str]:
        phone = self.citizens[case_id].phone
        return list(
            self.db.scalars(
                select(OutboxMessage.kind)
                .where(OutboxMessage.payload["phone"].astext == phone)
                .order_by(OutboxMessage.id)
            )
        )


@pytest.fixture
def live(db: Session, settings: Settings) -> Iterator[LiveDay]:
    area = make_area(db, couriers=3)
    # This test's events only: the reader starts after what other tests left in the database.
    last = db.scalar(select(CustodyEvent.id).order_by(CustodyEvent.id.desc()).limit(1)) or 0
    db.merge(DispatchLiveCursor(id=1, last_event_id=last))
    db.flush()
    yield LiveDay(db, settings, area)


def test_a_live_day_lands_every_change_in_the_plan(live: LiveDay) -> None:
    db = live.db
    evening = at(7) - timedelta(hours=12)
    # The evening before: six bookings, and five result cases waiting at the office
    # (delivery slot 15:30-17:30; each result is registered during the day).
    early = [live.book(evening, nth_window=i % 4) for i in range(6)]
    waiting_results = []
    for i in range(5):
        live.serial += 1
        phone = f"0978{live.serial:06d}"
        citizen = make_user(db, "citizen", phone=phone)
        case = make_case(
            db, live.settings, post_office=live.area.post_office, office=live.area.office,
            service_option="receive", now=evening, commune_code=live.area.commune.code,
            lat=live.area.commune.lat + 0.002 * i, lon=live.area.commune.lon - 0.002 * i,
            contact_phone=phone, citizen_user_id=citizen.id,
            pickup_window_start=at(15, 30), pickup_window_end=at(17, 30),
        )  # fmt: skip
        live.citizens[case.id] = citizen
        waiting_results.append(case)
    live.tick(evening)
    # The day has not started its plan: the bookings sit in draft routes, no courier is
    # named to anyone, and the dispatcher reads why they are not assigned yet.
    assert started_plan(db, live.post_id, DAY) is None
    header = db.scalar(select(DispatchPlan).where(DispatchPlan.post_office_id == live.post_id))
    assert header is not None and header.trigger == "draft"
    assert all(db.get(Case, c.id).pickup_courier_id is None for c in early)  # type: ignore[union-attr]
    assert all("courier_assigned" not in live.kinds_of(c.id) for c in early)

    plan_day(db, live.settings, post_office_id=live.post_id, day=DAY, now=at(7),
             time_limit_s=1.0)  # fmt: skip
    live.tick(at(7))
    for case in early:
        assert live.kinds_of(case.id) == ["booked", "courier_assigned"]

    # The day, in time order. Bookings every 20 minutes from 07:20 to 13:40 (20 of them),
    # cancellations, results and failed attempts in between.
    events: list[tuple[datetime, str, int]] = [(at(7, 20) + timedelta(minutes=20 * i), "book", i)
                                               for i in range(20)]  # fmt: skip
    events += [(at(8, 5), "cancel_early", 5), (at(9, 45), "cancel_early", 3),
               (at(12, 5), "cancel_new", 10)]  # fmt: skip
    events += [(at(8, 30) + timedelta(hours=i), "result", i) for i in range(5)]
    events += [(at(14, 10), "fail", 0), (at(14, 40), "fail", 1)]
    events.sort()
    new: list[Case] = []
    failing = {waiting_results[0].id, waiting_results[1].id}
    cancelled: set[int] = set()
    for moment, what, index in events:
        live.work_until(moment, skip_deliveries=failing)
        if what == "book":
            case = live.book(moment, nth_window=index % 2)
            new.append(case)
            live.tick(moment)
            rows = live.stops(case.id)
            assert {r.kind for r in rows} == {"home_pickup", "office_drop"}
            # Placed by insertion: the window was offered because it fits.
            assert all(r.courier_id is not None for r in rows), [r.unassigned_reason for r in rows]
        elif what in ("cancel_early", "cancel_new"):
            case = early[index] if what == "cancel_early" else new[index]
            cancel_booking(db, live.citizens[case.id], case.id, now=moment)
            cancelled.add(case.id)
            live.tick(moment)
            assert {r.status for r in live.stops(case.id)} == {"cancelled"}
        elif what == "result":
            case = waiting_results[index]
            register_result(db, live.settings, live.desk, case, now=moment)
            live.tick(moment)
            rows = live.stops(case.id)
            assert {r.kind for r in rows} == {"office_pickup", "home_delivery"}
            assert all(r.courier_id is not None for r in rows)
        else:  # a failed attempt: the holder goes out and nobody is at home
            case = waiting_results[index]
            db.refresh(case)
            delivery = next(r for r in live.stops(case.id) if r.kind == "home_delivery")
            assert delivery.courier_id is not None
            courier_user = db.get(User, delivery.courier_id)
            assert courier_user is not None
            courier = actor_for(courier_user)
            code = live.item(case.result_item_id).code
            if next(r for r in live.stops(case.id) if r.kind == "office_pickup").status != "done":
                record_one(db, courier, scan("handover_offered", code, occurred_at=moment,
                                             to_party=courier.party))  # fmt: skip
                record_one(db, live.desk, scan("handover_confirmed", code, occurred_at=moment))
            record_one(db, courier, scan("out_for_delivery", code, occurred_at=moment))
            record_one(db, courier, scan("attempt_failed", code, occurred_at=moment,
                                         details={"reason_code": "addressee_absent"}))  # fmt: skip
            live.tick(moment)
            delivery = next(r for r in live.stops(case.id) if r.kind == "home_delivery")
            assert delivery.status == "failed"

    assert len(new) == 20
    # Nobody pressed "re-plan": after 07:00 every run was a live update.
    triggers = Counter(
        db.scalars(
            select(DispatchPlan.trigger).where(
                DispatchPlan.post_office_id == live.post_id, DispatchPlan.planned_at > at(7)
            )
        )
    )
    assert set(triggers) == {"update"}, triggers
    # Every stop not in a route says why, with a code the catalogues have.
    for row in live.stops():
        if row.courier_id is None and row.status != "cancelled":
            assert row.unassigned_reason in CODES

    # Messages: exactly what each citizen's changes warrant. One "courier_assigned" per
    # booking (nobody re-planned, so no courier changed), sent before the courier came; the
    # record of what they were told names the courier the plan still has.
    result_ids = {c.id for c in waiting_results}
    for case_id in live.citizens:
        found = db.get(Case, case_id)
        assert found is not None
        by_kind = {r.kind: r for r in live.stops(case_id)}
        if case_id in result_ids:
            delivery = by_kind["home_delivery"]
            # Told once who brings it today (nobody re-planned, so no courier changed).
            expected = ["result_ready", "delivery_planned"]
            if case_id in failing:
                expected += ["out_for_delivery", "attempt_failed"]
            elif delivery.status == "done":
                expected += ["out_for_delivery", "delivered"]
            assert live.kinds_of(case_id) == expected, (case_id, live.kinds_of(case_id))
            continue
        expected = ["booked", "courier_assigned"]
        if by_kind["home_pickup"].status == "done":
            expected.append("picked_up")
        drop = by_kind.get("office_drop")
        if drop is not None and drop.status == "done":
            expected.append("handed_over")
        if case_id in cancelled:
            expected.append("cancelled")
        assert live.kinds_of(case_id) == expected, (case_id, live.kinds_of(case_id))
        told = db.get(CitizenPlanTold, case_id)
        assert told is not None
        if case_id not in cancelled and by_kind["home_pickup"].status == "planned":
            assert told.courier_id == found.pickup_courier_id == by_kind["home_pickup"].courier_id
    # The day did real work: pickups, hand-overs and deliveries happened along the way.
    statuses = Counter((r.kind, r.status) for r in live.stops())
    assert statuses[("home_pickup", "done")] >= 10 and statuses[("office_drop", "done")] >= 5
    assert statuses[("home_delivery", "failed")] == 2
    assert statuses[("home_pickup", "cancelled")] == 3


def test_a_moved_booking_leaves_its_place_and_is_announced_once(live: LiveDay) -> None:
    db = live.db
    evening = at(7) - timedelta(hours=12)
    cases = [live.book(evening, nth_window=i % 4) for i in range(6)]
    plan_day(db, live.settings, post_office_id=live.post_id, day=DAY, now=at(7),
             time_limit_s=1.0)  # fmt: skip
    live.tick(at(7))
    moved = cases[2]  # 13:30-15:30: not picked up by 09:00
    booking = db.get(Booking, moved.booking_id)
    assert booking is not None
    old_start = booking.pickup_window_start
    new_start = next(s for s, _ in offerable_windows(
        db, post_office_id=live.post_id, lat=booking.lat, lon=booking.lon, day=DAY, now=at(9),
        settings=live.settings, exclude_case_id=moved.id) if s != old_start)  # fmt: skip
    reschedule_booking(db, live.settings, live.citizens[moved.id], moved.id, new_start,
                       now=at(9))  # fmt: skip
    live.tick(at(9))
    pickup = next(r for r in live.stops(moved.id) if r.kind == "home_pickup")
    assert pickup.window_start == new_start and pickup.courier_id is not None
    assert pickup.eta is not None and pickup.window_start <= pickup.eta <= pickup.window_end
    told = db.get(CitizenPlanTold, moved.id)
    assert told is not None and told.window_start == new_start
    kinds = live.kinds_of(moved.id)
    # The move's own SMS carries the new window; a courier message follows only if the
    # insertion gave the stop to another courier than the one the citizen was told of.
    first_courier = kinds[:2] == ["booked", "courier_assigned"]
    assert first_courier and kinds[2] == "rescheduled", kinds
    changed = told.courier_id != pickup.courier_id or len(kinds) == 4
    assert kinds[3:] == (["courier_assigned"] if changed else []), kinds
    assert told.courier_id == pickup.courier_id

    # Moved to the next day: it leaves this day's plan, and waits in the next day's draft.
    next_day = DAY + timedelta(days=1)
    tomorrow = datetime(next_day.year, next_day.month, next_day.day, 10, tzinfo=VN)
    reschedule_booking(db, live.settings, live.citizens[moved.id], moved.id, tomorrow,
                       now=at(9, 30))  # fmt: skip
    live.tick(at(9, 30))
    assert {r.status for r in live.stops(moved.id)} == {"cancelled"}
    query = select(RouteStop).where(RouteStop.case_id == moved.id)
    later = db.scalars(query.where(RouteStop.service_date == next_day)).all()
    assert {r.kind for r in later} == {"home_pickup", "office_drop"}
    assert started_plan(db, live.post_id, next_day) is None
    # The citizen was told the new day by the move's SMS; no courier is named before the
    # next day's plan, so nothing else was sent.
    assert live.kinds_of(moved.id)[-1] == "rescheduled"
    assert db.get(Case, moved.id).pickup_courier_id is None  # type: ignore[union-attr]


def test_a_pickup_the_courier_can_no_longer_reach_is_told_once(live: LiveDay) -> None:
    """Nobody works the day: by 10:30 the first window is over, the next change of the day
    takes the stop out of its route, and its citizen is told at once (with the link to pick
    another window), once; the other citizens hear nothing of it."""
    db = live.db
    evening = at(7) - timedelta(hours=12)
    missed = live.book(evening, nth_window=0)
    later = live.book(evening, nth_window=3)
    plan_day(db, live.settings, post_office_id=live.post_id, day=DAY, now=at(7),
             time_limit_s=1.0)  # fmt: skip
    live.tick(at(7))
    assert live.kinds_of(missed.id) == ["booked", "courier_assigned"]
    booking = db.get(Booking, missed.booking_id)
    assert booking is not None and booking.pickup_window_end < at(10, 30)

    live.book(at(10, 30), nth_window=0)  # any change of the day brings the update
    live.tick(at(10, 30))
    pickup = next(r for r in live.stops(missed.id) if r.kind == "home_pickup")
    assert pickup.courier_id is None and pickup.unassigned_reason == WINDOW_PASSED
    assert live.kinds_of(missed.id) == ["booked", "courier_assigned", "window_missed"]
    text = db.scalars(
        select(OutboxMessage.payload["text"].astext)
        .where(OutboxMessage.kind == "window_missed",
               OutboxMessage.payload["phone"].astext == live.citizens[missed.id].phone)
    ).one()  # fmt: skip
    assert f"hồ sơ #{missed.id}" in text and f"/my/cases/{missed.id}" in text
    assert "không kịp đến" in text
    assert "window_missed" not in live.kinds_of(later.id)

    live.tick(at(10, 45))
    live.book(at(11), nth_window=0)
    live.tick(at(11))
    assert live.kinds_of(missed.id).count("window_missed") == 1


def test_the_citizen_hears_who_brings_the_result_and_again_only_for_another_courier(
    live: LiveDay,
) -> None:
    db = live.db
    live.serial += 1
    phone = f"0978{live.serial:06d}"
    citizen = make_user(db, "citizen", phone=phone)
    case = make_case(
        db, live.settings, post_office=live.area.post_office, office=live.area.office,
        service_option="receive", now=at(7) - timedelta(hours=12),
        commune_code=live.area.commune.code, lat=live.area.commune.lat,
        lon=live.area.commune.lon, contact_phone=phone, citizen_user_id=citizen.id,
        pickup_window_start=at(15, 30), pickup_window_end=at(17, 30),
    )  # fmt: skip
    live.citizens[case.id] = citizen
    plan_day(db, live.settings, post_office_id=live.post_id, day=DAY, now=at(7),
             time_limit_s=1.0)  # fmt: skip
    register_result(db, live.settings, live.desk, case, now=at(9))
    live.tick(at(9))
    delivery = next(r for r in live.stops(case.id) if r.kind == "home_delivery")
    first = delivery.courier_id
    assert first is not None
    assert live.kinds_of(case.id) == ["result_ready", "delivery_planned"]
    first_name = db.get(User, first).full_name  # type: ignore[union-attr]
    texts = list(db.scalars(select(OutboxMessage.payload["text"].astext).where(
        OutboxMessage.kind == "delivery_planned",
        OutboxMessage.payload["phone"].astext == phone)))  # fmt: skip
    assert len(texts) == 1 and first_name in texts[0] and "15:30–17:30" in texts[0]

    live.tick(at(9, 30))  # nothing changed: nothing more
    assert live.kinds_of(case.id).count("delivery_planned") == 1

    other = next(c for c in live.area.couriers if c.id != first)
    move_stop(db, live.settings, stop_id=delivery.id, courier_id=other.id, now=at(10),
              time_limit_s=1.0)  # fmt: skip
    live.tick(at(10))
    assert live.kinds_of(case.id).count("delivery_planned") == 2
    latest = db.scalars(select(OutboxMessage.payload["text"].astext).where(
        OutboxMessage.kind == "delivery_planned",
        OutboxMessage.payload["phone"].astext == phone).order_by(OutboxMessage.id.desc())
    ).first()  # fmt: skip
    assert latest is not None and other.full_name in latest

    # Back to the first courier: the citizen last heard of the other one, so they hear again.
    again = next(r for r in live.stops(case.id) if r.kind == "home_delivery")
    move_stop(db, live.settings, stop_id=again.id, courier_id=first, now=at(10, 30),
              time_limit_s=1.0)  # fmt: skip
    live.tick(at(10, 30))
    live.tick(at(10, 45))
    assert live.kinds_of(case.id).count("delivery_planned") == 3
