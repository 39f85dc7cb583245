"""Citizen message channels: a citizen's chosen channel and email, and delivery status
fields on outbox messages (which channel, the provider's message id, when last tried, and a
Zalo message handed on to SMS).

Revision ID: 0006g
Revises: 0006f
Create Date: 2026-12-03 05:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006g"
down_revision: str | Sequence[str] | None = "0006f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("notify_channel", sa.String(length=8), server_default="sms", nullable=False),
    )
    op.add_column("users", sa.Column("email", sa.String(length=254), nullable=True))
    op.create_check_constraint(
        "notify_channel", "users", "notify_channel IN ('sms', 'zalo', 'email')"
    )
    op.create_check_constraint(
        "email_channel", "users", "notify_channel <> 'email' OR email IS NOT NULL"
    )

    op.add_column("outbox_messages", sa.Column("channel", sa.String(length=8), nullable=True))
    op.add_column("outbox_messages", sa.Column("kind", sa.String(length=32), nullable=True))
    op.add_column("outbox_messages", sa.Column("provider_message_id", sa.String(), nullable=True))
    op.add_column(
        "outbox_messages",
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "outbox_messages",
        sa.Column(
            "rerouted_to_id",
            sa.Integer(),
            sa.ForeignKey(
                "outbox_messages.id",
                name=op.f("fk_outbox_messages_rerouted_to_id_outbox_messages"),
            ),
            nullable=True,
        ),
    )
    op.drop_constraint(op.f("ck_outbox_messages_status"), "outbox_messages", type_="check")
    op.create_check_constraint(
        "status", "outbox_messages", "status IN ('pending', 'delivered', 'dead', 'rerouted')"
    )
    op.create_index(
        "ix_outbox_messages_channel_status_id",
        "outbox_messages",
        ["channel", "status", "id"],
        postgresql_where=sa.text("channel IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_channel_status_id", table_name="outbox_messages")
    # A message handed on to another channel reads as given up on (its replacement stays).
    op.execute("UPDATE outbox_messages SET status = 'dead' WHERE status = 'rerouted'")
    op.drop_constraint(op.f("ck_outbox_messages_status"), "outbox_messages", type_="check")
    op.create_check_constraint(
        "status", "outbox_messages", "status IN ('pending', 'delivered', 'dead')"
    )
    for column in ("rerouted_to_id", "last_attempt_at", "provider_message_id", "kind", "channel"):
        op.drop_column("outbox_messages", column)
    op.drop_constraint(op.f("ck_users_email_channel"), "users", type_="check")
    op.drop_constraint(op.f("ck_users_notify_channel"), "users", type_="check")
    op.drop_column("users", "email")
    op.drop_column("users", "notify_channel")
