"""Receive-only bookings (QĐ 45/2016 option 2) name the result they wait for.

A citizen who filed in person books only the return of the result, giving the agency's
dossier code or the appointment slip number; the result registered under that reference is
attached to the case. The claim is kept as given: append-only for the app role.

Revision ID: 0007r
Revises: 0007e
Create Date: 2026-12-03 08:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007r"
down_revision: str | Sequence[str] | None = "0007e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "receive_requests",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("reference_kind", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "reference_kind IN ('dossier_code', 'slip_number')",
            name=op.f("ck_receive_requests_reference_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_receive_requests_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_receive_requests_office_id_offices")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_receive_requests")),
    )
    op.create_index(
        op.f("ix_receive_requests_office_id"), "receive_requests", ["office_id"], unique=False
    )
    op.create_index(
        op.f("ix_receive_requests_reference"), "receive_requests", ["reference"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_receive_requests_reference"), table_name="receive_requests")
    op.drop_index(op.f("ix_receive_requests_office_id"), table_name="receive_requests")
    op.drop_table("receive_requests")
