"""Shared tables for the journeys: route stops, hand-over records, evidence media, one-time codes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:06:49.577260
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("citizen_birth_year", sa.Integer(), nullable=True))
    op.add_column("bookings", sa.Column("citizen_sex", sa.String(length=6), nullable=True))
    op.create_check_constraint("citizen_sex", "bookings", "citizen_sex IN ('male', 'female')")
    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("from_party", sa.String(), nullable=False),
        sa.Column("to_party", sa.String(), nullable=False),
        sa.Column("opened_by_party", sa.String(), nullable=False),
        sa.Column("opened_by_user_id", sa.Integer(), nullable=False),
        sa.Column("completed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("fees_declared_vnd", sa.Integer(), nullable=False),
        sa.Column("fees_confirmed_vnd", sa.Integer(), nullable=True),
        sa.Column("giver_signature_sha256", sa.String(length=64), nullable=True),
        sa.Column("receiver_signature_sha256", sa.String(length=64), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'completed', 'cancelled')", name=op.f("ck_handovers_status")
        ),
        sa.CheckConstraint("from_party <> to_party", name=op.f("ck_handovers_two_parties")),
        sa.ForeignKeyConstraint(
            ["completed_by_user_id"],
            ["users.id"],
            name=op.f("fk_handovers_completed_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_user_id"], ["users.id"], name=op.f("fk_handovers_opened_by_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handovers")),
        sa.UniqueConstraint("code", name=op.f("uq_handovers_code")),
    )
    op.create_table(
        "media_objects",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by_user_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_media_objects_sha256_hex")),
        sa.ForeignKeyConstraint(
            ["uploaded_by_user_id"],
            ["users.id"],
            name=op.f("fk_media_objects_uploaded_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_media_objects")),
    )
    op.create_table(
        "handover_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handover_id", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "outcome IN ('expected', 'confirmed', 'missing', 'extra', 'damaged', "
            "'seal_broken', 'declined')",
            name=op.f("ck_handover_lines_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["handover_id"], ["handovers.id"], name=op.f("fk_handover_lines_handover_id_handovers")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_handover_lines_item_id_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_lines")),
        sa.UniqueConstraint(
            "handover_id", "item_code", name=op.f("uq_handover_lines_handover_id_item_code")
        ),
    )
    op.create_index(
        op.f("ix_handover_lines_handover_id"), "handover_lines", ["handover_id"], unique=False
    )
    op.create_index(op.f("ix_handover_lines_item_id"), "handover_lines", ["item_id"], unique=False)
    op.create_table(
        "otp_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("requested_ip", sa.String(length=45), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('sign_in', 'delivery')", name=op.f("ck_otp_challenges_purpose")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_otp_challenges_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_otp_challenges")),
    )
    op.create_index(
        "ix_otp_challenges_phone_created", "otp_challenges", ["phone", "created_at"], unique=False
    )
    op.create_table(
        "route_stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_office_id", sa.Integer(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("courier_id", sa.Integer(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("paired_stop_id", sa.Integer(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_minutes", sa.Double(), nullable=False),
        sa.Column("eta", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("unassigned_reason", sa.String(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('home_pickup', 'office_drop', 'office_pickup', 'home_delivery', "
            "'post_office_drop', 'post_office_pickup')",
            name=op.f("ck_route_stops_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'arrived', 'done', 'failed', 'cancelled')",
            name=op.f("ck_route_stops_status"),
        ),
        sa.CheckConstraint(
            "(courier_id IS NULL) = (sequence IS NULL)",
            name=op.f("ck_route_stops_sequenced_when_assigned"),
        ),
        sa.CheckConstraint("window_end > window_start", name=op.f("ck_route_stops_window")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_route_stops_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["courier_id"], ["users.id"], name=op.f("fk_route_stops_courier_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_route_stops_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["paired_stop_id"],
            ["route_stops.id"],
            name=op.f("fk_route_stops_paired_stop_id_route_stops"),
        ),
        sa.ForeignKeyConstraint(
            ["post_office_id"],
            ["post_offices.id"],
            name=op.f("fk_route_stops_post_office_id_post_offices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_stops")),
    )
    op.create_index(op.f("ix_route_stops_case_id"), "route_stops", ["case_id"], unique=False)
    op.create_index(
        "ix_route_stops_courier_day",
        "route_stops",
        ["courier_id", "service_date", "sequence"],
        unique=False,
    )
    op.create_index(
        "ix_route_stops_day", "route_stops", ["post_office_id", "service_date"], unique=False
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_bookings_citizen_sex"), "bookings", type_="check")
    op.drop_column("bookings", "citizen_sex")
    op.drop_column("bookings", "citizen_birth_year")
    op.drop_index("ix_route_stops_day", table_name="route_stops")
    op.drop_index("ix_route_stops_courier_day", table_name="route_stops")
    op.drop_index(op.f("ix_route_stops_case_id"), table_name="route_stops")
    op.drop_table("route_stops")
    op.drop_index("ix_otp_challenges_phone_created", table_name="otp_challenges")
    op.drop_table("otp_challenges")
    op.drop_index(op.f("ix_handover_lines_item_id"), table_name="handover_lines")
    op.drop_index(op.f("ix_handover_lines_handover_id"), table_name="handover_lines")
    op.drop_table("handover_lines")
    op.drop_table("media_objects")
    op.drop_table("handovers")
