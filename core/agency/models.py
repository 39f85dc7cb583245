"""Agency systems (the provincial one-stop system, the national public service portal).

An agency system calls us with signed requests and receives signed status webhooks. Its
signing secret is never stored: it is derived from the server secret and the key's public
id (see ``core.agency.signing``), and the table keeps only a hash of it, so a copy of these
rows lets nobody sign in.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

SYSTEM_KINDS = ("provincial_one_stop", "national_portal")
INBOUND_KINDS = ("dossier_received", "result_ready", "returned_for_supplement")


class AgencySystem(Base):
    __tablename__ = "agency_systems"
    __table_args__ = (
        CheckConstraint(f"kind IN {SYSTEM_KINDS!r}", name="kind"),
        # A provincial system acts on its province only; the national portal on every one.
        CheckConstraint(
            "kind = 'national_portal' OR province_code IS NOT NULL", name="provincial_scope"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str]
    kind: Mapped[str] = mapped_column(String(32))
    province_code: Mapped[str | None] = mapped_column(ForeignKey("provinces.code"))
    # Status webhooks go here when set; NULL means not subscribed.
    webhook_url: Mapped[str | None]
    # Events recorded before the subscription are not sent: a new subscriber is not
    # flooded with history it never asked for.
    webhook_from_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AgencyApiKey(Base):
    """A key id (public, sent with every request) and the hash of its derived secret."""

    __tablename__ = "agency_api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("agency_systems.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AgencyRequestNonce(Base):
    """Every signed request seen within the replay window: its nonce and its signature.

    Written in a transaction of its own before the request is handled, so a nonce is spent
    whatever becomes of the request. No foreign key: that short transaction must not wait on
    (or see) the request's own.
    """

    __tablename__ = "agency_request_nonces"
    __table_args__ = (
        UniqueConstraint("key_id", "nonce"),
        UniqueConstraint("signature"),
        Index("ix_agency_request_nonces_seen_at", "seen_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(128))
    signature: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AgencyMessage(Base):
    """What an agency system told us, as received: the audit trail of the inbound API."""

    __tablename__ = "agency_messages"
    __table_args__ = (CheckConstraint(f"kind IN {INBOUND_KINDS!r}", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("agency_systems.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    agency_dossier_code: Mapped[str | None]
    appointment_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookCursor(Base):
    """How far the status-webhook dispatcher has read the custody ledger (one row)."""

    __tablename__ = "agency_webhook_cursor"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
