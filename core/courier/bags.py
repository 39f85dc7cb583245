"""Bags (túi) a courier or dispatcher packs: open, add and remove items, seal, hand over.

Membership moves only through ledger events (``bagged`` with ``details.bag_code``,
``unbagged``), so the ledger alone says what was in a bag when; a scan of the bag code is a
scan of every item in it. Sealing closes the bag to further packing, records the seal number
on the bag, and records a ``bag_sealed`` event carrying it on every item; taking an item out
of a sealed bag then needs the seal number read off the bag (a mismatch is kept as an
exception for a dispatcher).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from core.cases.models import Booking
from core.cases.models import Case as CaseRow
from core.custody.commands import ScanCommand
from core.custody.models import Bag, Item, ItemState, item_serial_seq
from core.custody.parties import Actor, item_provinces
from core.custody.service import record
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, code_refusal
from core.places.models import PostOffice
from labels.errors import InvalidCode
from labels.s10 import make_item_id, validate_item_id

# S10 service indicator for bags: domestic range, distinct from dossiers (DH) and results (DR).
BAG_SERVICE_INDICATOR = "DB"


def open_bag(session: Session, actor: Actor, *, now: datetime) -> Bag:
    """A new, empty, open bag at the actor's post office, with an S10 code for its label."""
    if actor.post_office_id is None or actor.user_id is None:
        raise Forbidden("only post office staff open bags", field="actor")
    # Serials come from the items' sequence, so a bag code can never equal an item code.
    serial = int(session.execute(select(item_serial_seq.next_value())).scalar_one())
    bag = Bag(
        code=make_item_id(BAG_SERVICE_INDICATOR, serial),
        post_office_id=actor.post_office_id,
        status="open",
        created_by_user_id=actor.user_id,
        created_at=now,
    )
    session.add(bag)
    session.flush()
    return bag


def get_bag(session: Session, actor: Actor, raw_code: str, *, lock: bool = False) -> Bag:
    try:
        code = validate_item_id(raw_code)
    except InvalidCode as exc:
        raise code_refusal(exc, "bag_code") from exc
    query = select(Bag).where(Bag.code == code)
    bag = session.scalar(query.with_for_update() if lock else query)
    if bag is None:
        raise NotFound(f"no bag {code}", field="bag_code")
    if actor.role != "admin" and bag.post_office_id != actor.post_office_id:
        raise Forbidden(f"bag {code} belongs to another post office", field="bag_code")
    return bag


def bag_contents(session: Session, bag: Bag) -> list[str]:
    return list(
        session.scalars(
            select(Item.code)
            .join(ItemState, ItemState.item_id == Item.id)
            .where(ItemState.bag_id == bag.id)
            .order_by(Item.code)
        )
    )


def seal_bag(
    session: Session,
    actor: Actor,
    raw_code: str,
    seal_number: str,
    *,
    now: datetime,
    destination_post_office_id: int | None = None,
) -> Bag:
    """Seal the bag and record a ``bag_sealed`` event, with the seal number, on every item in
    it: the seal is evidence in each item's chain, not only a note on the bag. With a
    destination, the bag is addressed: it arrives only there (``core.custody.service``)."""
    bag = get_bag(session, actor, raw_code, lock=True)
    seal_number = seal_number.strip()
    if not seal_number or len(seal_number) > 40:
        raise InvalidInput("the seal number (1-40 characters)", field="seal_number")
    if destination_post_office_id is not None:
        _check_destination(session, actor, bag, destination_post_office_id)
    if bag.status == "sealed":
        if bag.seal_number == seal_number:
            return bag  # a retried request
        raise Conflict(f"bag {bag.code} is already sealed ({bag.seal_number})", field="bag_code")
    if not bag_contents(session, bag):
        raise Conflict(f"bag {bag.code} is empty", field="bag_code")
    (result,) = record(
        session,
        actor,
        [
            ScanCommand(
                kind="bag_sealed",
                code=bag.code,
                occurred_at=now,
                client_event_id=uuid.uuid4(),
                details={"seal_number": seal_number},
            )
        ],
        service_kinds=frozenset({"bag_sealed"}),
    )
    if result.outcome != "accepted":
        # Nothing was recorded (a bag scan is all its items or none); the bag stays open.
        detail = result.detail or "the bag could not be sealed"
        if result.reason_code == "not_authorised":
            raise Forbidden(detail, field="bag_code")
        raise Conflict(detail, field="bag_code")
    bag.status, bag.seal_number = "sealed", seal_number
    bag.destination_post_office_id = destination_post_office_id
    bag.sealed_by_user_id, bag.sealed_at = actor.user_id, now
    session.flush()
    return bag


def _check_destination(
    session: Session, actor: Actor, bag: Bag, destination_post_office_id: int
) -> None:
    destination = session.get(PostOffice, destination_post_office_id)
    if destination is None:
        raise NotFound(f"no post office {destination_post_office_id}",
                       field="destination_post_office_id", reason="bag.no_destination")  # fmt: skip
    if destination.id == bag.post_office_id:
        raise InvalidInput("a bag is sent to another post office than its own",
                           field="destination_post_office_id",
                           reason="bag.destination_is_origin")  # fmt: skip
    origin = session.get(PostOffice, bag.post_office_id)
    assert origin is not None
    if destination.province_code != origin.province_code:
        _check_other_province(session, actor, bag, destination)


# Who may address a bag to another province's post office: those who answer for the post
# office's transport (its dispatcher, its counter), not a courier closing a bag on a round.
OTHER_PROVINCE_ROLES = frozenset({"dispatcher", "counter_clerk", "admin"})


def _check_other_province(
    session: Session, actor: Actor, bag: Bag, destination: PostOffice
) -> None:
    """A bag leaves the province only with items whose cases are addressed there (a dossier
    for an office of that province, or its result going home): any other item would reach
    parties that may not hold it (``core.custody.parties``)."""
    if actor.role not in OTHER_PROVINCE_ROLES:
        raise Forbidden(
            f"a {actor.role} cannot send a bag to a post office of another province",
            field="destination_post_office_id",
            reason="bag.other_province_role",
        )
    contents = bag_contents(session, bag)
    provinces = item_provinces(session, contents)
    stray = [code for code in contents if destination.province_code not in provinces.get(code, ())]
    if stray:
        raise InvalidInput(
            f"item {stray[0]} is not addressed to {destination.name}'s province: take it out "
            "before sealing the bag there",
            field="destination_post_office_id",
            reason="bag.item_not_for_province",
            params={"code": stray[0], "post_office": destination.name},
        )


def bag_destinations(session: Session, bag: Bag) -> list[PostOffice]:
    """Where this bag may be sealed to: the other post offices of its province, and, for the
    items of cases addressed to another province, the post office at the other end of their
    journey (the far one a dossier goes to, or the citizen's one its result comes home to)."""
    origin = session.get(PostOffice, bag.post_office_id)
    assert origin is not None
    same = select(PostOffice.id).where(
        PostOffice.province_code == origin.province_code, PostOffice.id != origin.id
    )
    ends = (
        select(
            case(
                (PostOffice.province_code == Booking.province_code, Booking.transit_post_office_id),
                else_=Booking.post_office_id,
            )
        )
        .select_from(ItemState)
        .join(Item, Item.id == ItemState.item_id)
        .join(CaseRow, CaseRow.id == Item.case_id)
        .join(Booking, Booking.id == CaseRow.booking_id)
        .join(PostOffice, PostOffice.id == bag.post_office_id)
        .where(ItemState.bag_id == bag.id, Booking.transit_post_office_id.is_not(None))
    )
    return list(
        session.scalars(
            select(PostOffice)
            .where(
                or_(PostOffice.id.in_(same), PostOffice.id.in_(ends)), PostOffice.id != origin.id
            )
            .order_by(PostOffice.province_code != origin.province_code, PostOffice.name)
        )
    )
