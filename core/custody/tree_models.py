"""The Merkle tree over the custody ledger and its signed heads, as stored.

``ledger_leaves``, ``ledger_tree_nodes`` and ``ledger_checkpoints`` are append-only in the
database (triggers in the migration, and the app role may not UPDATE or DELETE them): a leaf,
a complete node and a signed head never change once written. Only the sequencer's cursor
moves. None of it is trusted by ``hoso ledger verify``: the heads are checked with the
public key, and the leaves are recomputed from the events.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class LedgerLeaf(Base):
    """One recorded event as a leaf of the tree, in the order the sequencer took it.

    Item code and sequence are copied here, and ``event_row_id`` is deliberately not a
    foreign key, so that a leaf outlives an event someone deleted and still names it."""

    __tablename__ = "ledger_leaves"
    __table_args__ = (CheckConstraint("octet_length(hash) = 32", name="hash_size"),)

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_row_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    item_code: Mapped[str] = mapped_column(String(13))
    seq: Mapped[int]
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerTreeNode(Base):
    """A complete subtree's hash at a stored height (8, 16, 24 ...): the tiles above the
    leaves, so that a proof hashes at most 128 nodes per level it crosses."""

    __tablename__ = "ledger_tree_nodes"
    __table_args__ = (CheckConstraint("octet_length(hash) = 32", name="hash_size"),)

    height: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerCheckpoint(Base):
    """A signed tree head: the note exactly as signed, and what it says, for lookups."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    key_name: Mapped[str]
    key_id: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text)


class LedgerTreeCursor(Base):
    """How far the sequencer has read the ledger (one row): the tree's size and the last
    event id taken, moved in the same transaction as the leaves it added."""

    __tablename__ = "ledger_tree_cursor"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
