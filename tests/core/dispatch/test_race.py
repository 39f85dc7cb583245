"""Two dispatchers plan the same day at the same moment: one set of rows, one consistent plan."""

from __future__ import annotations

import random
import threading
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.dispatch.models import DispatchPlan, RouteStop
from core.dispatch.service import PlanSummary, plan_day
from core.settings import Settings
from tests.core.dispatch.checks import saved_plan_violations
from tests.factories import make_case, make_office, make_post_office, make_user
from vntime import VN

DAY = date(2031, 3, 6)
MORNING = datetime(2031, 3, 6, 6, 0, tzinfo=VN)


def test_two_plans_at_once_do_not_duplicate_or_mix_rows(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    rng = random.Random(5)
    with transaction(committing) as session:
        post = make_post_office(session)
        office = make_office(session)
        for _ in range(2):
            make_user(session, "courier", post_office_id=post.id)
        for hour in (8, 9, 10, 13, 14):
            start = datetime(DAY.year, DAY.month, DAY.day, hour, tzinfo=VN)
            make_case(session, settings, post_office=post, office=office, service_option="send",
                      now=MORNING - timedelta(days=1), pickup_window_start=start,
                      pickup_window_end=start + timedelta(hours=2),
                      lat=21.18 + rng.uniform(-0.02, 0.02),
                      lon=106.07 + rng.uniform(-0.02, 0.02))  # fmt: skip
        post_id = post.id

    barrier = threading.Barrier(2)
    results: list[PlanSummary | BaseException] = []

    def dispatcher() -> None:
        try:
            with transaction(committing) as session:
                barrier.wait()
                results.append(plan_day(session, settings, post_office_id=post_id, day=DAY,
                                        now=MORNING, time_limit_s=0.3))  # fmt: skip
        except BaseException as exc:  # noqa: BLE001  reported by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(isinstance(r, PlanSummary) for r in results), results

    with transaction(committing) as session:
        rows = session.scalar(
            select(func.count()).select_from(RouteStop).where(RouteStop.post_office_id == post_id)
        )
        assert rows == 10, "one home pickup and one office drop per booking, not two"
        plans = session.scalar(
            select(func.count()).select_from(DispatchPlan)
            .where(DispatchPlan.post_office_id == post_id)
        )  # fmt: skip
        assert plans == 2
        assert saved_plan_violations(session, settings, post_id, DAY) == []
