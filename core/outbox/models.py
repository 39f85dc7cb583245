"""The transactional outbox: side effects as rows written with the change that causes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        # "rerouted": handed on to another channel (a Zalo message sent by SMS instead); the
        # replacement is rerouted_to_id.
        CheckConstraint("status IN ('pending', 'delivered', 'dead', 'rerouted')", name="status"),
        # The worker's only query: pending rows whose time has come, oldest first.
        Index(
            "ix_outbox_messages_due",
            "available_at",
            postgresql_where="status = 'pending'",
        ),
        # The staff's delivery status page: a channel's messages by status, newest first.
        Index(
            "ix_outbox_messages_channel_status_id",
            "channel",
            "status",
            "id",
            postgresql_where="channel IS NOT NULL",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    available_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Citizen messages only (None for webhooks): sms / email / zalo, and which notice it is.
    channel: Mapped[str | None] = mapped_column(String(8))
    kind: Mapped[str | None] = mapped_column(String(32))
    # What the gateway called the message when it accepted it (for support calls to it).
    provider_message_id: Mapped[str | None]
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rerouted_to_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
