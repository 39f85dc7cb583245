"""A dossier for an office in another province: which procedures the post may carry there
(a catalogue flag, off unless the catalogue says so), and the far province's post office a
booking's items travel through.

Revision ID: 0009x
Revises: 0008i
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009x"
down_revision: str | Sequence[str] | None = "0008i"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "procedures",
        sa.Column("postal_other_province", sa.Boolean(), server_default=sa.false(),
                  nullable=False),
    )  # fmt: skip
    op.add_column("bookings", sa.Column("transit_post_office_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_bookings_transit_post_office_id_post_offices"),
        "bookings",
        "post_offices",
        ["transit_post_office_id"],
        ["id"],
    )
    op.create_index(
        op.f("ix_bookings_transit_post_office_id"), "bookings", ["transit_post_office_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_bookings_transit_post_office_id"), "bookings")
    op.drop_constraint(
        op.f("fk_bookings_transit_post_office_id_post_offices"), "bookings", type_="foreignkey"
    )
    op.drop_column("bookings", "transit_post_office_id")
    op.drop_column("procedures", "postal_other_province")
