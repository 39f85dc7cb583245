"""Corrections from the front door, in core: the corrective event restates the wrong one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.admin.users import Binding
from core.custody.models import CustodyEvent, ItemState
from core.custody.parties import party
from core.custody.service import record_one
from core.custody.verify import verify_ledger
from core.errors import Conflict, Forbidden, InvalidInput
from core.identity.service import actor_for
from core.ledger.corrections import correct_event
from core.settings import Settings
from tests.core.admin.helpers import staff
from tests.core.custody.helpers import scan
from tests.factories import make_case, make_office, make_user
from tests.journey import hand_to_office


def _out_for_delivery(db: Session, settings: Settings) -> tuple[str, object, object]:
    """A result out for delivery with a failed attempt recorded with the wrong reason."""
    from core.cases.service import register_result

    office = make_office(db)
    courier = make_user(db, "courier")
    desk = make_user(db, "desk_officer", office_id=office.id)
    case = make_case(db, settings, office=office)
    hand_to_office(db, case, courier, desk)
    result = register_result(db, settings, actor_for(desk), case, now=datetime.now(UTC))
    record_one(db, actor_for(courier), scan("handover_offered", result.code,
                                            to_party=actor_for(courier).party))  # fmt: skip
    record_one(db, actor_for(desk), scan("handover_confirmed", result.code))
    record_one(db, actor_for(courier), scan("out_for_delivery", result.code))
    absent = {"reason_code": "addressee_absent"}
    record_one(db, actor_for(courier), scan("attempt_failed", result.code, details=absent))
    return result.code, courier, desk


def test_a_dispatcher_restates_a_couriers_attempt_with_the_right_reason(
    db: Session, settings: Settings
) -> None:
    code, courier, _ = _out_for_delivery(db, settings)
    wrong = db.scalars(select(CustodyEvent).where(CustodyEvent.kind == "attempt_failed",
                                                  CustodyEvent.raw_code == code)).one()  # fmt: skip
    dispatcher = actor_for(make_user(db, "dispatcher"))
    done = correct_event(db, dispatcher, wrong_event_id=wrong.event_id, reason="incorrect_data",
                         note="khách hẹn lại", now=datetime.now(UTC),
                         corrective=scan("attempt_failed", code, occurred_at=wrong.occurred_at,
                                         details={"reason_code": "rescheduled"}))  # fmt: skip
    assert done.corrective is not None
    restated_id = uuid.UUID(done.corrective.events[0]["event_id"])
    restated = db.scalars(select(CustodyEvent).where(CustodyEvent.event_id == restated_id)).one()
    # The courier's event, restated by the dispatcher: the ledger names both.
    assert restated.actor_party == party("courier", courier.id)  # type: ignore[attr-defined]
    assert (restated.actor_role, restated.actor_user_id) == ("dispatcher", dispatcher.user_id)
    assert restated.corrects_event_id == wrong.event_id
    assert restated.details["reason_code"] == "rescheduled"
    state = db.get(ItemState, restated.item_id)
    assert state is not None and (state.status, state.delivery_attempts) == ("attempt_failed", 1)
    assert verify_ledger(db).ok


def test_who_may_correct_and_what_a_correction_may_say(db: Session, settings: Settings) -> None:
    code, courier, desk = _out_for_delivery(db, settings)
    wrong = db.scalars(select(CustodyEvent).where(CustodyEvent.kind == "attempt_failed",
                                                  CustodyEvent.raw_code == code)).one()  # fmt: skip
    now = datetime.now(UTC)
    with pytest.raises(Forbidden):
        correct_event(db, actor_for(courier), wrong_event_id=wrong.event_id,  # type: ignore[arg-type]
                      reason="did_not_occur", note=None, corrective=None, now=now)  # fmt: skip
    supervisor = actor_for(staff(db, "province_supervisor", Binding(province_code="24")))
    with pytest.raises(InvalidInput) as other_kind:
        correct_event(db, supervisor, wrong_event_id=wrong.event_id, reason="incorrect_data",
                      note=None, corrective=scan("delivered", code), now=now)  # fmt: skip
    assert other_kind.value.field == "corrective.kind"
    with pytest.raises(InvalidInput) as missing:
        correct_event(db, supervisor, wrong_event_id=wrong.event_id, reason="incorrect_data",
                      note=None, corrective=scan("attempt_failed", code), now=now)  # fmt: skip
    assert missing.value.field == "corrective.details.reason_code"
    # An out-for-delivery that "did not occur" has an attempt after it: declare that first.
    out = db.scalars(select(CustodyEvent).where(CustodyEvent.kind == "out_for_delivery",
                                                CustodyEvent.raw_code == code)).one()  # fmt: skip
    with pytest.raises(Conflict, match="declare them wrong first"):
        correct_event(db, supervisor, wrong_event_id=out.event_id, reason="did_not_occur",
                      note=None, corrective=None, now=now)  # fmt: skip
    done = correct_event(db, supervisor, wrong_event_id=wrong.event_id, reason="did_not_occur",
                         note="không có lần phát này", corrective=None, now=now)  # fmt: skip
    assert done.declaration.events[0]["status"] == "out_for_delivery"
