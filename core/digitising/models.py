"""Digitised dossiers: the pages a staff member photographed, and the one PDF made of them.

Pages arrive one at a time, keyed by the SHA-256 of their bytes, so a phone that lost its
answer sends a page again and nothing doubles. The PDF is assembled once, its SHA-256
(taken after the text layer is added) goes into the ledger's ``digitised`` event, and the
bytes stored here are checked against that hash every time they are served.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

ACCESS_KINDS = (
    "link_issued",
    "downloaded",
    "refused_expired",
    "refused_tampered",
    "refused_deleted",
)


class DossierPage(Base):
    """One captured page of a dossier, until its copy is deleted."""

    __tablename__ = "dossier_pages"
    __table_args__ = (
        UniqueConstraint("item_id", "sha256", name="item_page"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int]
    width_px: Mapped[int]
    height_px: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DigitisedCopy(Base):
    """The PDF of a dossier's pages. ``data`` is emptied when the copy is deleted; the row
    and the ledger's events stay, so the deletion is itself on record."""

    __tablename__ = "digitised_copies"
    __table_args__ = (
        CheckConstraint("pdf_sha256 ~ '^[0-9a-f]{64}$'", name="pdf_sha256_hex"),
        CheckConstraint("page_count >= 1", name="page_count"),
        CheckConstraint("(data IS NULL) = (deleted_at IS NOT NULL)", name="data_until_deleted"),
        Index("ix_digitised_copies_item_id_id", "item_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # The phone's key for this copy: sending the same request again returns this row.
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    page_sha256s: Mapped[list[str]] = mapped_column(JSONB)
    page_count: Mapped[int]
    # Checklist documents and their pages: [{"name": ..., "first_page": 1, "last_page": 2}].
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    text_layer: Mapped[str | None] = mapped_column(String(40))
    size_bytes: Mapped[int]
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    captured_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DigitisedCopyAccess(Base):
    """Every time an agency system asked for a copy or fetched it (append-only)."""

    __tablename__ = "digitised_copy_accesses"
    __table_args__ = (CheckConstraint(f"kind IN {ACCESS_KINDS!r}", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(ForeignKey("digitised_copies.id"), index=True)
    agency_system_id: Mapped[int | None] = mapped_column(ForeignKey("agency_systems.id"))
    kind: Mapped[str] = mapped_column(String(20))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
