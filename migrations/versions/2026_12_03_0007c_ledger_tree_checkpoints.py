"""The Merkle tree over the custody ledger and its signed heads (issue 19).

``ledger_leaves``, ``ledger_tree_nodes`` and ``ledger_checkpoints`` are append-only like the
ledger itself: a trigger refuses UPDATE, DELETE and TRUNCATE, and the app role is granted
SELECT and INSERT only (core.migrate.APPEND_ONLY_TABLES). The sequencer's cursor is the one
row that moves.

Revision ID: 0007c
Revises: 0007s
Create Date: 2026-12-03 08:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007c"
down_revision: str | Sequence[str] | None = "0007s"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("ledger_leaves", "ledger_tree_nodes", "ledger_checkpoints")

REFUSE_CHANGE = """
CREATE FUNCTION ledger_tree_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""


def upgrade() -> None:
    op.create_table(
        "ledger_leaves",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_row_id", sa.BigInteger(), nullable=False),
        sa.Column("item_code", sa.String(length=13), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("octet_length(hash) = 32", name=op.f("ck_ledger_leaves_hash_size")),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_ledger_leaves")),
        sa.UniqueConstraint("event_row_id", name=op.f("uq_ledger_leaves_event_row_id")),
    )
    op.create_table(
        "ledger_tree_nodes",
        sa.Column("height", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("octet_length(hash) = 32", name=op.f("ck_ledger_tree_nodes_hash_size")),
        sa.PrimaryKeyConstraint("height", "idx", name=op.f("pk_ledger_tree_nodes")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_name", sa.String(), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checkpoints")),
    )
    op.create_index(
        op.f("ix_ledger_checkpoints_tree_size"), "ledger_checkpoints", ["tree_size"], unique=False
    )
    op.create_table(
        "ledger_tree_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_ledger_tree_cursor_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_tree_cursor")),
    )
    op.execute(REFUSE_CHANGE)
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_tree_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_tree_refuse_change()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS ledger_tree_refuse_change()")
    op.drop_table("ledger_tree_cursor")
    op.drop_index(op.f("ix_ledger_checkpoints_tree_size"), table_name="ledger_checkpoints")
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_tree_nodes")
    op.drop_table("ledger_leaves")
