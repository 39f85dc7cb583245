"""A web request is atomic: when a service refuses inside a page's form handler, nothing it
wrote before refusing stays (``api.web.attempt`` runs it in a savepoint).

These run with the app's own request transactions (``RealTransactions``): the refusal is
answered with a normal page or redirect, so the request's transaction commits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.cases.models import Booking
from core.custody.models import CustodyEvent, Item, ItemState
from core.custody.parties import party
from core.custody.service import record_one
from core.handovers.models import Handover, HandoverLine
from core.handovers.service import open_handover
from core.identity.models import User
from core.identity.service import actor_for, issue_token
from core.media.models import MediaObject
from core.outbox.models import OutboxMessage
from core.settings import Settings
from tests.api.conftest import RealTransactions
from tests.core.custody.helpers import scan
from tests.factories import make_case, make_office, make_user
from tests.journey import pick_up

# A 1x1 PNG: a signature drawn on the desk's canvas.
PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _state(db: Session) -> dict[str, Any]:
    """Everything a refused form could have written, read afresh."""
    db.expire_all()
    return {
        "events": db.execute(
            select(CustodyEvent.item_id, CustodyEvent.seq, CustodyEvent.kind).order_by(
                CustodyEvent.item_id, CustodyEvent.seq
            )
        ).all(),
        "states": db.execute(
            select(ItemState.item_id, ItemState.status).order_by(ItemState.item_id)
        ).all(),
        "handovers": db.execute(select(Handover.id, Handover.status).order_by(Handover.id)).all(),
        "lines": db.execute(
            select(HandoverLine.item_code, HandoverLine.outcome).order_by(HandoverLine.item_code)
        ).all(),
        "bookings": db.execute(
            select(Booking.id, Booking.pickup_window_start).order_by(Booking.id)
        ).all(),
        "outbox": db.scalar(select(func.count()).select_from(OutboxMessage)),
        "media": db.scalar(select(func.count()).select_from(MediaObject)),
    }


def _signed_in(real: RealTransactions, settings: Settings, user: User) -> None:
    token = issue_token(real.db, settings, user, now=datetime.now(UTC)).token
    real.client.cookies.set("hoso_session", token)


def test_a_refused_handover_completion_at_the_desk_leaves_the_ledger_as_it_was(
    real: RealTransactions, settings: Settings
) -> None:
    """aesthetics.md §10, probe 2: one listed item was declared lost, so completing declines
    the first line and then refuses on the second; the first decline must not stay."""
    db = real.db
    office = make_office(db)
    desk = make_user(db, "desk_officer", office_id=office.id)
    courier = make_user(db, "courier")
    dispatcher = make_user(db, "dispatcher")
    codes = [pick_up(db, make_case(db, settings, office=office), courier) for _ in range(2)]
    opened = open_handover(db, actor_for(courier), giver=party("courier", courier.id),
                           receiver=party("office", office.id), item_codes=codes,
                           now=datetime.now(UTC))  # fmt: skip
    lost = scan("lost", codes[1], details={"reason_code": "not_found"})
    record_one(db, actor_for(dispatcher), lost)
    _signed_in(real, settings, desk)
    db.commit()
    before = _state(db)

    answer = real.client.post(
        f"/desk/handovers/{opened.handover.id}/complete",
        data={"fees_confirmed_vnd": "0", "courier_signature": PNG, "desk_signature": PNG},
    )
    assert answer.status_code == 303 and "error=" in answer.headers["location"]
    assert _state(db) == before
    first_item_kinds = db.scalars(
        select(CustodyEvent.kind)
        .join(ItemState, ItemState.item_id == CustodyEvent.item_id)
        .where(ItemState.item_id == select(Item.id).where(Item.code == codes[0]).scalar_subquery())
    ).all()
    assert "handover_declined" not in first_item_kinds
    assert db.get(Handover, opened.handover.id).status == "open"  # type: ignore[union-attr]


def test_a_refused_citizen_action_leaves_the_booking_as_it_was(
    real: RealTransactions, settings: Settings
) -> None:
    db = real.db
    citizen = make_user(db, "citizen")
    case = make_case(db, settings, citizen_user_id=citizen.id)
    _signed_in(real, settings, citizen)
    db.commit()
    before = _state(db)

    past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    moved = real.client.post(f"/my/cases/{case.id}/reschedule",
                             data={"pickup_window_start": past})  # fmt: skip
    rated = real.client.post(f"/my/cases/{case.id}/rating", data={"stars": "5"})
    assert (moved.status_code, rated.status_code) == (422, 422)
    assert _state(db) == before
