"""The live plan's parts on their own: draft days, the periodic re-optimisation, and an update
that fails (rolled back with its message, retried)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.dispatch.day import build_day
from core.dispatch.live import (
    LIVE_TOPIC,
    apply_update,
    queue_update,
    reoptimise_day,
    reoptimise_due,
    started_plan,
    update_day,
)
from core.dispatch.models import DispatchPlan
from core.dispatch.reasons import UNREACHABLE, WAITING_FOR_PLAN
from core.dispatch.service import current_plan, plan_day
from core.identity.models import User
from core.outbox.models import OutboxMessage
from core.outbox.service import deliver_due
from core.places.models import Office, PostOffice
from core.settings import Settings
from tests.core.dispatch.checks import saved_plan_violations
from tests.core.dispatch.test_service import DAY, MORNING, _book, _day, _stops
from tests.factories import make_office, make_post_office, make_user


@pytest.fixture
def place(db: Session) -> tuple[PostOffice, list[Office], list[User]]:
    post = make_post_office(db, name="Bưu cục thử kế hoạch sống")
    offices = [make_office(db, lat=21.1861, lon=106.0763),
               make_office(db, lat=21.2110, lon=106.0500)]  # fmt: skip
    couriers = [make_user(db, "courier", post_office_id=post.id) for _ in range(3)]
    return post, offices, couriers


def test_a_day_without_a_plan_gets_draft_routes_and_the_rest_waits_for_the_plan(
    db: Session, settings: Settings, place: tuple[PostOffice, list[Office], list[User]]
) -> None:
    post, offices, _ = place
    # Short shifts: the three couriers cannot take ten 08:00-10:00 pickups between them.
    short = settings.model_copy(update={"dispatch_shift_end": time(8, 40)})
    rng = random.Random(3)
    for i in range(10):
        _book(db, short, post, offices[i % 2], rng, slot=(8, 10))
    summary = update_day(db, short, post_office_id=post.id, day=DAY,
                         now=MORNING - timedelta(hours=10))  # fmt: skip
    assert started_plan(db, post.id, DAY) is None
    rows = _stops(db, post)
    routed = [r for r in rows if r.courier_id is not None]
    waiting = [r for r in rows if r.courier_id is None]
    assert routed and waiting and summary.stops_assigned == len(routed)
    # What the draft cannot take waits for the plan (the few no courier could reach even
    # alone before 08:40 say that instead).
    reasons = Counter(r.unassigned_reason for r in waiting)
    assert reasons[WAITING_FOR_PLAN] >= 2 and set(reasons) <= {WAITING_FOR_PLAN, UNREACHABLE}
    assert saved_plan_violations(db, short, post.id, DAY) == []
    # The day's plan then starts it; the draft was only provisional.
    plan_day(db, short, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.5)
    assert started_plan(db, post.id, DAY) is not None


def test_reoptimisation_keeps_the_live_routes_unless_it_does_better(
    db: Session, settings: Settings, place: tuple[PostOffice, list[Office], list[User]]
) -> None:
    post, offices, _ = place
    _day(db, settings, post, offices, pickups=6, results=0)
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.5)
    before = {r.id: (r.courier_id, r.sequence) for r in _stops(db, post)}
    # Right after a good plan there is nothing to gain: every courier keeps their stops.
    summary = reoptimise_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING,
                             time_limit_s=0.5)  # fmt: skip
    assert summary.engine == "kept"
    assert {r.id: (r.courier_id, r.sequence) for r in _stops(db, post)} == before
    assert saved_plan_violations(db, settings, post.id, DAY) == []


def test_periodic_reoptimisation_follows_the_setting(
    db: Session, settings: Settings, place: tuple[PostOffice, list[Office], list[User]]
) -> None:
    post, offices, _ = place
    _day(db, settings, post, offices, pickups=4, results=0)
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.5)
    factory = sessionmaker(bind=db.connection(), join_transaction_mode="create_savepoint",
                           expire_on_commit=False)  # fmt: skip
    assert reoptimise_due(factory, settings, now=MORNING + timedelta(hours=2)) == []  # off
    every_30 = settings.model_copy(update={"dispatch_reoptimise_minutes": 30,
                                           "dispatch_time_limit_s": 0.3})  # fmt: skip
    # 20 minutes after the plan: not yet due.
    assert not [s for s in reoptimise_due(factory, every_30, now=MORNING + timedelta(minutes=20))
                if s.post_office_id == post.id]  # fmt: skip
    ran = [s for s in reoptimise_due(factory, every_30, now=MORNING + timedelta(minutes=40))
           if s.post_office_id == post.id]  # fmt: skip
    assert len(ran) == 1
    triggers = db.scalars(select(DispatchPlan.trigger).where(
        DispatchPlan.post_office_id == post.id).order_by(DispatchPlan.id)).all()  # fmt: skip
    assert triggers == ["plan", "reopt"]
    # Just done: the next one is 30 minutes later.
    assert not [s for s in reoptimise_due(factory, every_30, now=MORNING + timedelta(minutes=50))
                if s.post_office_id == post.id]  # fmt: skip


def test_a_failing_update_changes_nothing_and_is_retried(
    db: Session, settings: Settings, place: tuple[PostOffice, list[Office], list[User]]
) -> None:
    post, offices, _ = place
    _day(db, settings, post, offices, pickups=3, results=0)
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.5)
    before = {r.id: (r.courier_id, r.sequence, r.eta) for r in _stops(db, post)}
    # A post office that does not exist: the handler raises inside its savepoint.
    queue_update(db, post_office_id=-1, day=DAY, case_id=None, cause="test")
    queue_update(db, post_office_id=post.id, day=DAY, case_id=None, cause="test")
    db.flush()
    factory = sessionmaker(bind=db.connection(), join_transaction_mode="create_savepoint",
                           expire_on_commit=False)  # fmt: skip
    deliver_due(factory, settings, {LIVE_TOPIC: apply_update}, now=MORNING + timedelta(hours=1),
                limit=500)  # fmt: skip
    db.expire_all()
    mine = db.scalars(select(OutboxMessage).where(
        OutboxMessage.topic == LIVE_TOPIC,
        OutboxMessage.payload["post_office_id"].as_integer().in_([-1, post.id]),
    ).order_by(OutboxMessage.id)).all()  # fmt: skip
    bad, good = mine[-2:]
    assert bad.status == "pending" and bad.attempts == 1 and "post office" in (bad.last_error or "")
    assert good.status == "delivered" and good.provider_message_id is not None
    # The good one re-timed the day as one live update; the bad one left nothing behind.
    triggers = db.scalars(select(DispatchPlan.trigger).where(
        DispatchPlan.post_office_id == post.id).order_by(DispatchPlan.id)).all()  # fmt: skip
    assert triggers == ["plan", "update"]
    after = {r.id: (r.courier_id, r.sequence) for r in _stops(db, post)}
    assert after == {k: v[:2] for k, v in before.items()}


def test_the_booking_pages_read_of_the_routes_matches_the_synced_day(
    db: Session, settings: Settings, place: tuple[PostOffice, list[Office], list[User]]
) -> None:
    post, offices, _ = place
    _day(db, settings, post, offices, pickups=6, results=2)
    plan_day(db, settings, post_office_id=post.id, day=DAY, now=MORNING, time_limit_s=0.5)
    kwargs = {"post_office_id": post.id, "day": DAY, "now": MORNING, "assigned_only": True}
    synced = build_day(db, settings, **kwargs)  # type: ignore[arg-type]
    read = build_day(db, settings, synced=False, **kwargs)  # type: ignore[arg-type]
    assert read.problem.shipments == synced.problem.shipments
    assert read.problem.jobs == synced.problem.jobs
    assert read.problem.vehicles == synced.problem.vehicles
    assert current_plan(db, read).routes == current_plan(db, synced).routes
