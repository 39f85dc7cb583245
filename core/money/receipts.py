"""Receipts (biên lai thu tiền): issued only for money taken, numbered per post office and
year, never edited. A correction issues a cancelling receipt in the same series.

A receipt is written in the same database transaction as the payment it evidences, so a
crash leaves both or neither; a deferred constraint trigger (migration 0007m) refuses to
commit a payment without its receipt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, make_transient_to_detached

from core.errors import Conflict, InvalidInput, NotFound
from core.money.charges import LINE_LABELS
from core.money.ledger import WRITE_CALL, Leg, TransactionHeader, write_parameters
from core.money.models import MoneyTransaction, Receipt
from vntime import VN

METHOD_LABELS = {
    "cash": ("Tiền mặt", "Cash"),
    "vietqr": ("Chuyển khoản VietQR", "VietQR bank transfer"),
}


# The next serial of the post office's series for the year, and the receipt under it, in
# one call of the database's function (migration 0009m). The series row's lock is held to
# commit: two clerks of one post office take turns, so the series has no gap and no repeat
# (a rolled-back payment gives its number back). A payment's receipt is its last statement
# before commit, so the issuers of one post office queue on that row for as little as can be.
_COLUMNS = (
    "post_office_id", "year", "kind", "case_id", "transaction_id", "cancels_receipt_id",
    "payer", "method", "lines", "total_vnd", "reference", "reason", "issued_at",
    "issued_by_user_id",
)  # fmt: skip
_ISSUE_CALL = "money_issue_receipt(" + ", ".join(f":{c}" for c in _COLUMNS) + ")"
_ISSUE_SQL = (
    text(f"SELECT * FROM {_ISSUE_CALL}")
    .bindparams(bindparam("lines", type_=JSONB))
    .columns(*Receipt.__table__.columns)
)
# A payment and its receipt in one statement, one round trip: the transaction's function
# runs first (the receipt's function takes its id), and each function's statements see the
# rows written before them in this database transaction.
_PAYMENT_SQL = (
    text(
        f"SELECT r.* FROM {WRITE_CALL} AS t CROSS JOIN LATERAL money_issue_receipt("
        + ", ".join("t.id" if c == "transaction_id" else f":r_{c}" for c in _COLUMNS)
        + ") AS r"
    )
    .bindparams(bindparam("r_lines", type_=JSONB), bindparam("details", type_=JSONB))
    .columns(*Receipt.__table__.columns)
)


def _issue(session: Session, values: dict[str, Any]) -> Receipt:
    """Number the receipt in its post office's series and write it: one round trip."""
    receipt: Receipt | None = session.scalars(
        select(Receipt).from_statement(_ISSUE_SQL),
        {column: values.get(column) for column in _COLUMNS},
    ).one_or_none()
    if receipt is None:
        raise NotFound(f"no post office {values['post_office_id']}", field="post_office_id")
    return receipt


def receipt_lines(amounts: dict[str, int]) -> list[dict[str, Any]]:
    order = ("postage", "state_fee", "fee_transfer", "overpaid")
    return [
        {
            "line": line,
            "label_vi": LINE_LABELS[line][0],
            "label_en": LINE_LABELS[line][1],
            "amount_vnd": amounts[line],
        }
        for line in order
        if amounts.get(line)
    ]


def _receipt_values(
    *,
    post_office_id: int,
    amounts: dict[str, int],
    payer: str,
    method: str,
    at: datetime,
    actor_user_id: int | None,
    reference: str | None,
    note: str | None,
) -> dict[str, Any]:
    lines = receipt_lines(amounts)
    return {
        "post_office_id": post_office_id,
        "year": at.astimezone(VN).year,
        "kind": "receipt",
        "payer": payer,
        "method": method,
        "lines": lines,
        "total_vnd": sum(int(line["amount_vnd"]) for line in lines),
        "reference": reference,
        "reason": note,
        "issued_at": at,
        "issued_by_user_id": actor_user_id,
    }


def _payment_parameters(
    header: TransactionHeader,
    legs: Sequence[Leg],
    *,
    amounts: dict[str, int],
    payer: str,
    note: str | None,
) -> dict[str, Any]:
    """The bound values of a payment with its receipt (the transaction's, then the receipt's
    as ``r_*``), for both statements that write one."""
    if header.post_office_id is None or header.case_id is None or header.method is None:
        raise InvalidInput("a payment names its case, post office and method", field="case_id")
    values = _receipt_values(post_office_id=header.post_office_id, amounts=amounts, payer=payer,
                             method=header.method, at=header.occurred_at,
                             actor_user_id=header.actor_user_id, reference=header.reference,
                             note=note)  # fmt: skip
    return {
        **write_parameters(header, legs),
        **{f"r_{c}": values.get(c) for c in _COLUMNS if c != "transaction_id"},
        "r_case_id": header.case_id,
    }


def insert_payment_with_receipt(
    session: Session,
    header: TransactionHeader,
    legs: Sequence[Leg],
    *,
    amounts: dict[str, int],
    payer: str,
    note: str | None,
) -> Receipt:
    """Write a new payment (``header`` and ``legs``, as ``ledger.insert_transaction``) and
    issue its receipt for ``amounts`` in one round trip. For callers that hold the payment's
    key lock and found no transaction under it (``core.money.payments.record_payment``)."""
    receipt: Receipt | None = session.scalars(
        select(Receipt).from_statement(_PAYMENT_SQL),
        _payment_parameters(header, legs, amounts=amounts, payer=payer, note=note),
    ).one_or_none()
    if receipt is None:
        raise NotFound(f"no post office {header.post_office_id}", field="post_office_id")
    return receipt


# The payment with its receipt as above, written only when what it was computed from is
# still what the caller read (migration 0009p): the locks, the check and the writes in one
# statement. No row: nothing was written.
_CHECK_COLUMNS = ("case_lock", "key_lock", "citizen", "citizen_lines", "charge_key", "charged",
                  "taker", "taker_role")  # fmt: skip
_PAYMENT_IF_UNCHANGED_SQL = (
    text(
        "SELECT * FROM money_record_payment("
        + ", ".join(f":c_{c}" for c in _CHECK_COLUMNS)
        + ", "
        + WRITE_CALL.removeprefix("money_write_transaction(").removesuffix(")")
        + ", "
        + ", ".join(f":r_{c}" for c in _COLUMNS if c != "transaction_id")
        + ")"
    )
    .bindparams(
        bindparam("c_citizen_lines", type_=JSONB),
        bindparam("r_lines", type_=JSONB),
        bindparam("details", type_=JSONB),
    )
    .columns(*Receipt.__table__.columns)
)


@dataclass(frozen=True)
class PaymentCheck:
    """What a payment was computed from, checked under its locks before it is written: the
    advisory locks' names, the citizen's account and its lines by line as read, the charge's
    key and whether it was posted, who takes the cash (None: the account does not hang on
    who) and their role as assumed."""

    case_lock: str
    key_lock: str
    citizen: str
    citizen_lines: dict[str, int]
    charge_key: str
    charged: bool
    taker: int | None
    taker_role: str | None


def insert_payment_if_unchanged(
    session: Session,
    header: TransactionHeader,
    legs: Sequence[Leg],
    *,
    amounts: dict[str, int],
    payer: str,
    note: str | None,
    check: PaymentCheck,
) -> Receipt | None:
    """Take the payment's locks and, when the ledger still says what ``check`` says (and the
    key is unused), write the payment with its receipt, as ``insert_payment_with_receipt``:
    one round trip. None when it does not: nothing written, the locks held."""
    parameters = _payment_parameters(header, legs, amounts=amounts, payer=payer, note=note)
    # Core, not the ORM's loading: the row becomes the session's Receipt below, for less of
    # the payer's CPU (this is every door-step payment's statement).
    row = session.execute(
        _PAYMENT_IF_UNCHANGED_SQL,
        {**{f"c_{c}": getattr(check, c) for c in _CHECK_COLUMNS}, **parameters},
    ).first()
    if row is None:
        return None
    receipt = Receipt(**row._mapping)
    make_transient_to_detached(receipt)  # as loaded: nothing to flush
    session.add(receipt)
    return receipt


def issue_cancellation(
    session: Session,
    original: Receipt,
    *,
    transaction: MoneyTransaction,
    reason: str,
    at: datetime,
    actor_user_id: int | None,
) -> Receipt:
    """The receipt that cancels ``original``: the same lines, negated, and why."""
    if original.kind != "receipt":
        raise Conflict("a cancelling receipt is not cancelled again", field="receipt_id")
    year = at.astimezone(VN).year
    lines = [{**line, "amount_vnd": -int(line["amount_vnd"])} for line in original.lines]
    return _issue(
        session,
        {
            "post_office_id": original.post_office_id,
            "year": year,
            "kind": "cancellation",
            "case_id": original.case_id,
            "transaction_id": transaction.id,
            "cancels_receipt_id": original.id,
            "payer": original.payer,
            "method": original.method,
            "lines": lines,
            "total_vnd": -original.total_vnd,
            "reference": original.number,
            "reason": reason,
            "issued_at": at,
            "issued_by_user_id": actor_user_id,
        },
    )


def receipts_of_case(session: Session, case_id: int) -> list[Receipt]:
    return list(
        session.scalars(
            select(Receipt).where(Receipt.case_id == case_id).order_by(Receipt.id)
        ).all()
    )


def receipt_by_id(session: Session, receipt_id: int) -> Receipt:
    receipt = session.get(Receipt, receipt_id)
    if receipt is None:
        raise NotFound(f"no receipt {receipt_id}", field="receipt_id")
    return receipt
