"""The courier's "arrived" step: one row per run-sheet stop, the first arrival kept.

Revision ID: 0008f
Revises: 0008e
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008f"
down_revision: str | Sequence[str] | None = "0008e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stop_arrivals",
        sa.Column("route_stop_id", sa.Integer(), nullable=False),
        sa.Column("courier_id", sa.Integer(), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["courier_id"], ["users.id"], name=op.f("fk_stop_arrivals_courier_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["route_stop_id"],
            ["route_stops.id"],
            name=op.f("fk_stop_arrivals_route_stop_id_route_stops"),
        ),
        sa.PrimaryKeyConstraint("route_stop_id", name=op.f("pk_stop_arrivals")),
    )
    op.create_index(
        op.f("ix_stop_arrivals_courier_id"), "stop_arrivals", ["courier_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_stop_arrivals_courier_id"), table_name="stop_arrivals")
    op.drop_table("stop_arrivals")
