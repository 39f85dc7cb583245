"""``verify_ledger`` at more than one fetch of rows: long chains, a tampered event among
thousands, and a repair by ``rebuild_projections`` at the same size.

The check crashed past 2,000 events (it emptied the session while its ORM stream was still
fetching); these run it on a few thousand, recorded through the real service.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.custody.models import CustodyEvent, Item
from core.custody.service import record, record_one
from core.custody.verify import rebuild_projections, verify_ledger
from core.identity.service import actor_for
from core.settings import Settings
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of, make_case, make_user
from vntime import VN

ITEMS = 5
DAMAGE_NOTES_PER_ITEM = 500  # 5 x 501 events = 2,505, more than one fetch of the old check


def _long_chains(db: Session, settings: Settings) -> list[Item]:
    courier = actor_for(make_user(db, "courier"))
    items = [dossier_of(db, make_case(db, settings)) for _ in range(ITEMS)]
    for item in items:
        record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
    for item in items:
        notes = [
            scan("damage_noted", item.code, occurred_at=datetime.now(VN),
                 details={"reason_code": "wet", "note": f"check {n}"})
            for n in range(DAMAGE_NOTES_PER_ITEM)
        ]  # fmt: skip
        assert {r.outcome for r in record(db, courier, notes)} == {"accepted"}
    return items


def test_verify_checks_thousands_of_events_on_long_chains(db: Session, settings: Settings) -> None:
    items = _long_chains(db, settings)
    total = db.scalar(select(func.count()).select_from(CustodyEvent))
    assert total is not None and total > 2_500

    seen: list[tuple[int, int]] = []
    report = verify_ledger(db, progress=lambda i, e: seen.append((i, e)))

    assert report.ok, report.problems[:5]
    assert report.events_checked == total
    assert report.items_checked == db.scalar(select(func.count()).select_from(Item))
    # Progress is told more than once on the way and ends on the final count.
    assert len(seen) >= 2 and seen[-1] == (report.items_checked, report.events_checked)
    assert all(a[1] <= b[1] for a, b in zip(seen, seen[1:], strict=False))
    assert {i.code for i in items}.isdisjoint(p.item_code for p in report.problems)


def test_an_edited_event_deep_in_a_long_chain_is_named_by_item_and_sequence(
    owner_db: Session, settings: Settings
) -> None:
    # What the table's owner can do (the app's role cannot): switch the trigger off and edit.
    db = owner_db
    items = _long_chains(db, settings)
    victim = items[3]
    db.execute(text("ALTER TABLE custody_events DISABLE TRIGGER custody_events_append_only"))
    db.execute(
        text("UPDATE custody_events SET details = details || '{\"note\": \"forged\"}' "
             "WHERE item_id = :item AND seq = 377"),
        {"item": victim.id},
    )  # fmt: skip
    db.execute(text("ALTER TABLE custody_events ENABLE TRIGGER custody_events_append_only"))

    report = verify_ledger(db)

    # The chain and the server's signature of the event both name it.
    assert [(p.item_code, p.seq) for p in report.problems] == [(victim.code, 377)] * 2
    assert "hash does not match" in report.problems[0].problem
    assert "server signature" in report.problems[1].problem


def test_rebuild_repairs_projections_at_size(db: Session, settings: Settings) -> None:
    items = _long_chains(db, settings)
    db.execute(
        text("UPDATE item_states SET custodian = 'courier:999', last_seq = 1 "
             "WHERE item_id = ANY(:ids)"),
        {"ids": [i.id for i in items[:2]]},
    )  # fmt: skip
    broken = verify_ledger(db).problems
    assert {p.item_code for p in broken} == {i.code for i in items[:2]}
    assert rebuild_projections(db) == 2
    db.expire_all()
    assert verify_ledger(db).ok
