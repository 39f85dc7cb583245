"""Re-walk every hash chain and every projection; report the first broken link per item.

Events are streamed through a server-side cursor, one item's chain at a time; items and
projections are read whole up front, which is fine for millions of items (a few hundred MB
at most) and is the part to stream too if the ledger ever holds billions. It trusts nothing
stored: hashes are recomputed from the columns, the state is
re-derived from the events with the same fold the live service uses, and both are compared
with what is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core.custody.corrections import fold
from core.custody.hashing import GENESIS_HASH, HASHED_FIELDS, chain_hash
from core.custody.models import Bag, CustodyEvent, Item, ItemState
from core.custody.rows import state_value_of, store_state
from core.errors import InvalidTransition


@dataclass(frozen=True)
class Problem:
    item_code: str
    seq: int | None
    problem: str


@dataclass
class VerifyReport:
    items_checked: int = 0
    events_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


_COLUMNS = [name for name in HASHED_FIELDS if name not in ("item_code", "bag_code")]


def _event_stream(session: Session) -> Iterator[tuple[CustodyEvent, str, str | None]]:
    bag = aliased(Bag)
    query = (
        select(CustodyEvent, Item.code, bag.code)
        .join(Item, Item.id == CustodyEvent.item_id)
        .outerjoin(bag, bag.id == CustodyEvent.bag_id)
        .order_by(CustodyEvent.item_id, CustodyEvent.seq)
        .execution_options(yield_per=2000)
    )
    for row in session.execute(query):
        yield row[0], row[1], row[2]


def _fields(event: CustodyEvent, item_code: str, bag_code: str | None) -> dict[str, Any]:
    values = {name: getattr(event, name) for name in _COLUMNS}
    values["item_code"] = item_code
    # The bag an event names (scanned, or packed into) is hashed by its code, read back here
    # from the bag row the event points at.
    values["bag_code"] = bag_code
    return values


def verify_ledger(session: Session) -> VerifyReport:
    report = VerifyReport()
    projections = {s.item_id: s for s in session.scalars(select(ItemState))}
    items = {i.id: i for i in session.scalars(select(Item))}
    seen: set[int] = set()
    for item_id, group in groupby(_event_stream(session), key=lambda row: row[0].item_id):
        rows = list(group)
        seen.add(item_id)
        report.items_checked += 1
        report.events_checked += len(rows)
        problem = _check_chain(rows)
        item = items[item_id]
        if problem is None:
            problem = _check_projection(item, [r[0] for r in rows], projections.get(item_id))
        if problem is not None:
            report.problems.append(problem)
        session.expunge_all()
    for item_id, item in items.items():
        if item_id not in seen:
            report.problems.append(Problem(item.code, None, "item has no events"))
    return report


def _check_chain(rows: list[tuple[CustodyEvent, str, str | None]]) -> Problem | None:
    prev = GENESIS_HASH
    for expected_seq, (event, item_code, bag_code) in enumerate(rows, start=1):
        if event.seq != expected_seq:
            return Problem(item_code, event.seq, f"sequence gap: expected {expected_seq}")
        if event.prev_hash != prev:
            return Problem(item_code, event.seq, "prev_hash does not match the previous event")
        recomputed = chain_hash(prev, _fields(event, item_code, bag_code))
        if recomputed != event.hash:
            return Problem(item_code, event.seq, "hash does not match the event's content")
        prev = event.hash
    return None


def _check_projection(
    item: Item, events: list[CustodyEvent], stored: ItemState | None
) -> Problem | None:
    if stored is None:
        return Problem(item.code, None, "no projection row")
    try:
        derived = fold(item.kind, events)
    except InvalidTransition as exc:
        return Problem(item.code, None, f"events do not form a valid history: {exc.detail}")
    actual = state_value_of(stored)
    if derived != actual:
        return Problem(item.code, None, f"projection {actual} differs from events {derived}")
    last = events[-1]
    if stored.last_seq != last.seq or stored.last_hash != last.hash:
        return Problem(item.code, None, "projection does not point at the last event")
    return None


def rebuild_projections(session: Session) -> int:
    """Recompute every item's projection from its events. Returns how many changed."""
    changed = 0
    items = {i.id: i for i in session.scalars(select(Item))}
    states = {s.item_id: s for s in session.scalars(select(ItemState).with_for_update())}
    for item_id, group in groupby(_event_stream(session), key=lambda row: row[0].item_id):
        events = [row[0] for row in group]
        derived = fold(items[item_id].kind, events)
        row = states[item_id]
        last = events[-1]
        if (state_value_of(row), row.last_seq, row.last_hash) != (derived, last.seq, last.hash):
            changed += 1
        store_state(row, derived, last.seq, last.hash, last.occurred_at, row.updated_at)
    session.flush()
    return changed
