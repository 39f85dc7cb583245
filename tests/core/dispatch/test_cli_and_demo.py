"""``hoso plan`` against committed data, and the demo's planned day."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.cli import app
from core.db import transaction
from core.dispatch.models import DispatchPlan, RouteStop
from core.places.models import PostOffice
from core.seed import seed_dispatch_day
from core.settings import Settings, get_settings
from tests.core.dispatch.checks import saved_plan_violations
from tests.demo import seed_demo_as_installed
from tests.factories import make_case, make_office, make_post_office, make_user
from vntime import VN

DAY = date(2031, 3, 5)


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    return CliRunner()


def test_hoso_plan_prints_each_courier_and_saves_the_plan(
    runner: CliRunner, committing: sessionmaker[Session], settings: Settings
) -> None:
    rng = random.Random(11)
    with transaction(committing) as session:
        post = make_post_office(session)
        office = make_office(session)
        for name in ("Nguyễn Văn Tâm", "Đỗ Thị Uyên"):
            make_user(session, "courier", post_office_id=post.id, full_name=name)
        for hour in (8, 8, 10, 13, 15, 15):
            start = datetime(DAY.year, DAY.month, DAY.day, hour, tzinfo=VN)
            make_case(session, settings, post_office=post, office=office, service_option="send",
                      now=start - timedelta(days=1), pickup_window_start=start,
                      pickup_window_end=start + timedelta(hours=2),
                      lat=21.18 + rng.uniform(-0.02, 0.02),
                      lon=106.07 + rng.uniform(-0.02, 0.02))  # fmt: skip
        code, post_id = post.code, post.id

    result = runner.invoke(
        app, ["plan", "--post-office", code, "--date", DAY.isoformat(), "--time-limit", "0.5"]
    )
    assert result.exit_code == 0, result.output
    assert "Nguyễn Văn Tâm" in result.output or "Đỗ Thị Uyên" in result.output
    assert "12 stops routed, 0 unassigned" in result.output
    with transaction(committing) as session:
        assert session.scalar(select(DispatchPlan).where(DispatchPlan.post_office_id == post_id))
        assert saved_plan_violations(session, settings, post_id, DAY) == []


@pytest.mark.parametrize(
    ("code", "day", "message"),
    [
        ("NO-SUCH", "2031-03-05", "no post office"),
        (None, "2031-02-30", "is not a date"),
        (None, "2020-01-01", "in the past"),
    ],
)
def test_hoso_plan_refuses_bad_input(
    runner: CliRunner, committing: sessionmaker[Session], code: str | None, day: str,
    message: str,
) -> None:  # fmt: skip
    with transaction(committing) as session:
        code = code or make_post_office(session).code
    result = runner.invoke(app, ["plan", "--post-office", code, "--date", day])
    assert result.exit_code == 2
    assert message in result.output


def test_demo_seed_plans_today_at_the_hub_once(db: Session, settings: Settings) -> None:
    now = datetime.now(UTC)
    seed_demo_as_installed(db, settings, now=now)
    assert seed_dispatch_day(db, settings, now=now) is True
    hub = db.scalar(select(PostOffice).where(PostOffice.code == "BN-01"))
    assert hub is not None
    today = now.astimezone(VN).date()
    stops = list(db.scalars(select(RouteStop).where(RouteStop.post_office_id == hub.id,
                                                    RouteStop.service_date == today)))  # fmt: skip
    routed = [s for s in stops if s.courier_id is not None]
    assert len(routed) >= 10, "the dispatcher sees routes"
    assert saved_plan_violations(db, settings, hub.id, today) == []
    assert seed_dispatch_day(db, settings, now=now) is False  # idempotent
