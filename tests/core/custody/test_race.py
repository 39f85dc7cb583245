"""Two actors racing for one item: exactly one wins, the other gets a clear conflict."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, sessionmaker

from core.custody.models import CustodyEvent, CustodyException, ItemState
from core.custody.parties import Actor
from core.custody.service import ScanCommand, ScanResult, record
from core.db import Base, transaction
from core.identity.service import actor_for
from core.places.models import PostOffice
from core.settings import Settings
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of, make_case, make_post_office, make_user
from vntime import VN


def _record_at_once(
    committing: sessionmaker[Session], attempts: list[tuple[Actor, ScanCommand]]
) -> list[ScanResult]:
    """Each attempt in its own thread and transaction, released together by a barrier."""
    barrier = threading.Barrier(len(attempts))
    results: list[ScanResult | None] = [None] * len(attempts)
    errors: list[BaseException] = []

    def attempt(index: int) -> None:
        actor, command = attempts[index]
        try:
            barrier.wait()
            with transaction(committing) as session:
                results[index] = record(session, actor, [command])[0]
        except BaseException as exc:  # surfaced to the test below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(attempts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert all(r is not None for r in results), "an attempt did not finish"
    return [r for r in results if r is not None]


def _count(session: Session, model: type[Base], *where: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _booked_dossier(session: Session, settings: Settings) -> tuple[PostOffice, str, int]:
    """A dossier booked with its own post office, so no other test's courier is in scope."""
    post = make_post_office(session)
    case = make_case(session, settings, post_office=post)
    assert case.dossier_item_id is not None
    return post, dossier_of(session, case).code, case.dossier_item_id


def test_two_couriers_scan_one_item_at_once(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(committing) as session:
        post, code, item_id = _booked_dossier(session, settings)
        actors = [actor_for(make_user(session, "courier", post_office_id=post.id))
                  for _ in range(2)]  # fmt: skip

    results = _record_at_once(
        committing,
        [
            (a, scan("picked_up", code, details=PICKUP_DETAILS, occurred_at=datetime.now(VN)))
            for a in actors
        ],
    )

    assert sorted(r.outcome for r in results) == ["accepted", "exception"]
    loser = next(r for r in results if r.outcome == "exception")
    assert loser.reason_code == "conflict"
    assert "not allowed when the item is picked_up" in (loser.detail or "")
    winner = next(a.party for a, r in zip(actors, results, strict=True) if r.outcome == "accepted")
    with transaction(committing) as session:
        state = session.get(ItemState, item_id)
        assert state is not None and state.custodian == winner
        assert _count(session, CustodyEvent, CustodyEvent.item_id == item_id) == 2
        assert _count(session, CustodyException, CustodyException.item_id == item_id) == 1


def test_two_desk_officers_confirm_one_hand_off_at_once(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(committing) as session:
        post, code, item_id = _booked_dossier(session, settings)
        courier = actor_for(make_user(session, "courier", post_office_id=post.id))
        first_desk = make_user(session, "desk_officer")
        desks = [
            actor_for(first_desk),
            actor_for(make_user(session, "desk_officer", office_id=first_desk.office_id)),
        ]
        record(session, courier, [scan("picked_up", code, details=PICKUP_DETAILS)])
        record(session, courier, [scan("handover_offered", code, to_party=desks[0].party)])

    results = _record_at_once(
        committing,
        [(d, scan("handover_confirmed", code, occurred_at=datetime.now(VN))) for d in desks],
    )

    assert sorted(r.outcome for r in results) == ["accepted", "exception"]
    with transaction(committing) as session:
        state = session.get(ItemState, item_id)
        assert state is not None
        assert (state.status, state.custodian) == ("handed_over", desks[0].party)
        confirmed = (CustodyEvent.item_id == item_id, CustodyEvent.kind == "handover_confirmed")
        assert _count(session, CustodyEvent, *confirmed) == 1
