"""Catalogue administration: price tiers per province, procedure field and postal flags, and
an index on the province a user is bound to.

Revision ID: 0006f
Revises: 0006e
Create Date: 2026-12-03 05:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006f"
down_revision: str | Sequence[str] | None = "0006e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_tiers",
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("max_grams", sa.Integer(), nullable=False),
        sa.Column("same_commune_vnd", sa.Integer(), nullable=False),
        sa.Column("same_province_vnd", sa.Integer(), nullable=False),
        sa.Column("other_province_vnd", sa.Integer(), nullable=False),
        sa.CheckConstraint("max_grams > 0", name=op.f("ck_price_tiers_max_grams")),
        sa.CheckConstraint(
            "same_commune_vnd >= 0 AND same_province_vnd >= 0 AND other_province_vnd >= 0",
            name=op.f("ck_price_tiers_prices"),
        ),
        sa.ForeignKeyConstraint(
            ["province_code"],
            ["provinces.code"],
            name=op.f("fk_price_tiers_province_code_provinces"),
        ),
        sa.PrimaryKeyConstraint("province_code", "max_grams", name=op.f("pk_price_tiers")),
    )
    op.add_column("procedures", sa.Column("field", sa.String(), server_default="", nullable=False))
    op.add_column(
        "procedures",
        sa.Column("postal_receive", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column(
        "procedures",
        sa.Column("postal_return", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    # users.province_code comes with 0006e (users administration); staff bound to an office or
    # a post office belong to its province through that binding, supervisors directly.
    op.create_index(op.f("ix_users_province_code"), "users", ["province_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_users_province_code"), table_name="users")
    op.drop_column("procedures", "postal_return")
    op.drop_column("procedures", "postal_receive")
    op.drop_column("procedures", "field")
    op.drop_table("price_tiers")
