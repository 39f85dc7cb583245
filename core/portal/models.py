"""What hoso told the national public service portal about each case's status."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class PortalStatusChange(Base):
    """One change of a case's portal status, queued for the portal in the same transaction
    (its outbox message). Never updated: whether the portal acknowledged it is the outbox
    message's state. A ledger event causes at most one change (unique), so a crash and a
    re-run of the sync pass can never send a change twice."""

    __tablename__ = "portal_status_changes"
    __table_args__ = (
        UniqueConstraint("case_id", "seq"),
        CheckConstraint("cause IN ('ledger', 'agency_code')", name="cause"),
        Index(
            "uq_portal_status_changes_cause_event_id",
            "cause_event_id",
            unique=True,
            postgresql_where="cause_event_id IS NOT NULL",
        ),  # fmt: skip
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int]
    code: Mapped[int]
    name: Mapped[str]
    # The hoso status behind it (``handed_over``), or ``agency_code`` for the code recorded.
    stage: Mapped[str] = mapped_column(String(32))
    cause: Mapped[str] = mapped_column(String(16))
    cause_event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    outbox_message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PortalSyncCursor(Base):
    """How far the portal sync has read the custody ledger (one row)."""

    __tablename__ = "portal_sync_cursor"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
