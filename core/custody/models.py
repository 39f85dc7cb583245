"""The items in custody, the custody ledger and its projections.

``custody_events`` is append-only in the database itself (a trigger in the migration refuses
UPDATE, DELETE and TRUNCATE). ``item_states`` is a projection of it, updated in the same
transaction and rebuildable from the events at any time.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Sequence,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

# S10 serials are 8 digits; the sequence never wraps so an ID is never reissued
# (UPU asks for no reuse within 12 months).
item_serial_seq = Sequence("item_serial_seq", start=1, maxvalue=99_999_999, cycle=False)


class Item(Base):
    """A physical postal item (bưu gửi) with a UPU S10 identifier."""

    __tablename__ = "items"
    __table_args__ = (CheckConstraint("kind IN ('dossier', 'result')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(13), unique=True)
    kind: Mapped[str]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", use_alter=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CustodyEvent(Base):
    __tablename__ = "custody_events"
    __table_args__ = (
        UniqueConstraint("item_id", "seq"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint(
            "occurred_offset ~ '^[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)$'", name="offset_format"
        ),
        # Declarations and corrective events name the event they correct: the EPCIS export
        # finds a declaration's corrective events by it. Few rows have one; only they are kept.
        Index(
            "ix_custody_events_corrects_event_id",
            "corrects_event_id",
            postgresql_where="corrects_event_id IS NOT NULL",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # EPCIS eventID. Unique: the correction of an event is a new row with its own id that
    # points at the corrected one, so a plain unique constraint holds.
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    # The phone's idempotency key. Not unique: a scan of a bag fans out to one event per item.
    client_event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    seq: Mapped[int]
    kind: Mapped[str]
    biz_step: Mapped[str]
    disposition: Mapped[str]
    upu_code: Mapped[str | None] = mapped_column(String(3))
    from_party: Mapped[str | None]
    to_party: Mapped[str | None]
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str]
    # The party the actor acted for (``office:3`` for a desk officer): hand-off rules are
    # checked against it when the state is re-derived from the events.
    actor_party: Mapped[str]
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    occurred_offset: Mapped[str] = mapped_column(String(6))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    place: Mapped[str | None]
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    gps_accuracy_m: Mapped[float | None]
    bag_id: Mapped[int | None] = mapped_column(ForeignKey("bags.id"))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    raw_code: Mapped[str | None]
    corrects_event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ItemState(Base):
    """Projection: where each item is, who holds it, and what hand-off is pending."""

    __tablename__ = "item_states"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    status: Mapped[str] = mapped_column(index=True)
    custodian: Mapped[str] = mapped_column(index=True)
    pending_from: Mapped[str | None]
    pending_to: Mapped[str | None]
    pending_initiator: Mapped[str | None]
    bag_id: Mapped[int | None] = mapped_column(ForeignKey("bags.id"), index=True)
    delivery_attempts: Mapped[int] = mapped_column(default=0)
    last_seq: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
    last_event_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Bag(Base):
    """A receptacle (túi). Items join and leave it through ledger events."""

    __tablename__ = "bags"
    __table_args__ = (CheckConstraint("status IN ('open', 'sealed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(13), unique=True)
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_offices.id"))
    status: Mapped[str] = mapped_column(default="open")
    seal_number: Mapped[str | None]
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Where the sealed bag goes (its manifest says so): arriving anywhere else is an exception
    # for a dispatcher, not an arrival. None: a bag with no set destination (a courier's).
    destination_post_office_id: Mapped[int | None] = mapped_column(ForeignKey("post_offices.id"))
    # Who closed it, and when: the manifest's (bảng kê) signatory.
    sealed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ScanReceipt(Base):
    """The stored answer to a client event, so that a replay returns exactly the same answer.

    Keyed by sender and client event ID: the ID is an idempotency key per account, and a
    replay finds its answer through this index alone, however long the item's chain.
    """

    __tablename__ = "scan_receipts"
    __table_args__ = (
        Index(
            "uq_scan_receipts_actor_user_id_client_event_id",
            "actor_user_id",
            "client_event_id",
            unique=True,
            # The system actor has no account: its keys are one sender's too.
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    client_event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str]
    result: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class CustodyException(Base):
    """A scan that may be real but contradicts the known state: kept for a dispatcher."""

    __tablename__ = "custody_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason_code: Mapped[str]
    detail: Mapped[str]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None]
