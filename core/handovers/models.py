"""Hand-over records (biên bản bàn giao): one sitting at which items change hands.

The custody ledger holds the truth item by item (``handover_offered`` then
``handover_confirmed`` or ``handover_declined``); a handover groups those events into the
document both parties sign, with its discrepancies and the fees passed on with the items.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

HANDOVER_STATUSES = ("open", "completed", "cancelled")
LINE_OUTCOMES = (
    "expected",  # offered, not yet seen by the receiver
    "confirmed",  # received; custody moved
    "missing",  # offered but not physically present; custody stays with the giver
    "extra",  # presented but not on the list; recorded, custody unchanged
    "damaged",  # received with visible damage (reason says what)
    "seal_broken",  # received with a broken or mismatched seal
    "declined",  # the receiver refused it for another reason
)


class Handover(Base):
    __tablename__ = "handovers"
    __table_args__ = (
        CheckConstraint(f"status IN {HANDOVER_STATUSES!r}", name="status"),
        CheckConstraint("from_party <> to_party", name="two_parties"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Printed on the record and encoded in its QR, e.g. "BG-2026-000123".
    code: Mapped[str] = mapped_column(String(32), unique=True)
    from_party: Mapped[str]
    to_party: Mapped[str]
    # Either side may open: the holder offering items, or a receiver asking for them (a
    # courier collecting results at the desk). The other side confirms.
    opened_by_party: Mapped[str]
    opened_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    completed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), default="open")
    # Fees collected from citizens on the office's behalf and handed over with the items: the
    # sums of the lines' own amounts (each dossier's fee is declared and confirmed on its line).
    fees_declared_vnd: Mapped[int] = mapped_column(default=0)
    fees_confirmed_vnd: Mapped[int | None]
    giver_signature_sha256: Mapped[str | None] = mapped_column(String(64))
    receiver_signature_sha256: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None]
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Indexed: the service-quality roll-up (core.sla.rollup) picks up completions by time.
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # SHA-256 of the record's canonical content when both sides signed (core.papers.sealing);
    # the same hash is in the ledger's record_sealed events, and the database refuses any
    # change to a completed row.
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    # A correction is a new record naming the one it replaces and why; both stay printable.
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("handovers.id"))
    correction_reason: Mapped[str | None]


class HandoverLine(Base):
    __tablename__ = "handover_lines"
    __table_args__ = (
        CheckConstraint(f"outcome IN {LINE_OUTCOMES!r}", name="outcome"),
        UniqueConstraint("handover_id", "item_code"),
        CheckConstraint(
            "fees_declared_vnd >= 0 AND (fees_confirmed_vnd IS NULL OR fees_confirmed_vnd >= 0)",
            name="fees",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handovers.id"), index=True)
    # The code as scanned; ``item_id`` is NULL when it names no known item (an extra).
    item_code: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(12), default="expected")
    # Whether custody moved to the receiver: True for confirmed lines and for damaged ones the
    # receiver chose to accept; False for missing, declined, refused and extra lines.
    accepted: Mapped[bool | None]
    reason: Mapped[str | None]
    # The state fees (phí, lệ phí) collected for this dossier on the office's behalf: declared
    # by the courier when opening, confirmed by the desk when completing.
    fees_declared_vnd: Mapped[int] = mapped_column(server_default="0", default=0)
    fees_confirmed_vnd: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
