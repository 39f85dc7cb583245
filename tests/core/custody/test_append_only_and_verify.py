"""The database refuses edits to the ledger even from its owner; verify catches what the owner
forces through by switching the trigger off. (The app's role cannot even try: see
tests/core/test_database_roles.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.custody.models import CustodyEvent, ItemState
from core.custody.server_signing import event_signer
from core.custody.service import record_one
from core.custody.verify import rebuild_projections, verify_ledger
from core.identity.service import actor_for
from core.settings import Settings
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of, make_case, make_user


def _picked_up_item(db: Session, settings: Settings) -> str:
    item = dossier_of(db, make_case(db, settings))
    courier = actor_for(make_user(db, "courier"))
    record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
    record_one(db, courier, scan("handover_offered", item.code, to_party="office:1"))
    return item.code


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE custody_events SET kind = 'delivered' WHERE raw_code = :code",
        "DELETE FROM custody_events WHERE raw_code = :code",
        "TRUNCATE custody_events CASCADE",
    ],
)
def test_the_database_refuses_to_change_history(
    owner_db: Session, settings: Settings, statement: str
) -> None:
    code = _picked_up_item(owner_db, settings)
    with pytest.raises(DBAPIError, match="append-only"), owner_db.begin_nested():
        owner_db.execute(text(statement), {"code": code})


def _tamper(db: Session, statement: str, **params: object) -> None:
    # What the table's owner (or a superuser) can do: switch the trigger off and edit.
    db.execute(text("ALTER TABLE custody_events DISABLE TRIGGER custody_events_append_only"))
    db.execute(text(statement), params)
    db.execute(text("ALTER TABLE custody_events ENABLE TRIGGER custody_events_append_only"))
    db.expire_all()


def test_verify_passes_on_an_honest_ledger(db: Session, settings: Settings) -> None:
    _picked_up_item(db, settings)
    report = verify_ledger(db)
    assert report.ok, report.problems
    assert report.events_checked >= 3


def test_verify_catches_an_edited_event(owner_db: Session, settings: Settings) -> None:
    db = owner_db
    code = _picked_up_item(db, settings)
    _tamper(db, "UPDATE custody_events SET details = '{\"seal_number\": \"FORGED\"}' "
                "WHERE raw_code = :code AND seq = 2", code=code)  # fmt: skip
    problems = [(p.seq, p.problem) for p in verify_ledger(db).problems if p.item_code == code]
    # The chain and the server's signature of the event both catch the edit.
    assert problems == [
        (2, "hash does not match the event's content"),
        (2, f"server signature (key {event_signer().key_id}) does not match the event"),
    ]


def test_verify_catches_a_deleted_event(owner_db: Session, settings: Settings) -> None:
    db = owner_db
    code = _picked_up_item(db, settings)
    _tamper(db, "DELETE FROM custody_events WHERE raw_code = :code AND seq = 2", code=code)
    problems = [p for p in verify_ledger(db).problems if p.item_code == code]
    assert problems and problems[0].seq == 3 and "sequence gap" in problems[0].problem


def test_verify_catches_a_rehashed_forgery_through_the_next_link(
    owner_db: Session, settings: Settings
) -> None:
    db = owner_db
    code = _picked_up_item(db, settings)
    # A forger who recomputes the edited event's own hash still breaks the next prev_hash.
    _tamper(db, "UPDATE custody_events SET hash = repeat('a', 64) "
                "WHERE raw_code = :code AND seq = 2", code=code)  # fmt: skip
    problems = [p for p in verify_ledger(db).problems if p.item_code == code]
    assert problems and problems[0].seq == 2


def test_verify_catches_an_edited_projection_and_rebuild_repairs_it(
    db: Session, settings: Settings
) -> None:
    code = _picked_up_item(db, settings)
    item_id = db.scalar(select(CustodyEvent.item_id).where(CustodyEvent.raw_code == code))
    db.execute(
        text("UPDATE item_states SET custodian = 'courier:999' WHERE item_id = :id"),
        {"id": item_id},
    )
    db.expire_all()
    problems = [p for p in verify_ledger(db).problems if p.item_code == code]
    assert problems and "projection" in problems[0].problem
    assert rebuild_projections(db) >= 1
    state = db.get(ItemState, item_id)
    assert state is not None and state.custodian.startswith("courier:")
    assert state.custodian != "courier:999"
    assert not [p for p in verify_ledger(db).problems if p.item_code == code]
