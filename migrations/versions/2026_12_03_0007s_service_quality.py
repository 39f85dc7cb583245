"""Service quality: daily roll-ups, per-subject facts, watermarks, targets, complaints;
rating reason chips; indexes the roll-up reads new ratings and hand-overs by.

Revision ID: 0007s
Revises: 0007b
Create Date: 2026-12-03 08:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007s"
down_revision: str | Sequence[str] | None = "0007b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_daily",
        sa.Column("grain", sa.String(8), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("measure", sa.String(32), nullable=False),
        sa.Column("post_office_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("courier_id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.BigInteger(), nullable=False),
        sa.Column("value_sum", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "grain", "province_code", "day", "measure", "post_office_id", "office_id",
            "courier_id", "procedure_id", name="pk_sla_daily",
        ),
    )  # fmt: skip
    op.create_index("ix_sla_daily_post_office", "sla_daily", ["grain", "post_office_id", "day"])
    op.create_index("ix_sla_daily_office", "sla_daily", ["grain", "office_id", "day"])
    op.create_index("ix_sla_daily_courier", "sla_daily", ["grain", "courier_id", "day"])
    op.create_table(
        "sla_facts",
        sa.Column("subject", sa.String(12), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("post_office_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("courier_id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("open_stage", sa.String(16), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("contributions", postgresql.JSONB(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "subject IN ('case', 'handover', 'complaint')", name="ck_sla_facts_subject"
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name="fk_sla_facts_item_id_items"),
        sa.PrimaryKeyConstraint("subject", "subject_id", name="pk_sla_facts"),
    )
    op.create_index(
        "ix_sla_facts_due_at", "sla_facts", ["due_at"],
        postgresql_where=sa.text("open_stage IS NOT NULL"),
    )  # fmt: skip
    op.create_table(
        "sla_watermarks",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("last_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_sla_watermarks"),
    )
    op.create_table(
        "sla_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(32), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.CheckConstraint("value > 0", name="ck_sla_targets_value_positive"),
        sa.ForeignKeyConstraint(["province_code"], ["provinces.code"],
                                name="fk_sla_targets_province_code_provinces"),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"],
                                name="fk_sla_targets_office_id_offices"),
        sa.PrimaryKeyConstraint("id", name="pk_sla_targets"),
        sa.UniqueConstraint("measure", "province_code", "office_id",
                            name="uq_sla_targets_measure_province_code_office_id",
                            postgresql_nulls_not_distinct=True),
    )  # fmt: skip
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("citizen_user_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.String(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by_user_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("length(text) BETWEEN 1 AND 2000", name="ck_complaints_text_length"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_complaints_case_id_cases"),
        sa.ForeignKeyConstraint(["citizen_user_id"], ["users.id"],
                                name="fk_complaints_citizen_user_id_users"),
        sa.ForeignKeyConstraint(["answered_by_user_id"], ["users.id"],
                                name="fk_complaints_answered_by_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_complaints"),
    )  # fmt: skip
    op.create_index("ix_complaints_case_id", "complaints", ["case_id"])
    op.add_column(
        "case_ratings",
        sa.Column("reasons", postgresql.JSONB(), server_default="[]", nullable=False),
    )
    op.create_index("ix_case_ratings_created_at", "case_ratings", ["created_at"])
    op.create_index("ix_handovers_completed_at", "handovers", ["completed_at"])


def downgrade() -> None:
    op.drop_index("ix_handovers_completed_at", table_name="handovers")
    op.drop_index("ix_case_ratings_created_at", table_name="case_ratings")
    op.drop_column("case_ratings", "reasons")
    op.drop_table("complaints")
    op.drop_table("sla_targets")
    op.drop_table("sla_watermarks")
    op.drop_table("sla_facts")
    op.drop_table("sla_daily")
