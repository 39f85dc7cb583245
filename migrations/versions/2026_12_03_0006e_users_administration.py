"""Users administration: two new roles, a province binding, forced password change, and the
append-only audit log of admin actions.

The audit log is append-only in the database, as the custody ledger is: a trigger refuses
UPDATE, DELETE and TRUNCATE, so no code path (ORM, raw SQL, a future service) can rewrite
who did what.

Revision ID: 0006e
Revises: 0005
Create Date: 2026-12-03 05:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006e"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = "role IN ('citizen', 'courier', 'desk_officer', 'dispatcher', 'admin')"
NEW_ROLES = (
    "role IN ('citizen', 'courier', 'desk_officer', 'dispatcher', 'admin', "
    "'province_supervisor', 'counter_clerk')"
)

AUDIT_APPEND_ONLY = """
CREATE FUNCTION admin_audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'admin_audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER admin_audit_log_append_only
    BEFORE UPDATE OR DELETE ON admin_audit_log
    FOR EACH ROW EXECUTE FUNCTION admin_audit_log_refuse_change();
CREATE TRIGGER admin_audit_log_no_truncate
    BEFORE TRUNCATE ON admin_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION admin_audit_log_refuse_change();
"""


def upgrade() -> None:
    op.drop_constraint(op.f("ck_users_role"), "users", type_="check")
    op.create_check_constraint(op.f("ck_users_role"), "users", NEW_ROLES)
    op.add_column("users", sa.Column("province_code", sa.String(length=2), nullable=True))
    op.create_foreign_key(
        op.f("fk_users_province_code_provinces"), "users", "provinces", ["province_code"], ["code"]
    )
    op.add_column(
        "users",
        sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("users", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_users_clerk_post"),
        "users",
        "role <> 'counter_clerk' OR post_office_id IS NOT NULL",
    )
    op.create_check_constraint(
        op.f("ck_users_supervisor_province"),
        "users",
        "role <> 'province_supervisor' OR province_code IS NOT NULL",
    )
    op.create_table(
        "admin_audit_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_kind", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("target_label", sa.String(length=200), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_admin_audit_log_actor_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_audit_log")),
    )
    op.create_index(
        "ix_admin_audit_log_occurred_at", "admin_audit_log", ["occurred_at"], unique=False
    )
    op.create_index(
        "ix_admin_audit_log_target", "admin_audit_log", ["target_kind", "target_id"], unique=False
    )
    op.execute(AUDIT_APPEND_ONLY)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS admin_audit_log_append_only ON admin_audit_log")
    op.execute("DROP TRIGGER IF EXISTS admin_audit_log_no_truncate ON admin_audit_log")
    op.execute("DROP FUNCTION IF EXISTS admin_audit_log_refuse_change()")
    op.drop_table("admin_audit_log")
    op.drop_constraint(op.f("ck_users_supervisor_province"), "users", type_="check")
    op.drop_constraint(op.f("ck_users_clerk_post"), "users", type_="check")
    op.drop_column("users", "updated_at")
    op.drop_column("users", "must_change_password")
    op.drop_constraint(op.f("fk_users_province_code_provinces"), "users", type_="foreignkey")
    op.drop_column("users", "province_code")
    op.drop_constraint(op.f("ck_users_role"), "users", type_="check")
    op.create_check_constraint(op.f("ck_users_role"), "users", OLD_ROLES)
