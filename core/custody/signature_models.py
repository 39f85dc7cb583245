"""Device keys and the device signatures of ledger events (issue 19, device-signed scans).

``device_keys``: the public keys phones registered at sign-in; revoked with their device.
``event_device_signatures``: one row per ledger event a device signed, keyed by the event's
id. A side table, so the events' canonical form and hash chains stay as they were; it is
append-only like the ledger (trigger; the app role has SELECT and INSERT only).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class DeviceKey(Base):
    __tablename__ = "device_keys"
    __table_args__ = (CheckConstraint("algorithm IN ('ES256', 'Ed25519')", name="algorithm"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    # Hex of the first 8 bytes of SHA-256 over the public key's SPKI DER.
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    algorithm: Mapped[str] = mapped_column(String(8))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # SPKI DER
    registered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EventDeviceSignature(Base):
    __tablename__ = "event_device_signatures"

    event_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("custody_events.event_id"), primary_key=True
    )
    key_id: Mapped[str] = mapped_column(String(16), ForeignKey("device_keys.key_id"))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    # SHA-256 (hex) of what the phone sent that the event does not store verbatim: the
    # statement's last line (docs/ledger.md, "Device-signed scans").
    sent_sha256: Mapped[str] = mapped_column(String(64))


# -- server signatures (docs/ledger.md, "Server-signed events") ----------------------------
# Every event is signed by the server's key when it is recorded (core/custody/server_signing).
# The private key never reaches the database; its public key is kept here when first used.


class ServerSigningKey(Base):
    __tablename__ = "server_signing_keys"

    # The key's signed-note id (8 hex digits): what each signature names.
    key_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    # "<name>+<id>+<base64>", the public key as ``hoso ledger public-key`` prints it.
    vkey: Mapped[str] = mapped_column(Text)
    first_used_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class EventServerSignature(Base):
    __tablename__ = "event_server_signatures"

    # No foreign keys: a signature is only ever written with its event, in one statement,
    # and a lookup per event would cost the batch path; verify trusts the configured keys,
    # not server_signing_keys.
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(8))
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class ServerSigningEpoch(Base):
    """When server signatures began (written once, by the migration): events before
    ``first_event_id`` were recorded unsigned (docs/ledger.md, legacy events)."""

    __tablename__ = "server_signing_epoch"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_event_id: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
