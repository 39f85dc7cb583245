"""Citizens' booking: accepted quote and payment choice, ratings, SMS notices and watermark.

Revision ID: 0003b
Revises: 0002
Create Date: 2026-11-22 06:20:24.036941
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003b"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifier_watermarks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notifier_watermarks")),
    )
    op.create_table(
        "booking_terms",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("payment_method", sa.String(length=8), nullable=False),
        sa.Column("pay_fee_on_behalf", sa.Boolean(), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=16), nullable=False),
        sa.Column("quote", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("total_vnd", sa.Integer(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reschedule_count", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "payment_method IN ('cash', 'vietqr')", name=op.f("ck_booking_terms_payment_method")
        ),
        sa.CheckConstraint("total_vnd >= 0", name=op.f("ck_booking_terms_total")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_booking_terms_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_booking_terms")),
    )
    op.create_table(
        "case_ratings",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("citizen_user_id", sa.Integer(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name=op.f("ck_case_ratings_stars")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_ratings_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["citizen_user_id"], ["users.id"], name=op.f("fk_case_ratings_citizen_user_id_users")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_ratings")),
    )
    op.create_table(
        "citizen_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_citizen_notices_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_notices")),
        sa.UniqueConstraint(
            "case_id", "kind", "ref", name=op.f("uq_citizen_notices_case_id_kind_ref")
        ),
    )


def downgrade() -> None:
    op.drop_table("citizen_notices")
    op.drop_table("case_ratings")
    op.drop_table("booking_terms")
    op.drop_table("notifier_watermarks")
