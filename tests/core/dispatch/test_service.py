"""Planning a post office's day from the database, and changing it, on real PostgreSQL.

Every saved plan is checked twice: by ``routing.feasibility.check_plan`` inside the
service (a failing plan is not saved) and here by ``saved_plan_violations``, which reads
only the saved rows.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.cases.service import register_result
from core.custody.parties import Actor
from core.custody.service import ScanCommand, record_one
from core.dispatch.live import update_day
from core.dispatch.models import DispatchPlan, RouteStop
from core.dispatch.service import (
    booking_slots,
    move_stop,
    offerable_windows,
    plan_day,
    set_lock,
)
from core.errors import Conflict, InvalidInput
from core.identity.models import User
from core.identity.service import actor_for
from core.places.models import Office, PostOffice
from core.settings import Settings
from tests.core.dispatch.checks import saved_plan_violations
from tests.factories import dossier_of, make_case, make_office, make_post_office, make_user
from vntime import VN

DAY = date(2031, 3, 4)  # a Tuesday, always in the future for these tests
MORNING = datetime(2031, 3, 4, 6, 0, tzinfo=VN)
SLOTS = ((8, 10), (10, 12), (13, 15), (15, 17))


@pytest.fixture
def post(db: Session) -> PostOffice:
    return make_post_office(db, name="Bưu cục Kinh Bắc (thử)")


@pytest.fixture
def offices(db: Session) -> list[Office]:
    return [
        make_office(db, lat=21.1861, lon=106.0763),
        make_office(db, lat=21.2110, lon=106.0500, name_vi="Trung tâm PVHCC phường Võ Cường"),
    ]


@pytest.fixture
def couriers(db: Session, post: PostOffice) -> list[User]:
    return [
        make_user(db, "courier", post_office_id=post.id, full_name=name)
        for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường")
    ]


def _book(
    db: Session,
    settings: Settings,
    post: PostOffice,
    office: Office,
    rng: random.Random,
    *,
    option: str = "send",
    slot: tuple[int, int] | None = None,
    **overrides: object,
) -> Case:
    lo, hi = slot or rng.choice(SLOTS)
    start = datetime(DAY.year, DAY.month, DAY.day, lo, tzinfo=VN)
    values: dict[str, object] = {
        "lat": 21.18 + rng.uniform(-0.03, 0.03),
        "lon": 106.07 + rng.uniform(-0.03, 0.03),
        "pickup_window_start": start,
        "pickup_window_end": start + timedelta(hours=hi - lo),
    }
    values.update(overrides)
    return make_case(db, settings, post_office=post, office=office, service_option=option,
                     now=MORNING - timedelta(days=1), **values)  # fmt: skip


def _day(db: Session, settings: Settings, post: PostOffice, offices: list[Office],
         pickups: int = 10, results: int = 4) -> list[Case]:  # fmt: skip
    rng = random.Random(7)
    cases = [_book(db, settings, post, offices[i % 2], rng) for i in range(pickups)]
    for i in range(results):
        case = _book(db, settings, post, offices[i % 2], rng, option="receive")
        register_result(db, settings, Actor.system(), case, now=MORNING - timedelta(hours=12))
        cases.append(case)
    return cases


def _stops(db: Session, post: PostOffice) -> list[RouteStop]:
    return list(
        db.scalars(
            select(RouteStop)
            .where(RouteStop.post_office_id == post.id, RouteStop.service_date == DAY)
            .order_by(RouteStop.id)
        )
    )


def test_plan_day_routes_every_stop_feasibly_and_names_the_couriers(
    db: Session, settings: Settings, post: PostOffice, offices: list[Office], couriers: list[User]
) -> None:
    cases = _day(db, settings, post, offices)
    summary = plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING,
                       time_limit_s=1.0)  # fmt: skip

    stops = _stops(db, post)
    # 10 dossiers: home pickup + office drop; 4 results: office pickup + home delivery
    assert sorted(s.kind for s in stops).count("home_pickup") == 10
    assert sorted(s.kind for s in stops).count("home_delivery") == 4
    assert len(stops) == 28
    assert summary.unassigned == []
    assert summary.stops_assigned == 28
    assert saved_plan_violations(db, settings, post.id, DAY) == []
    assert all(s.courier_id in {c.id for c in couriers} for s in stops)
    for s in stops:
        pair = db.get(RouteStop, s.paired_stop_id)
        assert pair is not None and pair.paired_stop_id == s.id
    # Positions say where they came from: the citizen's GPS pin, the office's own point.
    assert {s.position_source for s in stops if s.kind.startswith("home")} == {"gps"}
    assert {s.position_source for s in stops if s.kind.startswith("office")} == {"office"}
    # The courier planned for a pickup is the one the ledger lets take the dossier.
    for case in cases:
        db.refresh(case)
    assert all(c.pickup_courier_id is not None for c in cases[:10])
    assert all(c.delivery_courier_id is not None for c in cases[10:])
    header = db.scalar(select(DispatchPlan).where(DispatchPlan.post_office_id == post.id))
    assert header is not None and header.engine == summary.engine
    # The planner runs PyVRP and VROOM side by side and names the solver whose plan it kept.
    assert header.engine in ("pyvrp", "vroom")
    assert header.matrix_source == "great_circle"
    # Lunch by default: every courier with stops has one, 45 minutes from 11:30-13:00
    # (saved_plan_violations checked that no stop is served during it).
    assert settings.dispatch_break_minutes == 45
    routed = {str(s.courier_id) for s in stops}
    assert set(header.breaks) == routed
    for brk in header.breaks.values():
        start = datetime.fromisoformat(brk["start"]).astimezone(VN)
        assert (11, 30) <= (start.hour, start.minute) <= (13, 0)
        assert brk["minutes"] == 45


def test_with_break_minutes_0_the_day_has_no_break(
    db: Session, settings: Settings, post: PostOffice, offices: list[Office], couriers: list[User]
) -> None:
    _day(db, settings, post, offices)
    no_lunch = settings.model_copy(update={"dispatch_break_minutes": 0})
    summary = plan_day(db, no_lunch, post_office_id=post.id, day=DAY, now=MORNING,
                       time_limit_s=1.0)  # fmt: skip
    assert summary.unassigned == []
    assert saved_plan_violations(db, no_lunch, post.id, DAY) == []
    header = db.get(DispatchPlan, summary.plan_id)
    assert header is not None and header.breaks == {}


def test_over_full_day_leaves_stops_out_with_a_reason(
    db: Session, settings: Settings, post: PostOffice, offices: list[Office]
) -> None:
    make_user(db, "courier", post_office_id=post.id)
    tight = settings.model_copy(update={"dispatch_courier_capacity": 2})
    rng = random.Random(3)
    for _ in range(8):
        _book(db, settings, post, offices[0], rng, slot=(8, 10))
    summary = plan_day(db, tight, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.5)
    assert summary.unassigned, "one courier cannot take 8 pickups in one 2-hour slot"
    out = [s for s in _stops(db, post) if s.courier_id is None]
    assert out and all(s.unassigned_reason for s in out)
    assert saved_plan_violations(db, tight, post.id, DAY) == []


def test_replan_keeps_started_stops_and_locked_stops(
    db: Session, settings: Settings, post: PostOffice, offices: list[Office], couriers: list[User]
) -> None:
    cases = _day(db, settings, post, offices)
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.5)
    stops = _stops(db, post)
    # The earliest pickup of the day is done (in the ledger, by its courier).
    first = min((s for s in stops if s.kind == "home_pickup"), key=lambda s: s.eta or MORNING)
    case = next(c for c in cases if c.id == first.case_id)
    courier = db.get(User, first.courier_id)
    assert courier is not None and first.eta is not None
    record_one(db, actor_for(courier), ScanCommand(
        kind="picked_up", code=dossier_of(db, case).code, occurred_at=first.eta,
        details={"seal_number": "NP000001"},
    ))  # fmt: skip
    # A dispatcher locks another pickup to its courier.
    other = next(s for s in stops if s.kind == "home_pickup" and s.id != first.id)
    set_lock(db, stop_id=other.id, locked=True)
    locked_to = other.courier_id

    later = first.eta + timedelta(minutes=10)
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=later, time_limit_s=0.5,
             trigger="replan")  # fmt: skip
    db.refresh(first)
    db.refresh(other)
    assert first.status == "done" and first.courier_id == courier.id and first.sequence == 1
    drop = db.get(RouteStop, first.paired_stop_id)
    assert drop is not None and drop.courier_id == courier.id  # the dossier is on board
    assert drop.eta is not None and drop.eta >= later
    assert other.courier_id == locked_to and other.locked
    for s in _stops(db, post):
        if s.status == "planned" and s.eta is not None:
            assert s.eta >= later, "nothing is planned in the past"
    assert saved_plan_violations(db, settings, post.id, DAY) == []


def test_move_a_stop_to_another_courier(
    db: Session, settings: Settings, post: PostOffice, offices: list[Office], couriers: list[User]
) -> None:
    _day(db, settings, post, offices, pickups=6, results=2)
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.5)
    stop = next(s for s in _stops(db, post) if s.kind == "home_pickup")
    target = next(c for c in couriers if c.id != stop.courier_id)
    move_stop(db, settings, stop_id=stop.id, courier_id=target.id, now=MORNING)
    db.refresh(stop)
    pair = db.get(RouteStop, stop.paired_stop_id)
    assert pair is not None
    assert stop.courier_id == pair.courier_id == target.id
    assert stop.locked and pair.locked
    assert (stop.sequence or 0) < (pair.sequence or 0)
    assert saved_plan_violations(db, settings, post.id, DAY) == []
    last = db.scalar(select(DispatchPlan).order_by(DispatchPlan.id.desc()).limit(1))
    assert last is not None and last.trigger == "move"

    elsewhere = make_user(db, "courier", post_office_id=make_post_office(db).id)
    with pytest.raises(InvalidInput) as exc:
        move_stop(db, settings, stop_id=stop.id, courier_id=elsewhere.id, now=MORNING)
    assert exc.value.field == "courier_id"


def test_move_that_cannot_fit_is_refused(
    db: Session, settings: Settings, post: PostOffice, offices: list[Office], couriers: list[User]
) -> None:
    _day(db, settings, post, offices, pickups=4, results=0)
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.5)
    stop = next(s for s in _stops(db, post) if s.kind == "home_pickup")
    target = next(c for c in couriers if c.id != stop.courier_id)
    # The target courier is full: capacity 0 is refused by settings, so give them a day
    # that already has no time left: planning at 17:25 leaves no courier time for a stop.
    late = datetime(DAY.year, DAY.month, DAY.day, 17, 25, tzinfo=VN)
    with pytest.raises(Conflict) as exc:
        move_stop(db, settings, stop_id=stop.id, courier_id=target.id, now=late)
    assert exc.value.field == "courier_id"
    assert "cannot take" in exc.value.detail


def test_new_booking_is_inserted_without_reshuffling_others(
    db: Session, settings: Settings, post: PostOffice, offices: list[Office], couriers: list[User]
) -> None:
    _day(db, settings, post, offices, pickups=6, results=2)
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.5)
    before = {s.id: (s.courier_id, s.sequence) for s in _stops(db, post)}
    case = _book(db, settings, post, offices[0], random.Random(99), slot=(13, 15))
    summary = update_day(db, settings, post_office_id=post.id, day=DAY,
                         now=MORNING + timedelta(hours=1))  # fmt: skip
    assert summary.engine == "insertion"
    new = [s for s in _stops(db, post) if s.case_id == case.id]
    assert len(new) == 2 and all(s.courier_id is not None for s in new)
    for s in _stops(db, post):
        if s.id in before:
            courier, seq = before[s.id]
            assert s.courier_id == courier
            # Others on the same courier may shift by the two inserted stops, never reorder.
            assert s.sequence is not None and seq is not None and 0 <= s.sequence - seq <= 2
    assert saved_plan_violations(db, settings, post.id, DAY) == []


def test_offerable_windows_for_an_address(
    db: Session, settings: Settings, post: PostOffice, offices: list[Office], couriers: list[User]
) -> None:
    _day(db, settings, post, offices, pickups=6, results=2)
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.5)
    windows = offerable_windows(db, post_office_id=post.id, lat=21.19, lon=106.08, day=DAY,
                                now=MORNING, settings=settings)  # fmt: skip
    assert len(windows) == 4
    assert all(s.tzinfo is not None and e > s for s, e in windows)
    assert windows[0][0] == datetime(DAY.year, DAY.month, DAY.day, 8, tzinfo=VN)

    # At 11:00 the morning slots are gone (one has ended, one has begun but still fits).
    at_11 = datetime(DAY.year, DAY.month, DAY.day, 11, tzinfo=VN)
    later = offerable_windows(db, post_office_id=post.id, lat=21.19, lon=106.08, day=DAY,
                              now=at_11, settings=settings)  # fmt: skip
    assert all(e > at_11 for _, e in later)
    assert len(later) < len(windows)

    # Nobody can reach an address at the other end of the country within a slot.
    far = offerable_windows(db, post_office_id=post.id, lat=10.78, lon=106.70, day=DAY,
                            now=MORNING, settings=settings)  # fmt: skip
    assert far == []


def test_offerable_windows_on_a_day_without_couriers_offers_nothing(
    db: Session, settings: Settings
) -> None:
    lonely = make_post_office(db)
    assert offerable_windows(db, post_office_id=lonely.id, lat=21.19, lon=106.08, day=DAY,
                             now=MORNING, settings=settings) == []  # fmt: skip


def test_a_past_day_cannot_be_planned(db: Session, settings: Settings, post: PostOffice) -> None:
    with pytest.raises(InvalidInput) as exc:
        plan_day(db, settings, post_office_id=post.id, day=DAY - timedelta(days=1), now=MORNING)
    assert exc.value.field == "date"


class _Hit:
    def __init__(self, lat: float, lon: float) -> None:
        self.latitude, self.longitude = lat, lon


class _Geocoder:
    """Stands in for a geopy geocoder (the real one needs the network)."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def geocode(self, query: str, *, exactly_one: bool, timeout: float) -> _Hit:
        self.queries.append(query)
        return _Hit(21.1835, 106.0655)


def test_geocoder_places_bookings_without_a_pin_and_is_asked_once(
    db: Session, settings: Settings, post: PostOffice, offices: list[Office], couriers: list[User]
) -> None:
    rng = random.Random(5)
    pinned = _book(db, settings, post, offices[0], rng)
    unpinned = _book(db, settings, post, offices[0], rng, position_source="centroid",
                     position_accuracy_m=1800.0, lat=21.18, lon=106.07)  # fmt: skip
    geocoder = _Geocoder()
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.3,
             geocoder=geocoder)  # fmt: skip
    rows = {s.case_id: s for s in _stops(db, post) if s.kind == "home_pickup"}
    assert rows[pinned.id].position_source == "gps"
    assert rows[unpinned.id].position_source == "geocoder"
    assert (rows[unpinned.id].lat, rows[unpinned.id].lon) == (21.1835, 106.0655)
    assert rows[unpinned.id].position_accuracy_m == 250.0
    assert len(geocoder.queries) == 1 and "Việt Nam" in geocoder.queries[0]
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.3,
             geocoder=geocoder)  # fmt: skip
    assert len(geocoder.queries) == 1, "the row keeps the answer; no second request"


def test_without_geocoder_the_centroid_is_kept_with_its_accuracy(
    db: Session, settings: Settings, post: PostOffice, offices: list[Office], couriers: list[User]
) -> None:
    case = _book(db, settings, post, offices[0], random.Random(1), position_source="centroid",
                 position_accuracy_m=1800.0)  # fmt: skip
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.3)
    row = next(s for s in _stops(db, post) if s.case_id == case.id and s.kind == "home_pickup")
    assert (row.position_source, row.position_accuracy_m) == ("centroid", 1800.0)


def test_dossier_for_a_far_office_is_left_at_the_post_office_to_travel_on(
    db: Session, settings: Settings, post: PostOffice, couriers: list[User]
) -> None:
    rng = random.Random(8)
    near = make_office(db, lat=21.1861, lon=106.0763)  # about 2 km from the post office
    far = make_office(db, lat=21.2849, lon=106.2150, commune_code="07210")  # Bắc Giang, ~19 km
    to_near = _book(db, settings, post, near, rng)
    to_far = _book(db, settings, post, far, rng)
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.3)
    kinds = {(s.case_id, s.kind): s for s in _stops(db, post)}
    assert (to_near.id, "office_drop") in kinds
    drop = kinds[(to_far.id, "post_office_drop")]
    assert (drop.lat, drop.lon, drop.office_id) == (post.lat, post.lon, None)
    assert drop.courier_id == kinds[(to_far.id, "home_pickup")].courier_id
    assert saved_plan_violations(db, settings, post.id, DAY) == []

    # Once the post office confirms the hand-off, the drop is done.
    courier = db.get(User, drop.courier_id)
    assert courier is not None
    code = dossier_of(db, to_far).code
    at = datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=VN)
    seal = {"seal_number": "NP000002"}
    record_one(db, actor_for(courier),
               ScanCommand(kind="picked_up", code=code, occurred_at=at, details=seal))  # fmt: skip
    record_one(db, actor_for(courier), ScanCommand(
        kind="handover_offered", code=code, occurred_at=at + timedelta(hours=1),
        to_party=f"post_office:{post.id}"))  # fmt: skip
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=at + timedelta(hours=1),
             time_limit_s=0.3)  # fmt: skip
    db.refresh(drop)
    assert drop.status == "arrived"  # the hand-off is open: the courier is at the counter


def test_booking_windows_follow_the_live_plan_once_the_day_is_planned(
    db: Session, settings: Settings, post: PostOffice, offices: list[Office], couriers: list[User]
) -> None:
    """The booking page's windows fit the day's routes, before planning and after."""
    from core.booking.slots import candidate_windows
    from core.booking.slots import offerable_windows as booking_windows

    assert candidate_windows(DAY, settings) == booking_slots(settings, DAY)
    assert len(booking_slots(settings, DAY)) == 4
    far = {"lat": 10.78, "lon": 106.70}  # Hồ Chí Minh City: no Bắc Ninh courier gets there
    kwargs = {"post_office_id": post.id, "day": DAY, "now": MORNING, "settings": settings}
    # Not planned yet: a place no courier can reach is offered nothing all the same.
    assert booking_windows(db, **far, **kwargs) == []  # type: ignore[arg-type]
    before = booking_windows(db, lat=21.19, lon=106.08, **kwargs)  # type: ignore[arg-type]
    assert len(before) == 4

    _day(db, settings, post, offices, pickups=6, results=2)
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.5)
    assert booking_windows(db, **far, **kwargs) == []  # type: ignore[arg-type]
    near = booking_windows(db, lat=21.19, lon=106.08, **kwargs)  # type: ignore[arg-type]
    assert near and set(near) <= set(before)


def test_booking_windows_come_from_the_setting_before_and_after_planning(
    db: Session, settings: Settings, post: PostOffice, offices: list[Office], couriers: list[User]
) -> None:
    """A dispatcher who moves the windows moves them on the booking page too: before
    planning (the capacity rule) and after (the live routes), the morning is still offered."""
    from core.booking.slots import offerable_windows as booking_windows

    moved = settings.model_copy(
        update={"dispatch_booking_slots": "08:00-10:30,10:30-12:00,13:30-15:30,15:30-17:30"}
    )
    configured = [("08:00", "10:30"), ("10:30", "12:00"), ("13:30", "15:30"), ("15:30", "17:30")]
    kwargs = {"post_office_id": post.id, "day": DAY, "now": MORNING, "settings": moved}

    def offered() -> list[tuple[str, str]]:
        got = booking_windows(db, lat=21.19, lon=106.08, **kwargs)  # type: ignore[arg-type]
        return [(f"{s.astimezone(VN):%H:%M}", f"{e.astimezone(VN):%H:%M}") for s, e in got]

    assert offered() == configured
    _day(db, moved, post, offices, pickups=6, results=2)
    plan_day(db, moved, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.5)
    after = offered()
    assert set(after) <= set(configured)
    assert ("08:00", "10:30") in after  # the morning is not lost once the day is planned


def test_a_result_collected_at_the_counter_rides_to_the_post_office_not_the_door(
    db: Session, settings: Settings, post: PostOffice, couriers: list[User]
) -> None:
    """ "Nhận tại bưu cục": the courier brings the result from the office to the counter."""
    rng = random.Random(9)
    office = make_office(db, lat=21.1861, lon=106.0763)
    home = _book(db, settings, post, office, rng, option="receive")
    counter = _book(db, settings, post, office, rng, option="receive", result_at_post_office=True)
    for case in (home, counter):
        register_result(db, settings, Actor.system(), case, now=MORNING - timedelta(hours=12))
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.3)
    kinds = {(s.case_id, s.kind): s for s in _stops(db, post)}
    assert (home.id, "home_delivery") in kinds
    assert (counter.id, "home_delivery") not in kinds
    drop = kinds[(counter.id, "post_office_drop")]
    assert (drop.lat, drop.lon, drop.office_id) == (post.lat, post.lon, None)
    assert drop.courier_id == kinds[(counter.id, "office_pickup")].courier_id
    assert saved_plan_violations(db, settings, post.id, DAY) == []
