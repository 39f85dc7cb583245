"""Status sync to the national public service portal: the changes sent, and the cursor; and
an index for the EPCIS export to find corrective events by the event they correct.

Revision ID: 0007e
Revises: 0007c
Create Date: 2026-12-03 09:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007e"
down_revision: str | Sequence[str] | None = "0007c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_status_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("cause_event_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),  # fmt: skip
        sa.CheckConstraint(
            "cause IN ('ledger', 'agency_code')", name=op.f("ck_portal_status_changes_cause")
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_portal_status_changes_case_id_cases")
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["outbox_message_id"],
            ["outbox_messages.id"],
            name=op.f("fk_portal_status_changes_outbox_message_id_outbox_messages"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_status_changes")),
        sa.UniqueConstraint("case_id", "seq", name=op.f("uq_portal_status_changes_case_id_seq")),
    )
    op.create_index(op.f("ix_portal_status_changes_occurred_at"), "portal_status_changes",
                    ["occurred_at"], unique=False)  # fmt: skip
    op.create_index("uq_portal_status_changes_cause_event_id", "portal_status_changes",
                    ["cause_event_id"], unique=True,
                    postgresql_where="cause_event_id IS NOT NULL")  # fmt: skip
    op.create_table(
        "portal_sync_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_portal_sync_cursor_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sync_cursor")),
    )

    op.create_index("ix_custody_events_corrects_event_id", "custody_events",
                    ["corrects_event_id"], unique=False,
                    postgresql_where="corrects_event_id IS NOT NULL")  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_custody_events_corrects_event_id", table_name="custody_events")
    op.drop_table("portal_sync_cursor")
    op.drop_index("uq_portal_status_changes_cause_event_id", table_name="portal_status_changes")
    op.drop_index(op.f("ix_portal_status_changes_occurred_at"), table_name="portal_status_changes")
    op.drop_table("portal_status_changes")
