"""Bank statements, bank lines, the decisions about them, and the banks' notification keys.

``bank_lines`` (what the bank said) and ``bank_line_decisions`` (what was decided about each
line) are append-only in the database, as the custody ledger is: a trigger refuses UPDATE,
DELETE and TRUNCATE, so the trail from a citizen's transfer to its receipt or refund cannot
be rewritten.

Revision ID: 0007b
Revises: 0007m
Create Date: 2026-12-03 08:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007b"
down_revision: str | Sequence[str] | None = "0007m"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("bank_lines", "bank_line_decisions")

REFUSE = """
CREATE FUNCTION {table}_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{table} is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_refuse_change();
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_change();
"""


def upgrade() -> None:
    op.create_table(
        "bank_statements",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("bank", sa.String(length=32), nullable=True),
        sa.Column("account_no", sa.String(length=32), nullable=True),
        sa.Column("lines_read", sa.Integer(), nullable=False),
        sa.Column("lines_new", sa.Integer(), nullable=False),
        sa.Column("debits_skipped", sa.Integer(), nullable=False),
        sa.Column("post_office_id", sa.Integer(), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("imported_by_user_id", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["imported_by_user_id"], ["users.id"],
                                name=op.f("fk_bank_statements_imported_by_user_id_users")),
        sa.ForeignKeyConstraint(["post_office_id"], ["post_offices.id"],
                                name=op.f("fk_bank_statements_post_office_id_post_offices")),
        sa.ForeignKeyConstraint(["province_code"], ["provinces.code"],
                                name=op.f("fk_bank_statements_province_code_provinces")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statements")),
    )  # fmt: skip
    op.create_index(op.f("ix_bank_statements_file_sha256"), "bank_statements", ["file_sha256"])
    op.create_table(
        "bank_lines",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("line_key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("statement_id", sa.BigInteger(), nullable=True),
        sa.Column("notification_key_id", sa.String(length=64), nullable=True),
        sa.Column("account_no", sa.String(length=32), nullable=True),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("counterparty", sa.String(), nullable=True),
        sa.Column("post_office_id", sa.Integer(), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_vnd > 0", name=op.f("ck_bank_lines_amount_positive")),
        sa.CheckConstraint("source IN ('statement', 'notification')",
                           name=op.f("ck_bank_lines_source")),
        sa.ForeignKeyConstraint(["post_office_id"], ["post_offices.id"],
                                name=op.f("fk_bank_lines_post_office_id_post_offices")),
        sa.ForeignKeyConstraint(["province_code"], ["provinces.code"],
                                name=op.f("fk_bank_lines_province_code_provinces")),
        sa.ForeignKeyConstraint(["statement_id"], ["bank_statements.id"],
                                name=op.f("fk_bank_lines_statement_id_bank_statements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_lines")),
        sa.UniqueConstraint("line_key", name=op.f("uq_bank_lines_line_key")),
    )  # fmt: skip
    op.create_index("ix_bank_lines_booked_on", "bank_lines", ["booked_on"])
    op.create_index(op.f("ix_bank_lines_post_office_id"), "bank_lines", ["post_office_id"])
    op.create_index(op.f("ix_bank_lines_statement_id"), "bank_lines", ["statement_id"])
    op.create_table(
        "bank_line_decisions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("line_id", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("money_transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("expected_vnd", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('matched', 'refunded', 'unmatched', 'duplicate', 'wrong_amount', "
            "'cancelled_paid')",
            name=op.f("ck_bank_line_decisions_outcome"),
        ),
        sa.CheckConstraint(
            "outcome NOT IN ('matched', 'duplicate', 'wrong_amount', 'cancelled_paid') "
            "OR case_id IS NOT NULL",
            name=op.f("ck_bank_line_decisions_case_named"),
        ),
        sa.CheckConstraint(
            "decided_by_user_id IS NOT NULL OR outcome NOT IN ('refunded')",
            name=op.f("ck_bank_line_decisions_refund_by_person"),
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_bank_line_decisions_case_id_cases")),
        sa.ForeignKeyConstraint(["decided_by_user_id"], ["users.id"],
                                name=op.f("fk_bank_line_decisions_decided_by_user_id_users")),
        sa.ForeignKeyConstraint(
            ["money_transaction_id"], ["money_transactions.id"],
            name=op.f("fk_bank_line_decisions_money_transaction_id_money_transactions"),
        ),
        sa.ForeignKeyConstraint(["line_id"], ["bank_lines.id"],
                                name=op.f("fk_bank_line_decisions_line_id_bank_lines")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_line_decisions")),
    )  # fmt: skip
    op.create_index(op.f("ix_bank_line_decisions_case_id"), "bank_line_decisions", ["case_id"])
    op.create_index("ix_bank_line_decisions_line_id", "bank_line_decisions", ["line_id", "id"])
    op.create_table(
        "bank_notification_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("bank", sa.String(length=32), nullable=False),
        sa.Column("account_no", sa.String(length=32), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["province_code"], ["provinces.code"],
                                name=op.f("fk_bank_notification_keys_province_code_provinces")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_notification_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_bank_notification_keys_key_id")),
    )  # fmt: skip
    for table in APPEND_ONLY:
        op.execute(REFUSE.format(table=table))


def downgrade() -> None:
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_refuse_change()")
    op.drop_table("bank_notification_keys")
    op.drop_index("ix_bank_line_decisions_line_id", table_name="bank_line_decisions")
    op.drop_index(op.f("ix_bank_line_decisions_case_id"), table_name="bank_line_decisions")
    op.drop_table("bank_line_decisions")
    op.drop_index(op.f("ix_bank_lines_statement_id"), table_name="bank_lines")
    op.drop_index(op.f("ix_bank_lines_post_office_id"), table_name="bank_lines")
    op.drop_index("ix_bank_lines_booked_on", table_name="bank_lines")
    op.drop_table("bank_lines")
    op.drop_index(op.f("ix_bank_statements_file_sha256"), table_name="bank_statements")
    op.drop_table("bank_statements")
