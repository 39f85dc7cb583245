"""Bags between post offices: a bag sealed to one post office carries a manifest (bảng kê), and
scanned in at another one it is an exception for a dispatcher, not an arrival."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pypdfium2
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.counter.reception import book_walk_in, receive_at_counter
from core.courier.bags import open_bag, seal_bag
from core.courier.manifest import bag_manifest
from core.custody.commands import ScanCommand
from core.custody.models import CustodyException, Item, ItemState
from core.custody.parties import party
from core.custody.service import record, record_one
from core.errors import Forbidden, InvalidInput, NotFound
from core.identity.service import actor_for
from core.money.state import payment_state
from core.places.models import PostOffice
from core.settings import Settings
from labels.manifest import render_bag_manifest
from labels.s10 import format_item_id
from tests.core.booking.helpers import NOW, Area, booking_input, make_area
from tests.core.counter.test_counter import _clerk, _intake
from tests.factories import make_post_office, make_user, unique


def _another_post_office(db: Session, area: Area, name: str) -> PostOffice:
    here = area.post_office
    return make_post_office(db, code=unique("PO-T"), name=name, province_code=here.province_code,
                            commune_code=here.commune_code, address=name, lat=here.lat,
                            lon=here.lon)  # fmt: skip


def _state(db: Session, code: str) -> ItemState:
    db.expire_all()  # the ledger writes its projection in SQL
    state = db.scalar(select(ItemState).join(Item, Item.id == ItemState.item_id)
                      .where(Item.code == code))  # fmt: skip
    assert state is not None
    return state


def _scan(kind: str, code: str, minutes: int, **details: object) -> ScanCommand:
    return ScanCommand(kind=kind, code=code, occurred_at=NOW + timedelta(minutes=minutes),
                       client_event_id=uuid.uuid4(), details=details)  # fmt: skip


def test_a_bag_arrives_only_at_the_post_office_it_was_sent_to(
    db: Session, settings: Settings
) -> None:
    area = make_area(db)
    clerk = _clerk(db, area)
    second = _another_post_office(db, area, "Bưu cục Phú Hội")
    third = _another_post_office(db, area, "Bưu cục An Cựu")
    created = book_walk_in(db, settings, clerk, booking_input(area, window_start=None), now=NOW)
    code = created.item_code
    assert code is not None
    due = payment_state(db, created.case.id).due_vnd
    assert receive_at_counter(db, settings, clerk, created.case.id, _intake(db, area, due),
                              now=NOW).outcome == "accepted"  # fmt: skip

    clerk_actor = actor_for(clerk)
    bag = open_bag(db, clerk_actor, now=NOW)
    packed = record_one(db, clerk_actor, _scan("bagged", code, 1, bag_code=bag.code))
    assert packed.outcome == "accepted", packed
    with pytest.raises(InvalidInput):
        seal_bag(db, clerk_actor, bag.code, "T-77", now=NOW,
                 destination_post_office_id=area.post_office.id)  # fmt: skip
    with pytest.raises(NotFound):
        seal_bag(db, clerk_actor, bag.code, "T-77", now=NOW, destination_post_office_id=999_999)
    seal_bag(db, clerk_actor, bag.code, "T-77", now=NOW + timedelta(minutes=2),
             destination_post_office_id=second.id)  # fmt: skip
    left = record_one(db, clerk_actor, _scan("departed", bag.code, 3))
    assert left.outcome == "accepted", left
    assert _state(db, code).status == "in_transit"

    # The manifest travels with it: the item, its seal, from, to, who closed the bag.
    manifest = bag_manifest(db, clerk, bag.code)
    assert (manifest.destination, manifest.sealed_by, manifest.seal_number) == (
        "Bưu cục Phú Hội",
        clerk.full_name,
        "T-77",
    )
    assert [(line.item_id, line.seal_number) for line in manifest.lines] == [(code, "NP-0001")]
    pdf = pypdfium2.PdfDocument(render_bag_manifest(manifest))
    text = pdf[0].get_textpage().get_text_range()
    assert "BẢNG KÊ" in text and format_item_id(code) in text and "Bưu cục Phú Hội" in text

    # Scanned in at the wrong post office: kept for a dispatcher, the item still in transit.
    wrong = actor_for(make_user(db, "dispatcher", post_office_id=third.id))
    with pytest.raises(Forbidden):
        bag_manifest(db, make_user(db, "dispatcher", post_office_id=third.id), bag.code)
    (refused,) = record(db, wrong, [_scan("arrived", bag.code, 60)])
    assert refused.outcome == "exception" and refused.reason == "bag.wrong_destination"
    state = _state(db, code)
    assert (state.status, state.custodian) == (
        "in_transit",
        party("post_office", area.post_office.id),
    )
    kept = db.scalar(select(CustodyException).where(CustodyException.item_id == state.item_id))
    assert kept is not None and "addressed to" in kept.detail
    # One item scanned on its own at the wrong place is refused the same way.
    (alone,) = record(db, wrong, [_scan("arrived", code, 61)])
    assert alone.outcome == "exception" and alone.reason == "bag.wrong_destination"

    right = actor_for(make_user(db, "dispatcher", post_office_id=second.id))
    arrived = record_one(db, right, _scan("arrived", bag.code, 90))
    assert arrived.outcome == "accepted", arrived
    state = _state(db, code)
    assert (state.status, state.custodian) == ("arrived", party("post_office", second.id))
