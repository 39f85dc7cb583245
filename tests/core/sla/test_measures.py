"""Each measure on a hand-built day whose answers are known, read the way the dashboard
reads them: the ledger → the roll-up pass → ``core.sla.report``."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from core.settings import Settings
from core.sla.report import Period, breakdown, figures, late_now, reason_counts, trends
from tests.core.sla.helpers import DAY, at, build_day


def _by_key(db: Session, reach: object, period: Period) -> dict[str, tuple[int, int]]:
    return {f.measure.key: (f.hits, f.total) for f in figures(db, reach, period)}  # type: ignore[arg-type]


def test_each_measure_on_a_known_day(db: Session, settings: Settings) -> None:
    world = build_day(db, settings)
    week = Period(DAY, DAY + timedelta(days=6))
    # The post office is the day's own; the province also holds what other tests committed.
    got = _by_key(db, world.at_post_office, week)
    assert got["pickup_on_time"] == (7, 10)
    assert got["door_to_desk"] == (5, 8)
    assert got["result_on_time"] == (2, 3)
    assert got["first_attempt"] == (2, 4)
    assert got["returns"] == (1, 4)
    assert got["desk_handover"] == (1, 2)
    assert got["satisfaction"] == (1, 2)
    assert got["rating_response"] == (2, 3)
    assert got["complaint_on_time"] == (0, 0)
    assert reason_counts(db, world.at_post_office, week) == {
        "on_time": 1, "courteous": 1, "late": 1}  # fmt: skip
    # The same figures at the post office's level, and each counted on its own day; whole
    # months are read from the monthly rows, the days around them from the daily rows.
    province = _by_key(db, world.province, week)
    assert all(province[k][1] >= total for k, (_, total) in got.items())
    for start, end in ((date(2026, 11, 1), date(2026, 12, 31)),
                       (date(2026, 11, 20), date(2026, 12, 31)),
                       (date(2026, 10, 15), date(2026, 12, 10))):  # fmt: skip
        assert _by_key(db, world.at_post_office, Period(start, end)) == got, (start, end)
    first_day = _by_key(db, world.at_post_office, Period(DAY, DAY))
    assert first_day["pickup_on_time"] == (7, 10)
    assert first_day["door_to_desk"] == (5, 5)
    assert first_day["result_on_time"] == (0, 0)


def test_trend_breakdown_and_late_now(db: Session, settings: Settings) -> None:
    world = build_day(db, settings)
    week = Period(DAY, DAY + timedelta(days=6))
    trend = trends(db, world.at_post_office, week)["door_to_desk"]
    assert [(p.hits, p.total) for p in trend] == [(5, 5), (0, 0), (0, 3), (0, 0), (0, 0),
                                                   (0, 0), (0, 0)]  # fmt: skip
    rows = breakdown(db, world.at_post_office, week, "courier")
    assert [r.name for r in rows] == ["Lê Văn Bưu"]
    assert (rows[0].figures["pickup_on_time"].hits, rows[0].figures["pickup_on_time"].total) == (
        7,
        10,
    )
    # Two days after the pickups, the two dossiers never handed over are past 24 hours, held
    # by the courier.
    late = late_now(db, world.at_post_office, now=at(2, 12))
    dossiers = sorted(i.item_code or "" for i in late if i.stage == "door_to_desk")
    assert dossiers == sorted(world.undelivered)
    assert {i.holder for i in late if i.stage == "door_to_desk"} == {f"courier:{world.courier.id}"}
    assert all(i.late_hours > 0 for i in late)
    # Before their deadline they are not late.
    early = late_now(db, world.at_post_office, now=at(0, 16))
    assert not [i for i in early if i.stage == "door_to_desk"]
