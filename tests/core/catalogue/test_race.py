"""Two imports of the same new rows at once: they take turns, neither fails on the unique key."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.catalogue.access import CatalogueScope
from core.catalogue.service import ImportReport, import_file
from core.db import transaction
from core.places.models import PostOffice
from tests.core.catalogue.helpers import csv_bytes
from tests.factories import unique

POST_HEADER = ["code", "province_code", "commune_code", "name", "address", "lat", "lon"]


def test_concurrent_imports_of_one_file_create_each_row_once(
    committing: sessionmaker[Session],
) -> None:
    codes = [unique("RACE-")[:40] for _ in range(3)]
    data = csv_bytes([POST_HEADER, *[[c, "24", "09187", "Bưu cục", "Kinh Bắc", "", ""]
                                     for c in codes]])  # fmt: skip
    barrier = threading.Barrier(2)
    reports: list[ImportReport] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with transaction(committing) as session:
                barrier.wait(timeout=10)
                reports.append(import_file(session, "post_offices", data,
                                           CatalogueScope.everything()))  # fmt: skip
        except BaseException as exc:  # noqa: BLE001  reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert sorted(len(r.created) for r in reports) == [0, 3]
    assert sorted(r.unchanged for r in reports) == [0, 3]
    with transaction(committing) as session:
        stored = session.scalar(
            select(func.count()).select_from(PostOffice).where(PostOffice.code.in_(codes))
        )
    assert stored == 3
