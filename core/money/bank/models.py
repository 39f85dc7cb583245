"""The bank's side of the money: statement files imported, the lines they (or the bank's
signed notifications) carried, what was decided about each line, and the banks' signing keys.

``bank_lines`` and ``bank_line_decisions`` are append-only in the database (migration 0007b),
like the custody ledger: a line is what the bank said, kept as it said it; a decision is never
edited, a later decision supersedes it. A line's state is its latest decision.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

LINE_SOURCES = ("statement", "notification")
# What became of a line. ``matched``: a payment was recorded for a case (automatically, or by a
# supervisor's click with ``decided_by_user_id``); ``refunded``: the money is sent back. The
# other four are the queue: open until a supervisor matches or refunds.
OUTCOMES = (
    "matched",
    "refunded",
    "unmatched",  # names no case we know (or several)
    "duplicate",  # the case is already paid: a second transfer
    "wrong_amount",  # the case owes another amount
    "cancelled_paid",  # the case's booking was cancelled
)
OPEN_OUTCOMES = ("unmatched", "duplicate", "wrong_amount", "cancelled_paid")


class BankStatement(Base):
    """One statement file as imported: who brought it, what it held, how much of it was new."""

    __tablename__ = "bank_statements"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str | None] = mapped_column(String(255))
    bank: Mapped[str | None] = mapped_column(String(32))
    account_no: Mapped[str | None] = mapped_column(String(32))
    lines_read: Mapped[int]
    lines_new: Mapped[int]
    debits_skipped: Mapped[int]
    post_office_id: Mapped[int | None] = mapped_column(ForeignKey("post_offices.id"))
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    imported_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BankLine(Base):
    """A credit on the postal provider's account, as the bank reported it."""

    __tablename__ = "bank_lines"
    __table_args__ = (
        CheckConstraint("amount_vnd > 0", name="amount_positive"),
        CheckConstraint(f"source IN {LINE_SOURCES!r}", name="source"),
        Index("ix_bank_lines_booked_on", "booked_on"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # The line's identity (core.money.statements.line_key): a second import finds it here.
    line_key: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    statement_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("bank_statements.id"), index=True
    )
    notification_key_id: Mapped[str | None] = mapped_column(String(64))
    account_no: Mapped[str | None] = mapped_column(String(32))
    booked_on: Mapped[date] = mapped_column(Date)
    booked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str]
    reference: Mapped[str | None] = mapped_column(String(128))
    counterparty: Mapped[str | None]
    # Whose queue an unmatched line lands in: the post office of the case it names, else the
    # importer's; the province always (a supervisor sees every line of their province).
    post_office_id: Mapped[int | None] = mapped_column(ForeignKey("post_offices.id"), index=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    raw: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BankLineDecision(Base):
    """What was decided about a line, automatically on arrival or by a supervisor's click."""

    __tablename__ = "bank_line_decisions"
    __table_args__ = (
        CheckConstraint(f"outcome IN {OUTCOMES!r}", name="outcome"),
        CheckConstraint(
            "outcome NOT IN ('matched', 'duplicate', 'wrong_amount', "
            "'cancelled_paid') OR case_id IS NOT NULL",
            name="case_named",
        ),  # fmt: skip
        CheckConstraint(
            "decided_by_user_id IS NOT NULL OR outcome NOT IN ('refunded')", name="refund_by_person"
        ),
        Index("ix_bank_line_decisions_line_id", "line_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    line_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bank_lines.id"))
    outcome: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # The payment (or refund) this decision posted in the money ledger, when it posted one.
    money_transaction_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("money_transactions.id")
    )
    expected_vnd: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str]
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BankNotificationKey(Base):
    """A bank's key for the signed notification endpoint: one per account it reports on. The
    secret is derived (as the agency keys' are) and only its hash is kept."""

    __tablename__ = "bank_notification_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    bank: Mapped[str] = mapped_column(String(32))
    account_no: Mapped[str] = mapped_column(String(32))
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
