"""The money ledger's tables: accounts, transactions and their postings, receipts, cash-ups and
the door-step money exceptions a supervisor resolves.

Accounts, transactions, postings, receipts and cash-ups are append-only in the database (see
migration 0007m): a mistake is corrected by a reversing transaction or a cancelling receipt,
never by an edit. Each transaction's postings sum to zero, checked by a deferred constraint
trigger at commit, so no code path (ORM, raw SQL) can leave a đồng unaccounted for.
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
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

ACCOUNT_KINDS = (
    "citizen",  # receivable per case: positive while the citizen owes, negative when owed
    "courier_cash",  # cash a courier carries, per courier
    "till",  # a post office's till
    "bank",  # the postal provider's bank account (VietQR transfers land here)
    "agency_payable",  # state fees collected on an office's behalf, not yet handed over
    "postage_revenue",
    "fee_transfer_revenue",
    "refunds_payable",  # refunds decided, not yet paid out
    "bank_suspense",  # money in the bank nobody has matched to a case yet
    "cash_over_short",  # differences found at cash-up
)
TRANSACTION_KINDS = (
    "charge",  # the accepted quote: the citizen owes the lines
    "payment",  # money taken from the citizen (always with a receipt)
    "refund",  # money owed back to the citizen
    "refund_payout",  # the refund paid out
    "fees_to_courier",  # state fees the courier takes from the till to the office
    "agency_handover",  # state fees handed to the office with the dossiers
    "cash_up",  # a courier's cash counted into the till
    "bank_receipt",  # a bank line not (yet) matched: into suspense
    "suspense_match",  # a suspense amount matched to a case
    "reversal",  # cancels an earlier transaction, with a reason
)
# The lines of a quote, a receipt and a posting. They never merge: postage, state fees
# (phí, lệ phí) and the fee-transfer charge are each their own line from quote to hand-over.
LINES = ("postage", "state_fee", "fee_transfer", "overpaid", "cash", "difference")
METHODS = ("cash", "vietqr")


class MoneyAccount(Base):
    __tablename__ = "money_accounts"
    __table_args__ = (CheckConstraint(f"kind IN {ACCOUNT_KINDS!r}", name="kind"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # ``citizen:12``, ``courier_cash:7``, ``till:3``, ``agency_payable:4``, ``bank``, ...
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    ref_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MoneyTransaction(Base):
    __tablename__ = "money_transactions"
    __table_args__ = (
        CheckConstraint(f"kind IN {TRANSACTION_KINDS!r}", name="kind"),
        CheckConstraint("method IS NULL OR method IN ('cash', 'vietqr')", name="method"),
        CheckConstraint(
            "(kind = 'reversal') = (reverses_transaction_id IS NOT NULL)", name="reversal"
        ),
        CheckConstraint("kind <> 'reversal' OR reason IS NOT NULL", name="reversal_reason"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    # A retried request carries the same key and gets the stored transaction back.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    method: Mapped[str | None] = mapped_column(String(8))
    # One reversal per transaction: a second would count the correction twice.
    reverses_transaction_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("money_transactions.id"), unique=True
    )
    reason: Mapped[str | None]
    reference: Mapped[str | None]
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    post_office_id: Mapped[int | None] = mapped_column(ForeignKey("post_offices.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # Indexed: the service-quality roll-up reads transactions recorded since its last pass.
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # The database transaction that wrote the row: postings must come from the same one.
    db_txid: Mapped[int] = mapped_column(BigInteger, server_default=text("txid_current()"))


class MoneyPosting(Base):
    __tablename__ = "money_postings"
    __table_args__ = (
        CheckConstraint("amount_vnd <> 0", name="nonzero"),
        CheckConstraint(f"line IN {LINES!r}", name="line"),
        Index("ix_money_postings_account_id", "account_id", "transaction_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("money_transactions.id"), index=True
    )
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("money_accounts.id"))
    # Debit positive, credit negative; a transaction's postings sum to zero.
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    line: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)


class ReceiptSeries(Base):
    """The last number issued in a post office's receipt series for a year. The row lock on
    the upsert serialises issuers of one series, so numbers have no gaps and no repeats."""

    __tablename__ = "money_receipt_series"

    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_offices.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_serial: Mapped[int]


class Receipt(Base):
    """A receipt (biên lai thu tiền) for money taken, or the receipt that cancels one."""

    __tablename__ = "money_receipts"
    __table_args__ = (
        CheckConstraint("kind IN ('receipt', 'cancellation')", name="kind"),
        CheckConstraint("method IN ('cash', 'vietqr')", name="method"),
        CheckConstraint(
            "(kind = 'cancellation') = (cancels_receipt_id IS NOT NULL)", name="cancels"
        ),  # fmt: skip
        UniqueConstraint("post_office_id", "year", "serial"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_offices.id"))
    year: Mapped[int]
    serial: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    transaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("money_transactions.id"), unique=True
    )
    cancels_receipt_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("money_receipts.id"), unique=True
    )
    payer: Mapped[str]
    method: Mapped[str] = mapped_column(String(8))
    # [{"line": "postage", "label_vi": ..., "label_en": ..., "amount_vnd": 26000}, ...]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    total_vnd: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str | None]
    reason: Mapped[str | None]
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    issued_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CashUp(Base):
    """A courier's end-of-day count at the post office: one per courier and day."""

    __tablename__ = "money_cash_ups"
    __table_args__ = (
        UniqueConstraint("courier_user_id", "period_date"),
        CheckConstraint("counted_vnd >= 0", name="counted"),
        CheckConstraint("difference_vnd = counted_vnd - expected_vnd", name="difference"),
        CheckConstraint("difference_vnd = 0 OR reason IS NOT NULL", name="reason"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    courier_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_offices.id"), index=True)
    period_date: Mapped[date] = mapped_column(Date)
    expected_vnd: Mapped[int] = mapped_column(BigInteger)
    counted_vnd: Mapped[int] = mapped_column(BigInteger)
    difference_vnd: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None]
    confirmed_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # None when nothing was expected and nothing counted: no money moved.
    transaction_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("money_transactions.id"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MoneyException(Base):
    """Something about money a supervisor must look at: a courier who took a cash amount
    other than what was due, with the reason given at the door."""

    __tablename__ = "money_exceptions"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        UniqueConstraint("kind", "ref"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # What the exception is about, unique per kind so a replayed event opens none twice.
    ref: Mapped[str] = mapped_column(String(80))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    courier_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    post_office_id: Mapped[int | None] = mapped_column(ForeignKey("post_offices.id"), index=True)
    expected_vnd: Mapped[int | None] = mapped_column(BigInteger)
    actual_vnd: Mapped[int | None] = mapped_column(BigInteger)
    reason_code: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None]
    status: Mapped[str] = mapped_column(String(12), default="open")
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None]
