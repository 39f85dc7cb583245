"""A demo-like day in the ledger, built through the services: the demo seed's 60 cases at
every stage, then a hub leg in a sealed bag, a refusal at the door, a cancellation, a scan
with a GPS fix, and two corrections (one with its corrective event)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.courier.bags import open_bag, seal_bag
from core.custody.models import Item, ItemState
from core.custody.service import record, record_one
from core.identity.models import User
from core.identity.service import actor_for
from core.ledger.corrections import correct_event
from core.places.models import PostOffice
from core.settings import Settings
from tests.core.custody.helpers import scan
from tests.demo import seed_demo_as_installed
from tests.factories import make_user


@dataclass
class Day:
    now: datetime
    bag_code: str
    bagged_items: list[str]
    corrected_event_id: uuid.UUID  # declared incorrect_data, with a corrective event
    undone_event_id: uuid.UUID  # declared did_not_occur


def build_day(session: Session, settings: Settings) -> Day:
    now = datetime.now(UTC).replace(microsecond=0)
    seed_demo_as_installed(session, settings, now=now)
    dispatcher = session.scalars(select(User).where(User.username == "dieuphoi")).one()
    post = actor_for(dispatcher)
    held = list(
        session.scalars(
            select(Item.code)
            .join(ItemState, ItemState.item_id == Item.id)
            .where(ItemState.status == "at_post_office", ItemState.custodian == post.party)
            .order_by(Item.code)
        )
    )
    assert len(held) >= 3, "the demo has dossiers at the hub"
    clock = now - timedelta(hours=2)
    bag = open_bag(session, post, now=clock)
    for code in held[:3]:
        record_one(session, post, scan("bagged", code, details={"bag_code": bag.code},
                                       occurred_at=clock))  # fmt: skip
    seal_bag(session, post, bag.code, "NP-HUB-0001", now=clock + timedelta(minutes=5))
    (departed,) = record(
        session, post, [scan("departed", bag.code, occurred_at=clock + timedelta(minutes=10))]
    )
    assert departed.outcome == "accepted"
    other_post = session.scalars(
        select(PostOffice).where(PostOffice.id != dispatcher.post_office_id,
                                 PostOffice.province_code == "24").order_by(PostOffice.id)
    ).first()  # fmt: skip
    assert other_post is not None
    receiving = actor_for(make_user(session, "dispatcher", post_office_id=other_post.id))
    record(
        session,
        receiving,
        [
            scan(
                "arrived",
                bag.code,
                occurred_at=clock + timedelta(hours=1),
                lat=21.18612,
                lon=106.07634,
                gps_accuracy_m=12.0,
            )
        ],
    )
    record_one(
        session,
        receiving,
        scan(
            "unbagged",
            held[0],
            details={"seal_number": "NP-HUB-0001"},
            occurred_at=clock + timedelta(hours=1, minutes=2),
        ),
    )
    booked = list(
        session.scalars(
            select(Case)
            .join(ItemState, ItemState.item_id == Case.dossier_item_id)
            .where(ItemState.status == "booked")
            .order_by(Case.id)
        )
    )
    assert len(booked) >= 2, "the demo has cases still booked"
    admin = actor_for(session.scalars(select(User).where(User.username == "admin")).one())
    cancelled = session.get(Item, booked[0].dossier_item_id)
    assert cancelled is not None
    record_one(session, admin, scan("cancelled", cancelled.code, occurred_at=clock))
    # A damage note with the wrong reason, corrected with the right one (incorrect_data and
    # its corrective event); a "lost" recorded by mistake, declared as never having happened.
    torn = {"reason_code": "torn"}
    noted = record_one(
        session,
        receiving,
        scan("damage_noted", held[1], details=torn, occurred_at=clock + timedelta(minutes=1)),
    )
    corrected = uuid.UUID(noted.events[0]["event_id"])
    correct_event(session, receiving, wrong_event_id=corrected, reason="incorrect_data",
                  note="ướt, không rách", now=now,
                  corrective=scan("damage_noted", held[1], details={"reason_code": "wet"},
                                  occurred_at=clock + timedelta(minutes=1)))  # fmt: skip
    lost = record_one(session, receiving, scan("lost", held[2], details={"reason_code": "missing"},
                                          occurred_at=clock + timedelta(minutes=3)))  # fmt: skip
    undone = uuid.UUID(lost.events[0]["event_id"])
    correct_event(session, admin, wrong_event_id=undone, reason="did_not_occur",
                  note="tìm thấy trong túi", corrective=None, now=now)  # fmt: skip
    session.flush()
    return Day(now=now, bag_code=bag.code, bagged_items=held[:3],
               corrected_event_id=corrected, undone_event_id=undone)  # fmt: skip
