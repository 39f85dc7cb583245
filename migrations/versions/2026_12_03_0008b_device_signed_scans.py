"""Device-signed scans (issue 19): the phones' public keys and the signatures of events.

``device_keys`` holds each phone's public key, registered at sign-in and revoked with the
device. ``event_device_signatures`` keeps a device's signature beside each event it signed
(a side table: the events' canonical form and hash chains are unchanged). It is append-only
like the ledger: a trigger refuses UPDATE, DELETE and TRUNCATE, and the app role is granted
SELECT and INSERT only (core.migrate.APPEND_ONLY_TABLES).

Revision ID: 0008b
Revises: 0008g
Create Date: 2026-12-03 12:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008b"
down_revision: str | Sequence[str] | None = "0008g"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSE_CHANGE = """
CREATE FUNCTION event_device_signatures_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'event_device_signatures is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER event_device_signatures_append_only
    BEFORE UPDATE OR DELETE ON event_device_signatures
    FOR EACH ROW EXECUTE FUNCTION event_device_signatures_refuse_change();
CREATE TRIGGER event_device_signatures_no_truncate
    BEFORE TRUNCATE ON event_device_signatures
    FOR EACH STATEMENT EXECUTE FUNCTION event_device_signatures_refuse_change();
"""


def upgrade() -> None:
    op.create_table(
        "device_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("algorithm", sa.String(length=8), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column(
            "registered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "algorithm IN ('ES256', 'Ed25519')", name=op.f("ck_device_keys_algorithm")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_device_keys_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_device_keys_key_id")),
    )
    op.create_index(op.f("ix_device_keys_device_id"), "device_keys", ["device_id"], unique=False)
    op.create_table(
        "event_device_signatures",
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("sent_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["custody_events.event_id"],
            name=op.f("fk_event_device_signatures_event_id_custody_events"),
        ),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["device_keys.key_id"],
            name=op.f("fk_event_device_signatures_key_id_device_keys"),
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_event_device_signatures")),
    )
    op.execute(REFUSE_CHANGE)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS event_device_signatures_append_only ON event_device_signatures"
    )
    op.execute(
        "DROP TRIGGER IF EXISTS event_device_signatures_no_truncate ON event_device_signatures"
    )
    op.execute("DROP FUNCTION IF EXISTS event_device_signatures_refuse_change()")
    op.drop_table("event_device_signatures")
    op.drop_index(op.f("ix_device_keys_device_id"), table_name="device_keys")
    op.drop_table("device_keys")
