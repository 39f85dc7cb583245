"""Lunch on by default, through the database: no feasible stop is left out for it, the live
insertion and the booking page keep it, and a lunch once taken is not planned again."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.booking.service import cancel_booking
from core.cases.models import Case
from core.courier.eta import CourierSnapshot, StopLine, eta_at
from core.courier.progress import StopProgress
from core.dispatch.live import update_day
from core.dispatch.models import DispatchPlan, RouteStop
from core.dispatch.service import latest_plan, offerable_windows, plan_day
from core.identity.models import User
from core.places.models import Office, PostOffice
from core.settings import Settings
from tests.core.dispatch.checks import saved_plan_violations
from tests.factories import make_case, make_office, make_post_office, make_user
from vntime import VN

DAY = date(2031, 3, 4)  # a Tuesday, always in the future for these tests
MORNING = datetime(2031, 3, 4, 6, 0, tzinfo=VN)


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=VN)


# (start, end) of each citizen's window: morning only, afternoon only, one open through
# lunch, and one that opens while the courier would be at lunch.
WINDOWS = [
    (_at(8), _at(10)), (_at(8), _at(10)), (_at(8, 30), _at(10)),
    (_at(13, 30), _at(15, 30)), (_at(13, 30), _at(15, 30)), (_at(14), _at(16)),
    (_at(11), _at(14)), (_at(11), _at(14)),
    (_at(12), _at(13, 30)),
]  # fmt: skip


@pytest.fixture
def post(db: Session) -> PostOffice:
    return make_post_office(db, name="Bưu cục Kinh Bắc (thử)")


@pytest.fixture
def office(db: Session) -> Office:
    return make_office(db, lat=21.1861, lon=106.0763)


@pytest.fixture
def courier(db: Session, post: PostOffice) -> User:
    return make_user(db, "courier", post_office_id=post.id, full_name="Nguyễn Văn An")


def _book(
    db: Session, settings: Settings, post: PostOffice, office: Office, rng: random.Random,
    window: tuple[datetime, datetime],
) -> Case:  # fmt: skip
    return make_case(db, settings, post_office=post, office=office, service_option="send",
                     now=MORNING - timedelta(days=1), lat=21.18 + rng.uniform(-0.02, 0.02),
                     lon=106.07 + rng.uniform(-0.02, 0.02), pickup_window_start=window[0],
                     pickup_window_end=window[1])  # fmt: skip


def _lunch(db: Session, post: PostOffice, courier: User) -> tuple[datetime, datetime]:
    header = latest_plan(db, post.id, DAY)
    assert header is not None
    brk = header.breaks[str(courier.id)]
    start = datetime.fromisoformat(brk["start"])
    return start, start + timedelta(minutes=brk["minutes"])


def test_one_courier_with_lunch_takes_morning_afternoon_and_straddling_stops(
    db: Session, settings: Settings, post: PostOffice, office: Office, courier: User
) -> None:
    assert settings.dispatch_break_minutes == 45  # the default this is about
    rng = random.Random(11)
    for window in WINDOWS:
        _book(db, settings, post, office, rng, window)
    summary = plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING,
                       time_limit_s=1.0)  # fmt: skip
    assert summary.unassigned == []
    assert summary.stops_assigned == 2 * len(WINDOWS)
    assert saved_plan_violations(db, settings, post.id, DAY) == []
    start, end = _lunch(db, post, courier)
    assert _at(11, 30) <= start <= _at(13) and end - start == timedelta(minutes=45)
    stops = list(db.scalars(select(RouteStop).where(RouteStop.post_office_id == post.id)))
    before = [s for s in stops if s.eta is not None and s.eta < start]
    after = [s for s in stops if s.eta is not None and s.eta >= end]
    assert len(before) + len(after) == len(stops)  # nobody is served during lunch
    assert before and after

    # Two more bookings join the live plan by insertion, one around lunch: both fit, and the
    # courier still has lunch.
    _book(db, settings, post, office, rng, (_at(10), _at(12)))
    _book(db, settings, post, office, rng, (_at(13, 30), _at(15, 30)))
    live = update_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING)
    assert live.unassigned == []
    assert live.stops_assigned == 2 * len(WINDOWS) + 4
    assert saved_plan_violations(db, settings, post.id, DAY) == []
    _lunch(db, post, courier)

    # The booking page still offers the windows on both sides of lunch.
    offered = offerable_windows(db, post_office_id=post.id, lat=21.182, lon=106.072, day=DAY,
                                now=MORNING, settings=settings, office_id=office.id)  # fmt: skip
    starts = {(s.astimezone(VN).hour, s.astimezone(VN).minute) for s, _ in offered}
    assert {(10, 0), (13, 30)} <= starts, offered


def test_a_lunch_under_way_is_not_planned_a_second_time(
    db: Session, settings: Settings, post: PostOffice, office: Office, courier: User
) -> None:
    rng = random.Random(12)
    for window in WINDOWS:
        _book(db, settings, post, office, rng, window)
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=1.0)
    start, end = _lunch(db, post, courier)
    # Ten minutes into lunch a change of the day re-times the routes: the lunch stands where
    # it was, and the courier goes on when it ends (not from now, not after a second lunch).
    during = start + timedelta(minutes=10)
    update_day(db, settings, post_office_id=post.id, day=DAY, now=during)
    header = db.scalar(select(DispatchPlan).where(DispatchPlan.post_office_id == post.id)
                       .order_by(DispatchPlan.id.desc()).limit(1))  # fmt: skip
    assert header is not None and header.trigger == "update"
    assert _lunch(db, post, courier) == (start, end)
    assert saved_plan_violations(db, settings, post.id, DAY) == []
    planned = list(db.scalars(select(RouteStop).where(RouteStop.service_date == DAY,
                                                      RouteStop.courier_id == courier.id,
                                                      RouteStop.status == "planned")))  # fmt: skip
    assert planned and all(s.eta is not None and s.eta >= end for s in planned)


def test_the_citizens_live_eta_waits_for_the_couriers_lunch() -> None:
    # Every stop before the citizen's door is done and the courier's last fix is near it;
    # the plan has lunch between, not over yet: the live ETA starts when lunch ends.
    now = _at(12, 5)
    done = StopLine(1, "home_pickup", _at(11, 20), 21.18, 106.07,
                    StopProgress("done", _at(11, 25), None))  # fmt: skip
    door = StopLine(2, "home_pickup", _at(12, 50), 21.185, 106.07,
                    StopProgress("planned", None, None))  # fmt: skip
    fix = (_at(12, 4), 21.184, 106.07)
    lunch = (_at(11, 40), _at(12, 25))
    eta = eta_at(CourierSnapshot("An", (done, door), fix, lunch), 2, now)
    assert eta is not None and eta.en_route and eta.live_eta is not None
    assert _at(12, 25) < eta.live_eta < _at(12, 30)
    # Without lunch in the plan (or once it is over) the ETA is from the fix straight away.
    plain = eta_at(CourierSnapshot("An", (done, door), fix, None), 2, now)
    assert plain is not None and plain.live_eta is not None and plain.live_eta < _at(12, 6)
    later = eta_at(CourierSnapshot("An", (done, door), (_at(12, 30), 21.184, 106.07), lunch), 2,
                   _at(12, 30))  # fmt: skip
    assert later is not None and later.live_eta is not None and later.live_eta < _at(12, 31)


def test_a_cancelled_morning_stop_does_not_push_lunch_into_the_afternoon(
    db: Session, settings: Settings, post: PostOffice, office: Office, courier: User
) -> None:
    rng = random.Random(13)
    citizen = make_user(db, "citizen", phone="0978111222")
    cases = [
        make_case(db, settings, post_office=post, office=office, service_option="send",
                  now=MORNING - timedelta(days=1), lat=21.18 + rng.uniform(-0.02, 0.02),
                  lon=106.07 + rng.uniform(-0.02, 0.02), pickup_window_start=w[0],
                  pickup_window_end=w[1], citizen_user_id=citizen.id, contact_phone="0978111222")
        for w in WINDOWS
    ]  # fmt: skip
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=1.0)
    before_lunch = _before(db, post, courier)
    # The morning's first booking is cancelled: its two stops leave the route before lunch.
    first = min(cases[:3], key=lambda c: db.scalars(select(RouteStop.eta).where(
        RouteStop.case_id == c.id, RouteStop.kind == "home_pickup")).one() or MORNING)  # fmt: skip
    cancel_booking(db, citizen, first.id, now=MORNING)
    summary = update_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING)
    header = db.get(DispatchPlan, summary.plan_id)
    assert header is not None and header.trigger == "update"  # re-timed, not re-planned
    assert saved_plan_violations(db, settings, post.id, DAY) == []
    moved, _ = _lunch(db, post, courier)
    assert _at(11, 30) <= moved <= _at(13)
    # Lunch stays between the same stops: only the cancelled ones are gone from before it.
    gone = set(db.scalars(select(RouteStop.id).where(RouteStop.case_id == first.id)))
    assert gone and gone <= before_lunch
    assert _before(db, post, courier) == before_lunch - gone


def _before(db: Session, post: PostOffice, courier: User) -> set[int]:
    """The courier's planned stops before lunch in the latest saved plan."""
    start, _ = _lunch(db, post, courier)
    rows = db.scalars(select(RouteStop).where(RouteStop.courier_id == courier.id,
                                              RouteStop.status == "planned"))  # fmt: skip
    return {r.id for r in rows if r.eta is not None and r.eta < start}
