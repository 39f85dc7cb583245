"""Digitised dossiers: captured pages, the PDF made of them, and every agency access.

- dossier_pages: each page photo once per dossier, keyed by its SHA-256 (a page sent
  again is not doubled).
- digitised_copies: the PDF with its hash, its pages' hashes and the ledger event that
  records them; the bytes are emptied (and deleted_at set) when the copy is deleted.
- digitised_copy_accesses: every link issued, download and refusal; append-only for the
  app role (core.migrate.APPEND_ONLY_TABLES).

Revision ID: 0008h
Revises: 0007p
Create Date: 2026-12-03 12:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008h"
down_revision: str | Sequence[str] | None = "0007p"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dossier_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width_px", sa.Integer(), nullable=False),
        sa.Column("height_px", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by_user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_dossier_pages_sha256_hex")),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_dossier_pages_item_id_items")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_user_id"],
            ["users.id"],
            name=op.f("fk_dossier_pages_uploaded_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_pages")),
        sa.UniqueConstraint("item_id", "sha256", name="item_page"),
    )
    op.create_index(op.f("ix_dossier_pages_item_id"), "dossier_pages", ["item_id"], unique=False)
    op.create_table(
        "digitised_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("page_sha256s", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("documents", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("text_layer", sa.String(length=40), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("captured_by_user_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "pdf_sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_digitised_copies_pdf_sha256_hex")
        ),
        sa.CheckConstraint(
            "(data IS NULL) = (deleted_at IS NOT NULL)",
            name=op.f("ck_digitised_copies_data_until_deleted"),
        ),
        sa.CheckConstraint("page_count >= 1", name=op.f("ck_digitised_copies_page_count")),
        sa.ForeignKeyConstraint(
            ["captured_by_user_id"],
            ["users.id"],
            name=op.f("fk_digitised_copies_captured_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_digitised_copies_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_digitised_copies_item_id_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digitised_copies")),
        sa.UniqueConstraint("client_id", name=op.f("uq_digitised_copies_client_id")),
    )
    op.create_index(
        op.f("ix_digitised_copies_case_id"), "digitised_copies", ["case_id"], unique=False
    )
    op.create_index(
        "ix_digitised_copies_item_id_id", "digitised_copies", ["item_id", "id"], unique=False
    )
    op.create_table(
        "digitised_copy_accesses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.Column("agency_system_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('link_issued', 'downloaded', 'refused_expired', 'refused_tampered', "
            "'refused_deleted')",
            name=op.f("ck_digitised_copy_accesses_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_system_id"],
            ["agency_systems.id"],
            name=op.f("fk_digitised_copy_accesses_agency_system_id_agency_systems"),
        ),
        sa.ForeignKeyConstraint(
            ["copy_id"],
            ["digitised_copies.id"],
            name=op.f("fk_digitised_copy_accesses_copy_id_digitised_copies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digitised_copy_accesses")),
    )
    op.create_index(
        op.f("ix_digitised_copy_accesses_copy_id"),
        "digitised_copy_accesses",
        ["copy_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_digitised_copy_accesses_copy_id"), table_name="digitised_copy_accesses")
    op.drop_table("digitised_copy_accesses")
    op.drop_index("ix_digitised_copies_item_id_id", table_name="digitised_copies")
    op.drop_index(op.f("ix_digitised_copies_case_id"), table_name="digitised_copies")
    op.drop_table("digitised_copies")
    op.drop_index(op.f("ix_dossier_pages_item_id"), table_name="dossier_pages")
    op.drop_table("dossier_pages")
