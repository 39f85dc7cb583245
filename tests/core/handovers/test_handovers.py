"""Hand-over sittings on the real ledger: listed, received, discrepancies, completion."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.service import register_result
from core.custody.models import CustodyEvent, Item, ItemState
from core.custody.parties import Actor, party
from core.custody.service import record_one
from core.errors import Conflict, Forbidden, InvalidInput
from core.handovers.service import (
    complete_handover,
    handover_view,
    list_handovers,
    mark_line,
    open_handover,
    receive_item,
)
from core.identity.service import actor_for
from core.media.service import store_media
from core.places.models import Office
from core.settings import Settings
from labels.s10 import format_item_id
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of, make_case, make_user
from vntime import VN

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=VN)
PNG = b"\x89PNG\r\n\x1a\n" + b"signature"


def _picked_up_items(
    db: Session, settings: Settings, courier_actor: Actor, count: int
) -> list[Item]:
    items = []
    for _ in range(count):
        item = dossier_of(db, make_case(db, settings))
        record_one(db, courier_actor, scan("picked_up", item.code, details=PICKUP_DETAILS))
        items.append(item)
    return items


def _state(db: Session, item: Item) -> ItemState:
    db.expire_all()
    state = db.get(ItemState, item.id)
    assert state is not None
    return state


@pytest.fixture
def sides(db: Session) -> tuple[Actor, Actor, str]:
    courier, desk = make_user(db, "courier"), make_user(db, "desk_officer")
    return actor_for(courier), actor_for(desk), party("office", desk.office_id or 0)


def test_five_listed_one_missing_one_extra_one_damaged(
    db: Session, settings: Settings, sides: tuple[Actor, Actor, str]
) -> None:
    courier, desk, office = sides
    items = _picked_up_items(db, settings, courier, 5)
    stray = dossier_of(db, make_case(db, settings))
    opened = open_handover(db, courier, giver=courier.party, receiver=office,
                           item_codes=[i.code for i in items], now=NOW,
                           item_fees={i.code: 50_000 for i in items})  # fmt: skip
    handover = opened.handover
    assert opened.refused == [] and handover.code.startswith("BG-2026-")
    assert list_handovers(db, office) == [handover]

    for item in items[:3]:  # typed with spaces, as a scanner or a person might
        assert (
            receive_item(db, desk, handover.id, format_item_id(item.code), now=NOW).outcome
            == "confirmed"
        )
    again = receive_item(db, desk, handover.id, items[0].code, now=NOW)
    assert again.outcome == "confirmed"
    extra = receive_item(db, desk, handover.id, stray.code, now=NOW)
    assert (extra.outcome, extra.accepted, extra.item_id) == ("extra", False, stray.id)
    damaged = mark_line(db, desk, handover.id, items[3].code, outcome="seal_broken",
                        reason="Niêm phong bị rách", accept=True, now=NOW)  # fmt: skip
    assert (damaged.outcome, damaged.accepted) == ("seal_broken", True)

    signature = store_media(db, PNG, "image/png", uploaded_by_user_id=desk.user_id)
    # The fee of the dossier never presented was not handed over either.
    received = {i.code: 50_000 for i in items[:4]} | {items[4].code: 0}
    view = complete_handover(db, desk, handover.id, item_fees=received, now=NOW,
                             giver_signature_sha256=signature,
                             receiver_signature_sha256=signature)  # fmt: skip
    assert view.status == "completed"
    assert (view.fees_declared_vnd, view.fees_confirmed_vnd) == (250_000, 200_000)
    by_code = {line.item_code: line for line in view.lines}
    assert [by_code[i.code].fees_mismatch for i in items] == [False] * 4 + [True]
    assert view.counts == {"confirmed": 3, "extra": 1, "seal_broken": 1, "missing": 1}
    assert view.items_moved == 4 and view.fees_mismatch
    assert {line.item_code for line in view.discrepancies} == {
        stray.code,
        items[3].code,
        items[4].code,
    }
    for item in items[:4]:
        state = _state(db, item)
        assert (state.status, state.custodian, state.pending_to) == ("handed_over", office, None)
    missing = _state(db, items[4])
    assert (missing.status, missing.custodian, missing.pending_to) == (
        "picked_up",
        courier.party,
        None,
    )
    assert _state(db, stray).status == "booked"
    kinds = db.scalars(select(CustodyEvent.kind).where(CustodyEvent.item_id == items[3].id)
                       .order_by(CustodyEvent.seq)).all()  # fmt: skip
    assert kinds == [
        "booked",
        "picked_up",
        "handover_offered",
        "damage_noted",
        "handover_confirmed",
        "record_sealed",  # the signed record's content hash, on every listed item
    ]
    sealed = db.scalars(select(CustodyEvent).where(CustodyEvent.item_id == items[4].id,
                        CustodyEvent.kind == "record_sealed")).one()  # fmt: skip
    assert sealed.details == {"record": "handover", "ref": handover.code,
                              "content_sha256": view.content_sha256}  # fmt: skip
    declined = db.scalars(select(CustodyEvent).where(CustodyEvent.item_id == items[4].id,
                          CustodyEvent.kind == "handover_declined")).one()  # fmt: skip
    assert declined.details["reason_code"] == "missing"
    with pytest.raises(Conflict):
        receive_item(db, desk, handover.id, items[4].code, now=NOW)


def test_only_the_other_side_confirms(
    db: Session, settings: Settings, sides: tuple[Actor, Actor, str]
) -> None:
    courier, desk, office = sides
    (item,) = _picked_up_items(db, settings, courier, 1)
    handover = open_handover(db, courier, giver=courier.party, receiver=office,
                             item_codes=[item.code], now=NOW).handover  # fmt: skip
    with pytest.raises(Forbidden):
        receive_item(db, courier, handover.id, item.code, now=NOW)
    other_desk = actor_for(make_user(db, "desk_officer"))
    with pytest.raises(Forbidden):
        receive_item(db, other_desk, handover.id, item.code, now=NOW)


def test_items_the_giver_does_not_hold_are_refused_not_listed(
    db: Session, settings: Settings, sides: tuple[Actor, Actor, str]
) -> None:
    courier, _, office = sides
    (held,) = _picked_up_items(db, settings, courier, 1)
    not_held = dossier_of(db, make_case(db, settings))
    opened = open_handover(db, courier, giver=courier.party, receiver=office,
                           item_codes=[held.code, not_held.code], now=NOW)  # fmt: skip
    assert [r.code for r in opened.refused] == [not_held.code]
    assert [line.item_code for line in handover_view(db, opened.handover.id).lines] == [held.code]
    with pytest.raises(Conflict):
        open_handover(db, courier, giver=courier.party, receiver=office,
                      item_codes=[not_held.code], now=NOW)  # fmt: skip


def test_refused_damaged_item_stays_with_the_giver(
    db: Session, settings: Settings, sides: tuple[Actor, Actor, str]
) -> None:
    courier, desk, office = sides
    (item,) = _picked_up_items(db, settings, courier, 1)
    handover = open_handover(db, courier, giver=courier.party, receiver=office,
                             item_codes=[item.code], now=NOW).handover  # fmt: skip
    line = mark_line(db, desk, handover.id, item.code, outcome="damaged", reason="Ướt, rách bìa",
                     accept=False, now=NOW)  # fmt: skip
    assert (line.outcome, line.accepted) == ("damaged", False)
    assert _state(db, item).custodian == courier.party


def test_a_receiver_can_ask_and_the_holder_confirms(
    db: Session, settings: Settings, sides: tuple[Actor, Actor, str]
) -> None:
    """A courier collecting results at the desk lists what they came for; the desk confirms."""
    courier, desk, office = sides
    office_id = int(office.split(":")[1])
    case = make_case(db, settings, office=db.get(Office, office_id))
    result = register_result(db, settings, desk, case, now=NOW)
    ask = open_handover(db, courier, giver=office, receiver=courier.party,
                        item_codes=[result.code], now=NOW).handover  # fmt: skip
    with pytest.raises(Forbidden):
        receive_item(db, courier, ask.id, result.code, now=NOW)
    receive_item(db, desk, ask.id, result.code, now=NOW)
    state = _state(db, result)
    assert (state.status, state.custodian) == ("collected", courier.party)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"item_codes": []}, "item_codes"),
        ({"item_codes": ["RR123"]}, "item_codes"),
        ({"fees_declared_vnd": -1}, "fees_declared_vnd"),
        ({"receiver": "citizen:case-1"}, "receiver"),
    ],
)
def test_bad_input_names_the_field_and_creates_nothing(
    db: Session,
    settings: Settings,
    sides: tuple[Actor, Actor, str],
    kwargs: dict[str, object],
    field: str,
) -> None:
    courier, _, office = sides
    (item,) = _picked_up_items(db, settings, courier, 1)
    arguments: dict[str, object] = {"giver": courier.party, "receiver": office,
                                    "item_codes": [item.code], "now": NOW, **kwargs}  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        open_handover(db, courier, **arguments)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert list_handovers(db, office) == []


def test_signature_must_be_uploaded_before_completing(
    db: Session, settings: Settings, sides: tuple[Actor, Actor, str]
) -> None:
    courier, desk, office = sides
    (item,) = _picked_up_items(db, settings, courier, 1)
    handover = open_handover(db, courier, giver=courier.party, receiver=office,
                             item_codes=[item.code], now=NOW).handover  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        complete_handover(db, desk, handover.id, fees_confirmed_vnd=0, now=NOW,
                          giver_signature_sha256="a" * 64)  # fmt: skip
    assert caught.value.field == "giver_signature_sha256"
    assert handover_view(db, handover.id).status == "open"
