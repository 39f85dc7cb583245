"""Agency systems (keys kept hashed, spent nonces, messages, webhook cursor); desk actions.

Revision ID: 0003d
Revises: 0002
Create Date: 2026-11-22 06:20:00.917819
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003d"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agency_request_nonces",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_request_nonces")),
        sa.UniqueConstraint("key_id", "nonce", name=op.f("uq_agency_request_nonces_key_id_nonce")),
        sa.UniqueConstraint("signature", name=op.f("uq_agency_request_nonces_signature")),
    )
    op.create_index(
        "ix_agency_request_nonces_seen_at", "agency_request_nonces", ["seen_at"], unique=False
    )
    op.create_table(
        "agency_webhook_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_agency_webhook_cursor_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_webhook_cursor")),
    )
    op.create_table(
        "agency_systems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("webhook_url", sa.String(), nullable=True),
        sa.Column("webhook_from_event_id", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind = 'national_portal' OR province_code IS NOT NULL",
            name=op.f("ck_agency_systems_provincial_scope"),
        ),
        sa.CheckConstraint(
            "kind IN ('provincial_one_stop', 'national_portal')",
            name=op.f("ck_agency_systems_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["province_code"],
            ["provinces.code"],
            name=op.f("fk_agency_systems_province_code_provinces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_systems")),
        sa.UniqueConstraint("code", name=op.f("uq_agency_systems_code")),
    )
    op.create_table(
        "agency_api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["agency_systems.id"],
            name=op.f("fk_agency_api_keys_system_id_agency_systems"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_api_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_agency_api_keys_key_id")),
    )
    op.create_index(
        op.f("ix_agency_api_keys_system_id"), "agency_api_keys", ["system_id"], unique=False
    )
    op.create_table(
        "agency_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("agency_dossier_code", sa.String(), nullable=True),
        sa.Column("appointment_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('dossier_received', 'result_ready', 'returned_for_supplement')",
            name=op.f("ck_agency_messages_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_agency_messages_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["agency_systems.id"],
            name=op.f("fk_agency_messages_system_id_agency_systems"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_messages")),
    )
    op.create_index(
        op.f("ix_agency_messages_case_id"), "agency_messages", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_agency_messages_system_id"), "agency_messages", ["system_id"], unique=False
    )

    op.create_table(
        "desk_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('agency_code_recorded')", name=op.f("ck_desk_actions_kind")),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_desk_actions_actor_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_desk_actions_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_desk_actions_office_id_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_actions")),
    )
    op.create_index(op.f("ix_desk_actions_case_id"), "desk_actions", ["case_id"], unique=False)
    op.create_index(op.f("ix_desk_actions_office_id"), "desk_actions", ["office_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_desk_actions_office_id"), table_name="desk_actions")
    op.drop_index(op.f("ix_desk_actions_case_id"), table_name="desk_actions")
    op.drop_table("desk_actions")
    op.drop_index(op.f("ix_agency_messages_system_id"), table_name="agency_messages")
    op.drop_index(op.f("ix_agency_messages_case_id"), table_name="agency_messages")
    op.drop_table("agency_messages")
    op.drop_index(op.f("ix_agency_api_keys_system_id"), table_name="agency_api_keys")
    op.drop_table("agency_api_keys")
    op.drop_table("agency_systems")
    op.drop_table("agency_webhook_cursor")
    op.drop_index("ix_agency_request_nonces_seen_at", table_name="agency_request_nonces")
    op.drop_table("agency_request_nonces")
