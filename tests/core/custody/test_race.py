"""Two actors racing for one item: exactly one wins, the other gets a clear conflict."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.custody.models import CustodyEvent, CustodyException, ItemState
from core.custody.parties import Actor
from core.custody.service import ScanResult, record
from core.db import transaction
from core.identity.service import actor_for
from core.settings import Settings
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import VN, dossier_of, make_case, make_post_office, make_user


def test_two_couriers_scan_one_item_at_once(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(committing) as session:
        post = make_post_office(session)
        case = make_case(session, settings, post_office=post)
        code = dossier_of(session, case).code
        item_id = case.dossier_item_id
        actors = [actor_for(make_user(session, "courier", post_office_id=post.id))
                  for _ in range(2)]  # fmt: skip

    barrier = threading.Barrier(2)
    results: dict[str, ScanResult] = {}

    def courier_scans(actor: Actor) -> None:
        command = scan("picked_up", code, details=PICKUP_DETAILS, occurred_at=datetime.now(VN))
        barrier.wait()
        with transaction(committing) as session:
            results[actor.party] = record(session, actor, [command])[0]

    threads = [threading.Thread(target=courier_scans, args=(a,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    outcomes = sorted(r.outcome for r in results.values())
    assert outcomes == ["accepted", "exception"]
    loser = next(r for r in results.values() if r.outcome == "exception")
    assert loser.reason_code == "conflict"
    assert "not allowed when the item is picked_up" in (loser.detail or "")
    winner = next(p for p, r in results.items() if r.outcome == "accepted")
    with transaction(committing) as session:
        state = session.get(ItemState, item_id)
        assert state is not None and state.custodian == winner
        events = session.scalar(
            select(func.count()).select_from(CustodyEvent).where(CustodyEvent.item_id == item_id)
        )
        assert events == 2
        assert session.scalar(select(func.count()).select_from(CustodyException)
                              .where(CustodyException.item_id == item_id)) == 1  # fmt: skip


def test_two_desk_officers_confirm_one_hand_off_at_once(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(committing) as session:
        post = make_post_office(session)
        case = make_case(session, settings, post_office=post)
        code = dossier_of(session, case).code
        item_id = case.dossier_item_id
        courier = actor_for(make_user(session, "courier", post_office_id=post.id))
        first_desk = make_user(session, "desk_officer")
        desks = [
            actor_for(first_desk),
            actor_for(make_user(session, "desk_officer", office_id=first_desk.office_id)),
        ]
        record(session, courier, [scan("picked_up", code, details=PICKUP_DETAILS)])
        record(session, courier, [scan("handover_offered", code, to_party=desks[0].party)])

    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def desk_confirms(actor: Actor) -> None:
        command = scan("handover_confirmed", code, occurred_at=datetime.now(VN))
        barrier.wait()
        with transaction(committing) as session:
            result = record(session, actor, [command])[0]
        with lock:
            outcomes.append(result.outcome)

    threads = [threading.Thread(target=desk_confirms, args=(d,)) for d in desks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["accepted", "exception"]
    with transaction(committing) as session:
        state = session.get(ItemState, item_id)
        assert state is not None
        assert (state.status, state.custodian) == ("handed_over", desks[0].party)
        confirmations = session.scalar(
            select(func.count())
            .select_from(CustodyEvent)
            .where(CustodyEvent.item_id == item_id, CustodyEvent.kind == "handover_confirmed")
        )
        assert confirmations == 1
