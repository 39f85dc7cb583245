"""Failed password sign-ins, counted to slow down guessing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 10:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("client_ip", sa.String(length=45), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    op.create_index(
        "ix_sign_in_failures_username_failed_at", "sign_in_failures", ["username", "failed_at"]
    )
    op.create_index(
        "ix_sign_in_failures_client_ip_failed_at", "sign_in_failures", ["client_ip", "failed_at"]
    )


def downgrade() -> None:
    op.drop_table("sign_in_failures")
