"""The post office's counter: results collected there, the queue's tickets, bags' destinations.

``bookings.result_at_post_office``: the citizen collects the result at the counter of the
booking's post office instead of having it brought home. ``counter_tickets``: the queue,
one row per ticket, with the times the waiting and serving figures are read from.
``bags.destination_post_office_id``, ``sealed_by_user_id``, ``sealed_at``: where a sealed bag
goes and who closed it (its manifest); arriving elsewhere is an exception, not an arrival.

Revision ID: 0008g
Revises: 0008h
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008g"
down_revision: str | Sequence[str] | None = "0008h"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "bookings",
        sa.Column("result_at_post_office", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "counter_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_office_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("called_by_user_id", sa.Integer(), nullable=True),
        sa.Column("counter_label", sa.String(length=20), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("number > 0", name=op.f("ck_counter_tickets_number")),
        sa.CheckConstraint(
            "called_at IS NULL OR called_at >= issued_at",
            name=op.f("ck_counter_tickets_called_after"),
        ),
        sa.CheckConstraint(
            "finished_at IS NULL OR (called_at IS NOT NULL AND finished_at >= called_at)",
            name=op.f("ck_counter_tickets_finished_after"),
        ),
        sa.ForeignKeyConstraint(
            ["post_office_id"],
            ["post_offices.id"],
            name=op.f("fk_counter_tickets_post_office_id_post_offices"),
        ),
        sa.ForeignKeyConstraint(
            ["called_by_user_id"],
            ["users.id"],
            name=op.f("fk_counter_tickets_called_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counter_tickets")),
        sa.UniqueConstraint(
            "post_office_id",
            "day",
            "number",
            name=op.f("uq_counter_tickets_post_office_id_day_number"),
        ),
    )

    op.add_column("bags", sa.Column("destination_post_office_id", sa.Integer(), nullable=True))
    op.add_column("bags", sa.Column("sealed_by_user_id", sa.Integer(), nullable=True))
    op.add_column("bags", sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(
        op.f("fk_bags_destination_post_office_id_post_offices"),
        "bags",
        "post_offices",
        ["destination_post_office_id"],
        ["id"],
    )
    op.create_foreign_key(
        op.f("fk_bags_sealed_by_user_id_users"), "bags", "users", ["sealed_by_user_id"], ["id"]
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_bags_sealed_by_user_id_users"), "bags", type_="foreignkey")
    op.drop_constraint(
        op.f("fk_bags_destination_post_office_id_post_offices"), "bags", type_="foreignkey"
    )
    op.drop_column("bags", "sealed_at")
    op.drop_column("bags", "sealed_by_user_id")
    op.drop_column("bags", "destination_post_office_id")
    op.drop_table("counter_tickets")
    op.drop_column("bookings", "result_at_post_office")
