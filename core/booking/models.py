"""What the citizens' journey adds to a case: the quote and payment, ratings, notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

PAYMENT_METHODS = ("cash", "vietqr")


class BookingTerms(Base):
    """The quote the citizen accepted and how they chose to pay, kept as it was shown."""

    __tablename__ = "booking_terms"
    __table_args__ = (
        CheckConstraint("payment_method IN ('cash', 'vietqr')", name="payment_method"),
        CheckConstraint("total_vnd >= 0", name="total"),
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    payment_method: Mapped[str] = mapped_column(String(8))
    pay_fee_on_behalf: Mapped[bool]
    weight_g: Mapped[int]
    zone: Mapped[str] = mapped_column(String(16))
    quote: Mapped[dict[str, Any]] = mapped_column(JSONB)
    total_vnd: Mapped[int]
    # A receive-only booking has no dossier item to carry a ``cancelled`` ledger event.
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reschedule_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CaseRating(Base):
    """One rating per case, after delivery."""

    __tablename__ = "case_ratings"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    citizen_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    stars: Mapped[int]
    comment: Mapped[str | None]
    # Reason chips the citizen ticked (keys of ``core.booking.service.RATING_REASONS``).
    reasons: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    # Read by the service-quality roll-up (core.sla.rollup), which picks up new ratings by time.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class CitizenNotice(Base):
    """An SMS the notifier has queued: the unique key makes a second pass send nothing twice."""

    __tablename__ = "citizen_notices"
    __table_args__ = (UniqueConstraint("case_id", "kind", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(24))
    # What the notice is about: a custody event id, or the assigned courier's id.
    ref: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NotifierWatermark(Base):
    """How far the notifier has read the custody ledger (events up to this id are settled)."""

    __tablename__ = "notifier_watermarks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
