"""The audit log of admin actions: append-only in the database (migration 0006e)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class AdminAuditEntry(Base):
    """Who did what to whom, when, with the record before and after (never a password)."""

    __tablename__ = "admin_audit_log"
    __table_args__ = (
        Index("ix_admin_audit_log_occurred_at", "occurred_at"),
        Index("ix_admin_audit_log_target", "target_kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # None when the action came from the command line, which has no signed-in user.
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Kept as text so the entry still reads right after the actor's account changes.
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    target_label: Mapped[str | None] = mapped_column(String(200))
    # The province the target belongs to, so the log can be read province by province.
    province_code: Mapped[str | None] = mapped_column(String(2))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
