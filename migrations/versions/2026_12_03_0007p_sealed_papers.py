"""Sealed papers: per-dossier fees on hand-over lines, signed hand-over records and recorded
dossier codes that the database refuses to change, and each office's agency codes.

- ``handover_lines`` gets the fees declared by the courier and confirmed by the desk for
  each dossier; ``handovers`` gets the sealed content hash and the correction link.
- ``dossier_code_records`` is append-only (like the ledger): every agency dossier code and
  appointment date as recorded; ``cases`` keeps the latest as a projection, and a trigger
  refuses any value there that is not the latest record's.
- A completed (signed) hand-over and its lines can no longer be updated or deleted.
- ``offices.agency_codes``: the QCVN 102 level-1 codes whose dossier codes an office records.

Revision ID: 0007p
Revises: 0007r
Create Date: 2026-12-03 08:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007p"
down_revision: str | Sequence[str] | None = "0007r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEALING = """
CREATE FUNCTION dossier_code_records_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION
        'dossier_code_records is append-only: % refused; record a correction instead', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER dossier_code_records_append_only
    BEFORE UPDATE OR DELETE ON dossier_code_records
    FOR EACH ROW EXECUTE FUNCTION dossier_code_records_refuse_change();
CREATE TRIGGER dossier_code_records_no_truncate
    BEFORE TRUNCATE ON dossier_code_records
    FOR EACH STATEMENT EXECUTE FUNCTION dossier_code_records_refuse_change();

CREATE FUNCTION cases_code_follows_records() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    latest RECORD;
BEGIN
    IF NEW.agency_dossier_code IS DISTINCT FROM OLD.agency_dossier_code
       OR NEW.appointment_date IS DISTINCT FROM OLD.appointment_date THEN
        SELECT agency_dossier_code, appointment_date INTO latest
        FROM dossier_code_records WHERE case_id = NEW.id ORDER BY id DESC LIMIT 1;
        IF NOT FOUND
           OR latest.agency_dossier_code IS DISTINCT FROM NEW.agency_dossier_code
           OR latest.appointment_date IS DISTINCT FROM NEW.appointment_date THEN
            RAISE EXCEPTION
                'case %: a recorded dossier code or appointment date is sealed; record a '
                'correction (dossier_code_records) instead', NEW.id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER cases_code_sealed
    BEFORE UPDATE ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_code_follows_records();

CREATE FUNCTION handovers_refuse_signed_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'completed' THEN
        RAISE EXCEPTION
            'hand-over record % is signed: % refused; record a correction instead',
            OLD.code, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER handovers_sealed
    BEFORE UPDATE OR DELETE ON handovers
    FOR EACH ROW EXECUTE FUNCTION handovers_refuse_signed_change();

CREATE FUNCTION handover_lines_refuse_signed_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    parent RECORD;
BEGIN
    SELECT code, status INTO parent FROM handovers
    WHERE id = (CASE WHEN TG_OP = 'INSERT' THEN NEW.handover_id ELSE OLD.handover_id END);
    IF FOUND AND parent.status = 'completed' THEN
        RAISE EXCEPTION
            'hand-over record % is signed: % of its lines refused; record a correction instead',
            parent.code, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER handover_lines_sealed
    BEFORE INSERT OR UPDATE OR DELETE ON handover_lines
    FOR EACH ROW EXECUTE FUNCTION handover_lines_refuse_signed_change();
"""


def upgrade() -> None:
    op.add_column(
        "offices",
        sa.Column(
            "agency_codes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
    )
    op.add_column(
        "handover_lines",
        sa.Column("fees_declared_vnd", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("handover_lines", sa.Column("fees_confirmed_vnd", sa.Integer(), nullable=True))
    op.create_check_constraint(
        op.f("ck_handover_lines_fees"),
        "handover_lines",
        "fees_declared_vnd >= 0 AND (fees_confirmed_vnd IS NULL OR fees_confirmed_vnd >= 0)",
    )
    op.add_column("handovers", sa.Column("content_sha256", sa.String(length=64), nullable=True))
    op.add_column("handovers", sa.Column("supersedes_id", sa.Integer(), nullable=True))
    op.add_column("handovers", sa.Column("correction_reason", sa.String(), nullable=True))
    op.create_foreign_key(
        op.f("fk_handovers_supersedes_id_handovers"),
        "handovers",
        "handovers",
        ["supersedes_id"],
        ["id"],
    )
    op.create_table(
        "dossier_code_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("agency_dossier_code", sa.String(length=40), nullable=False),
        sa.Column("appointment_date", sa.Date(), nullable=True),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_label", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "source IN ('desk', 'agency', 'seed')", name=op.f("ck_dossier_code_records_source")
        ),
        sa.CheckConstraint(
            "supersedes_id IS NULL OR (reason IS NOT NULL AND length(reason) > 0)",
            name=op.f("ck_dossier_code_records_correction_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_dossier_code_records_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_dossier_code_records_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"],
            ["users.id"],
            name=op.f("fk_dossier_code_records_recorded_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["dossier_code_records.id"],
            name=op.f("fk_dossier_code_records_supersedes_id_dossier_code_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_code_records")),
    )
    op.create_index(
        op.f("ix_dossier_code_records_case_id"), "dossier_code_records", ["case_id"], unique=False
    )
    op.execute(SEALING)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS handover_lines_sealed ON handover_lines")
    op.execute("DROP FUNCTION IF EXISTS handover_lines_refuse_signed_change()")
    op.execute("DROP TRIGGER IF EXISTS handovers_sealed ON handovers")
    op.execute("DROP FUNCTION IF EXISTS handovers_refuse_signed_change()")
    op.execute("DROP TRIGGER IF EXISTS cases_code_sealed ON cases")
    op.execute("DROP FUNCTION IF EXISTS cases_code_follows_records()")
    op.execute("DROP TRIGGER IF EXISTS dossier_code_records_append_only ON dossier_code_records")
    op.execute("DROP TRIGGER IF EXISTS dossier_code_records_no_truncate ON dossier_code_records")
    op.execute("DROP FUNCTION IF EXISTS dossier_code_records_refuse_change()")
    op.drop_index(op.f("ix_dossier_code_records_case_id"), table_name="dossier_code_records")
    op.drop_table("dossier_code_records")
    op.drop_constraint(op.f("fk_handovers_supersedes_id_handovers"), "handovers", "foreignkey")
    op.drop_column("handovers", "correction_reason")
    op.drop_column("handovers", "supersedes_id")
    op.drop_column("handovers", "content_sha256")
    op.drop_constraint(op.f("ck_handover_lines_fees"), "handover_lines", type_="check")
    op.drop_column("handover_lines", "fees_confirmed_vnd")
    op.drop_column("handover_lines", "fees_declared_vnd")
    op.drop_column("offices", "agency_codes")
