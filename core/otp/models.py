"""One-time codes sent by SMS: citizen sign-in and proof of delivery at the door."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

OTP_PURPOSES = ("sign_in", "delivery")


class OtpChallenge(Base):
    __tablename__ = "otp_challenges"
    __table_args__ = (
        CheckConstraint(f"purpose IN {OTP_PURPOSES!r}", name="purpose"),
        Index("ix_otp_challenges_phone_created", "phone", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str] = mapped_column(String(20))
    # For delivery codes: the case whose result the code releases.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # Keyed hash only: a database reader cannot use a code that is still live.
    code_hash: Mapped[str] = mapped_column(String(64))
    requested_ip: Mapped[str | None] = mapped_column(String(45))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
