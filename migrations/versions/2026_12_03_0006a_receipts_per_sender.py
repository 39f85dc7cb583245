"""Every answer to a client event is stored, and keyed by its sender.

A client event ID is an idempotency key per sending account: the same UUID from two accounts
is two scans, each answered its own result on a resend. ``scan_receipts`` held one row per
UUID (its primary key) and only refused scans; from now on it holds every scan's answer,
accepted ones too, so a replay is answered by one index lookup on (sender, UUID) instead of
re-deriving the answer from the item's whole chain under its lock. The unique index is the
enforcement: one answer per sender and key, whatever races reach the database. NULLS NOT
DISTINCT: the system actor (no user account) is one sender.

Revision ID: 0006a
Revises: 0006g
Create Date: 2026-12-03 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006a"
down_revision: str | Sequence[str] | None = "0006g"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("pk_scan_receipts", "scan_receipts", type_="primary")
    op.add_column(
        "scan_receipts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
    )
    op.create_primary_key("pk_scan_receipts", "scan_receipts", ["id"])
    op.create_index(
        "uq_scan_receipts_actor_user_id_client_event_id",
        "scan_receipts",
        ["actor_user_id", "client_event_id"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )


def downgrade() -> None:
    # Two senders' answers under one UUID cannot share the old primary key: the later ones go.
    op.execute(
        "DELETE FROM scan_receipts AS r USING scan_receipts AS first "
        "WHERE r.client_event_id = first.client_event_id AND r.id > first.id"
    )
    op.drop_index("uq_scan_receipts_actor_user_id_client_event_id", table_name="scan_receipts")
    op.drop_constraint("pk_scan_receipts", "scan_receipts", type_="primary")
    op.drop_column("scan_receipts", "id")
    op.create_primary_key("pk_scan_receipts", "scan_receipts", ["client_event_id"])
