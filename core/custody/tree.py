"""The sequencer: every recorded event becomes the next leaf of the ledger's Merkle tree.

Scans never wait for it. The worker (``core.agency.witness``) and ``hoso ledger checkpoint``
call ``extend_tree``, which reads the events after a watermark in id order and appends them
as leaves, with any complete node at a stored height (8, 16, ...) they finish, in the same
transaction as the watermark: a crash loses or doubles nothing.

The watermark never passes an event that commits late (``core.custody.watermark``, as for
the status webhooks). One lock on the cursor row makes it a single writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from core.custody.hashing import utc_text
from core.custody.merkle import TILE_HEIGHT, TILE_WIDTH, Tree, fold_level, leaf_data, leaf_hash
from core.custody.tree_models import LedgerLeaf, LedgerTreeCursor, LedgerTreeNode
from core.custody.watermark import settled
from core.settings import Settings

BATCH = 2_000

# The leaves travel as one JSON document written by orjson (in C), hashes in hex: psycopg
# adapting five Python lists element by element cost a fifth of a pass (profiled).
_INSERT_LEAVES = """
    INSERT INTO ledger_leaves (leaf_index, event_row_id, item_code, seq, hash)
    SELECT l.i, l.r, l.c, l.s, decode(l.h, 'hex')
    FROM json_to_recordset(%s::json) AS l(i bigint, r bigint, c varchar, s integer, h text)
"""
_ANY_NEW = """
    SELECT EXISTS (
        SELECT 1 FROM custody_events
        WHERE id > coalesce((SELECT last_event_id FROM ledger_tree_cursor WHERE id = 1), 0)
    )
"""
# Read through the driver, not the ORM: building a SQLAlchemy row per event cost as much as
# hashing it.
_NEXT_EVENTS = """
    SELECT e.id, i.code, e.seq, e.kind, e.recorded_at, e.hash
    FROM custody_events AS e JOIN items AS i ON i.id = e.item_id
    WHERE e.id > %s
    ORDER BY e.id
    LIMIT %s
"""
_INSERT_NODES = text(
    "INSERT INTO ledger_tree_nodes (height, idx, hash) "
    "SELECT :height, * FROM unnest(CAST(:idxs AS bigint[]), CAST(:hashes AS bytea[]))"
)


class DbSource:
    """Tiles read from ``ledger_leaves`` (height 0) and ``ledger_tree_nodes``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def tile(self, height: int, index: int) -> Sequence[bytes]:
        first, end = index * TILE_WIDTH, (index + 1) * TILE_WIDTH
        if height == 0:
            query = (
                select(LedgerLeaf.hash)
                .where(LedgerLeaf.leaf_index >= first, LedgerLeaf.leaf_index < end)
                .order_by(LedgerLeaf.leaf_index)
            )
        else:
            query = (
                select(LedgerTreeNode.hash)
                .where(
                    LedgerTreeNode.height == height,
                    LedgerTreeNode.idx >= first,
                    LedgerTreeNode.idx < end,
                )
                .order_by(LedgerTreeNode.idx)
            )
        return list(self.session.scalars(query))


def tree_at(session: Session, size: int) -> Tree:
    return Tree(DbSource(session), size)


def _cursor(session: Session, now: datetime) -> LedgerTreeCursor:
    session.execute(
        pg_insert(LedgerTreeCursor)
        .values(id=1, size=0, last_event_id=0, updated_at=now)
        .on_conflict_do_nothing()
    )
    return session.execute(
        select(LedgerTreeCursor).where(LedgerTreeCursor.id == 1).with_for_update()
    ).scalar_one()


def tree_size(session: Session) -> int:
    """The number of leaves sequenced so far (committed)."""
    return session.scalar(select(func.coalesce(func.max(LedgerTreeCursor.size), 0))) or 0


def event_leaf(
    item_code: str, seq: int, kind: str, recorded_at: datetime, event_hash: str
) -> bytes:
    return leaf_hash(leaf_data(item_code, seq, kind, utc_text(recorded_at), event_hash))


def extend_tree(session: Session, settings: Settings, *, now: datetime, limit: int = BATCH) -> int:
    """Append the next events as leaves; returns how many were added (0: caught up)."""
    session.flush()
    raw = session.connection().connection.driver_connection
    assert raw is not None
    # Nothing new: answered by two reads, without locking the cursor row. The lock takes a
    # transaction id, so an idle pass would commit (and flush the WAL) beside the scans.
    probe = raw.execute(_ANY_NEW).fetchone()
    if probe is None or not probe[0]:
        return 0
    cursor = _cursor(session, now)
    rows = raw.execute(_NEXT_EVENTS, (cursor.last_event_id, limit)).fetchall()
    ready = settled(session, settings, rows, after=cursor.last_event_id, now=now,
                    id_of=lambda row: int(row[0]),
                    recorded_at_of=lambda row: row[4])  # fmt: skip
    # row id, item code, seq, leaf hash
    taken = [
        (row_id, code, seq, event_leaf(code, seq, kind, recorded_at, event_hash))
        for row_id, code, seq, kind, recorded_at, event_hash in ready
    ]
    if not taken:
        return 0
    old_size = cursor.size
    # One statement over arrays: a row-by-row executemany cost a third of what recording
    # the same events did (the sequencer must stay far cheaper than the scans).
    leaves = [
        {"i": old_size + n, "r": row_id, "c": code, "s": seq, "h": leaf.hex()}
        for n, (row_id, code, seq, leaf) in enumerate(taken)
    ]
    raw.execute(_INSERT_LEAVES, (orjson.dumps(leaves).decode(),))
    new_size = old_size + len(taken)
    fresh = {old_size + i: leaf for i, (_, _, _, leaf) in enumerate(taken)}
    _add_complete_nodes(session, old_size, new_size, fresh)
    cursor.size = new_size
    cursor.last_event_id = taken[-1][0]
    cursor.updated_at = now
    session.flush()
    return len(taken)


def _add_complete_nodes(
    session: Session, old_size: int, new_size: int, fresh: dict[int, bytes]
) -> None:
    """Store every node at a stored height that the new leaves complete."""
    source = DbSource(session)
    height = TILE_HEIGHT
    below: dict[int, bytes] = fresh  # nodes just made one stored height down, by index
    while (new_size >> height) > (old_size >> height):
        made: dict[int, bytes] = {}
        for idx in range(old_size >> height, new_size >> height):
            first = idx * TILE_WIDTH
            children = [below.get(first + i) for i in range(TILE_WIDTH)]
            if any(child is None for child in children):
                stored = source.tile(height - TILE_HEIGHT, idx)
                children = [below.get(first + i, stored[i]) for i in range(TILE_WIDTH)]
            made[idx] = fold_level([child for child in children if child is not None])
        session.execute(
            _INSERT_NODES,
            {"height": height, "idxs": list(made), "hashes": list(made.values())},
        )
        below = made
        height += TILE_HEIGHT
