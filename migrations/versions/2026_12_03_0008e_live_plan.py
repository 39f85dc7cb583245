"""The live plan: what each citizen was last told about their pickup (courier and window),
the live plan's cursor in the custody ledger,
and three more kinds of plan run (a live update from the outbox, a periodic
re-optimisation, a draft for a day whose plan has not started).

Revision ID: 0008e
Revises: 0008b
Create Date: 2026-12-03 12:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008e"
down_revision: str | Sequence[str] | None = "0008b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "trigger IN ('plan', 'replan', 'move', 'lock', 'insert')"
_NEW = "trigger IN ('plan', 'replan', 'move', 'lock', 'insert', 'update', 'reopt', 'draft')"


def upgrade() -> None:
    op.create_table(
        "citizen_plan_told",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("courier_id", sa.Integer(), nullable=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_citizen_plan_told_case_id_cases")
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["courier_id"], ["users.id"], name=op.f("fk_citizen_plan_told_courier_id_users")
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["outbox_message_id"],
            ["outbox_messages.id"],
            name=op.f("fk_citizen_plan_told_outbox_message_id_outbox_messages"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_citizen_plan_told")),
    )
    # Citizens already told of a courier (the old notifier's claims) are not told again: the
    # courier they heard of (the current one if they heard of it) and the booking's window.
    op.execute(
        """
        INSERT INTO citizen_plan_told (case_id, courier_id, window_start, window_end, told_at)
        SELECT DISTINCT ON (n.case_id) n.case_id, u.id, b.pickup_window_start,
               b.pickup_window_end, n.created_at
        FROM citizen_notices n
        JOIN cases c ON c.id = n.case_id
        JOIN bookings b ON b.id = c.booking_id
        JOIN users u ON n.ref ~ '^[0-9]{1,9}$' AND u.id = n.ref::int
        WHERE n.kind = 'courier_assigned'
        ORDER BY n.case_id, (u.id = c.pickup_courier_id) DESC, n.id DESC
        """
    )
    op.create_table(
        "dispatch_live_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_dispatch_live_cursor_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_live_cursor")),
    )
    op.drop_constraint(op.f("ck_dispatch_plans_trigger"), "dispatch_plans", type_="check")
    op.create_check_constraint(op.f("ck_dispatch_plans_trigger"), "dispatch_plans", _NEW)


def downgrade() -> None:
    op.execute("DELETE FROM dispatch_plans WHERE trigger IN ('update', 'reopt', 'draft')")
    op.drop_constraint(op.f("ck_dispatch_plans_trigger"), "dispatch_plans", type_="check")
    op.create_check_constraint(op.f("ck_dispatch_plans_trigger"), "dispatch_plans", _OLD)
    op.drop_table("dispatch_live_cursor")
    op.drop_table("citizen_plan_told")
