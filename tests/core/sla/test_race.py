"""Two refreshers of the same subjects at once (two workers, or a worker and a complaint
answer) count each subject once: the fact row is locked before it is read."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from core.access import SlaReach
from core.db import transaction
from core.settings import Settings
from core.sla.report import Period, figures
from core.sla.rollup import refresh
from tests.core.sla.helpers import DAY, build_day


def test_concurrent_refreshes_count_each_subject_once(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(committing) as session:
        world = build_day(session, settings)
        case_ids = [c.id for c in world.cases]
        reach = SlaReach("post_office", province_code="24", ident=world.post_office.id)
        # Forget what build_day's catch-up added for these cases, so both threads find work.
        session.execute(
            text(
                "UPDATE sla_facts SET contributions = '[]' WHERE subject = 'case'"
                " AND subject_id = ANY(:ids)"
            ),
            {"ids": case_ids},
        )
        session.execute(
            text("DELETE FROM sla_daily WHERE post_office_id = :po"),
            {"po": world.post_office.id},
        )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            with transaction(committing) as session:
                refresh(session, settings, cases=case_ids, now=datetime.now(UTC))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with transaction(committing) as session:
        week = Period(DAY, DAY + timedelta(days=6))
        got = {f.measure.key: (f.hits, f.total) for f in figures(session, reach, week)}
    assert got["pickup_on_time"] == (7, 10)
    assert got["door_to_desk"] == (5, 8)
    assert got["first_attempt"] == (2, 4)
