"""The demo day shows figures: the seed's cases, read through the roll-up like any ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from core.access import SlaReach
from core.settings import Settings
from core.sla.report import Period, figures
from core.sla.rollup import catch_up
from tests.demo import seed_demo_as_installed
from vntime import VN


def test_the_demo_day_has_figures(db: Session, settings: Settings) -> None:
    now = datetime.now(UTC)
    seed_demo_as_installed(db, settings, now=now)
    catch_up(db, settings, now=now)
    # The demo's week lies before today (today has its bookings and plan, not yet events).
    today = now.astimezone(VN).date()
    week = Period(today - timedelta(days=14), today)
    got = {f.measure.key: f for f in figures(db, SlaReach("province", "24"), week)}
    for key in ("pickup_on_time", "door_to_desk", "result_on_time", "first_attempt"):
        assert got[key].total > 0, key
    # Late and failed cases on purpose: not every figure is a perfect score.
    assert got["pickup_on_time"].hits < got["pickup_on_time"].total
    assert got["first_attempt"].hits < got["first_attempt"].total
    # The demo's desks take the fees the couriers collected: the fee measure has figures.
    assert got["fees_handed_on_time"].total > 0
