"""The demo day shows figures: the seed's cases, read through the roll-up like any ledger."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from core.access import SlaReach
from core.seed import seed_demo
from core.settings import Settings
from core.sla.report import Period, figures
from core.sla.rollup import catch_up
from vntime import VN


def test_the_demo_day_has_figures(db: Session, settings: Settings) -> None:
    now = datetime.now(UTC)
    seed_demo(db, settings, now=now)
    catch_up(db, settings, now=now)
    today = now.astimezone(VN).date()
    got = {f.measure.key: f.total for f in figures(db, SlaReach("province", "24"),
                                                   Period(today, today))}  # fmt: skip
    assert got["pickup_on_time"] > 0
    assert got["first_attempt"] > 0
