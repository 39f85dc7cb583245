"""Courier app: the platform a device reported at sign-in, and location pings (kept 30 days).

Revision ID: 0003m
Revises: 0002
Create Date: 2026-11-22 06:22:01.858087
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003m"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "location_pings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("fixed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("accuracy_m", sa.Double(), nullable=False),
        sa.Column("speed_mps", sa.Double(), nullable=True),
        sa.Column("heading_deg", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_location_pings_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_location_pings_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_location_pings")),
        sa.UniqueConstraint("user_id", "fixed_at", name=op.f("uq_location_pings_user_id_fixed_at")),
    )
    op.create_index(
        "ix_location_pings_received_at", "location_pings", ["received_at"], unique=False
    )
    op.add_column("devices", sa.Column("platform", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("devices", "platform")
    op.drop_index("ix_location_pings_received_at", table_name="location_pings")
    op.drop_table("location_pings")
