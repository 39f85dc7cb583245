"""People and their credentials."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, false, func
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

ROLES = (
    "citizen",
    "courier",
    "desk_officer",
    "dispatcher",
    "admin",
    "province_supervisor",
    "counter_clerk",
)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('citizen', 'courier', 'desk_officer', 'dispatcher', 'admin', "
            "'province_supervisor', 'counter_clerk')",
            name="role",
        ),
        # A courier without a post office, or a desk officer without an office, could act
        # anywhere; the database refuses them outright.
        CheckConstraint("role <> 'courier' OR post_office_id IS NOT NULL", name="courier_post"),
        CheckConstraint("role <> 'dispatcher' OR post_office_id IS NOT NULL", name="dispatch_post"),
        CheckConstraint("role <> 'desk_officer' OR office_id IS NOT NULL", name="desk_office"),
        CheckConstraint("role <> 'counter_clerk' OR post_office_id IS NOT NULL", name="clerk_post"),
        CheckConstraint(
            "role <> 'province_supervisor' OR province_code IS NOT NULL",
            name="supervisor_province",
        ),
        CheckConstraint("notify_channel IN ('sms', 'zalo', 'email')", name="notify_channel"),
        CheckConstraint("notify_channel <> 'email' OR email IS NOT NULL", name="email_channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(unique=True)
    full_name: Mapped[str]
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    role: Mapped[str]
    # Citizens sign in with one-time codes and have no password.
    password_hash: Mapped[str | None]
    post_office_id: Mapped[int | None] = mapped_column(ForeignKey("post_offices.id"))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    # The province a staff user works in (from their office or post office); None for a
    # deployment-wide admin and for citizens, who may book in any province.
    province_code: Mapped[str | None] = mapped_column(
        String(2), ForeignKey("provinces.code"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    # Set when an admin resets the password: sign-in then asks for a new one before anything.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    # How a citizen wants to hear about their cases (core/outbox/citizen.py); the sign-in
    # code goes by SMS, or by Zalo when chosen and configured.
    notify_channel: Mapped[str] = mapped_column(String(8), default="sms", server_default="sms")
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Device(Base):
    """A phone registered to a courier; tokens are bound to it and die with it."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_uid: Mapped[str]
    name: Mapped[str]
    # android / ios / web, as the phone reported it at sign-in.
    platform: Mapped[str | None] = mapped_column(String(16))
    registered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """Only a keyed hash of the token is stored: a copy of this table signs nobody in."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInFailure(Base):
    """A failed password sign-in, kept to slow down guessing (see ``authenticate``)."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_username_failed_at", "username", "failed_at"),
        Index("ix_sign_in_failures_client_ip_failed_at", "client_ip", "failed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # As typed, not a user id: guesses at names that do not exist count too.
    username: Mapped[str] = mapped_column(String(150))
    client_ip: Mapped[str | None] = mapped_column(String(45))
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
