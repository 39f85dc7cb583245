"""Bags at the counter: what arrives at this post office, and what leaves it in a bag.

The bag itself is the courier app's (``core.courier.bags``: open, seal with the destination
its manifest names); packing, departing and arriving are ledger scans on the same sync path
as the phones'. The clerk acts for the post office.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.counter.reception import counter_post_office
from core.courier.bags import get_bag
from core.courier.sync import sync
from core.custody.commands import ScanCommand, ScanResult
from core.custody.models import Bag, Item, ItemState
from core.custody.parties import party
from core.errors import Conflict
from core.identity.models import User
from core.identity.service import actor_for
from core.settings import Settings
from labels.errors import InvalidCode
from labels.s10 import validate_item_id


def _scan(session: Session, settings: Settings, clerk: User, kind: str, code: str,
          now: datetime, **details: Any) -> ScanResult:  # fmt: skip
    command = ScanCommand(kind=kind, code=code.strip(), occurred_at=now,
                          client_event_id=uuid.uuid4(), details=details)  # fmt: skip
    (result,) = sync(session, settings, actor_for(clerk), [command], now=now)
    return result


def scan_in(session: Session, settings: Settings, clerk: User, raw_code: str, *,
            now: datetime) -> ScanResult:  # fmt: skip
    """One label scanned at the counter's "receive" box: a bag arriving from another post
    office (``arrived``, refused and kept for a dispatcher when it is addressed elsewhere), or
    an item a courier hands to this post office (``handover_confirmed``), or an item arriving
    on its own (``arrived``)."""
    here = party("post_office", counter_post_office(clerk))
    try:
        code = validate_item_id(raw_code)
    except InvalidCode:
        code = raw_code  # the ledger refuses it as malformed, naming the field
    if session.scalar(select(Bag.id).where(Bag.code == code)) is not None:
        return _scan(session, settings, clerk, "arrived", code, now)
    pending_to = session.scalar(
        select(ItemState.pending_to)
        .join(Item, Item.id == ItemState.item_id)
        .where(Item.code == code)
    )
    kind = "handover_confirmed" if pending_to == here else "arrived"
    return _scan(session, settings, clerk, kind, code, now)


def pack(session: Session, settings: Settings, clerk: User, bag_code: str, item_code: str, *,
         now: datetime) -> ScanResult:  # fmt: skip
    """An item into this post office's open bag (a ``bagged`` event)."""
    counter_post_office(clerk)
    bag = get_bag(session, actor_for(clerk), bag_code)
    return _scan(session, settings, clerk, "bagged", item_code, now, bag_code=bag.code)


def send_off(session: Session, settings: Settings, clerk: User, bag_code: str, *,
             now: datetime) -> ScanResult:  # fmt: skip
    """The sealed bag leaves the post office: ``departed`` on every item in it."""
    counter_post_office(clerk)
    bag = get_bag(session, actor_for(clerk), bag_code)
    if bag.status != "sealed":
        raise Conflict(f"seal bag {bag.code} before it leaves", field="bag_code",
                       reason="bag.not_sealed", params={"code": bag.code})  # fmt: skip
    return _scan(session, settings, clerk, "departed", bag.code, now)
