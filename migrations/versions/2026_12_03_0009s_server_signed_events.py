"""Server-signed ledger events (issue 19): every event signed by the server's key.

``event_server_signatures`` keeps the server's Ed25519 signature of each event's canonical
form beside the event (a side table, like the device signatures: the canonical form and the
hash chains are unchanged); ``server_signing_keys`` the public keys that signed (the private
key is configuration, never stored); ``server_signing_epoch`` one row, written here: the
first event recorded under signatures. Events before it are legacy (docs/ledger.md). All
three are append-only: a trigger refuses UPDATE, DELETE and TRUNCATE, and the app role is
granted SELECT and INSERT only (core.migrate.APPEND_ONLY_TABLES).

Revision ID: 0009s
Revises: 0009x
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009s"
down_revision: str | Sequence[str] | None = "0009x"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("event_server_signatures", "server_signing_keys", "server_signing_epoch")

REFUSE_CHANGE = """
CREATE FUNCTION server_signatures_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""


def upgrade() -> None:
    op.create_table(
        "server_signing_keys",
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("vkey", sa.Text(), nullable=False),
        sa.Column(
            "first_used_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_server_signing_keys")),
    )
    op.create_table(
        "event_server_signatures",
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_event_server_signatures")),
    )
    op.create_table(
        "server_signing_epoch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_event_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_signing_epoch")),
    )
    # Every event from here on is signed: the next id the ledger hands out is the first.
    op.execute(
        "INSERT INTO server_signing_epoch (first_event_id) "
        "SELECT COALESCE(max(id), 0) + 1 FROM custody_events"
    )
    op.execute(REFUSE_CHANGE)
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION server_signatures_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION server_signatures_refuse_change()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS server_signatures_refuse_change()")
    for table in TABLES:
        op.drop_table(table)
