"""Dispatch: a header per planner run (engine, matrix, figures, breaks); stop positions' source.

Revision ID: 0003r
Revises: 0002
Create Date: 2026-11-22 06:21:06.071335
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003r"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispatch_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_office_id", sa.Integer(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("trigger", sa.String(length=8), nullable=False),
        sa.Column("planned_by_user_id", sa.Integer(), nullable=True),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("engine", sa.String(length=24), nullable=False),
        sa.Column("matrix_source", sa.String(), nullable=False),
        sa.Column("time_limit_s", sa.Double(), nullable=False),
        sa.Column("wall_time_s", sa.Double(), nullable=False),
        sa.Column("couriers", sa.Integer(), nullable=False),
        sa.Column("stops_assigned", sa.Integer(), nullable=False),
        sa.Column("stops_unassigned", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Double(), nullable=False),
        sa.Column("duration_s", sa.Double(), nullable=False),
        sa.Column("breaks", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint(
            "trigger IN ('plan', 'replan', 'move', 'lock', 'insert')",
            name=op.f("ck_dispatch_plans_trigger"),
        ),
        sa.ForeignKeyConstraint(
            ["planned_by_user_id"],
            ["users.id"],
            name=op.f("fk_dispatch_plans_planned_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["post_office_id"],
            ["post_offices.id"],
            name=op.f("fk_dispatch_plans_post_office_id_post_offices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_plans")),
    )
    op.create_index(
        "ix_dispatch_plans_day", "dispatch_plans", ["post_office_id", "service_date"], unique=False
    )
    op.add_column("route_stops", sa.Column("position_source", sa.String(length=12), nullable=True))
    op.add_column("route_stops", sa.Column("position_accuracy_m", sa.Double(), nullable=True))


def downgrade() -> None:
    op.drop_column("route_stops", "position_accuracy_m")
    op.drop_column("route_stops", "position_source")
    op.drop_index("ix_dispatch_plans_day", table_name="dispatch_plans")
    op.drop_table("dispatch_plans")
