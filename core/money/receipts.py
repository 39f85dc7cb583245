"""Receipts (biên lai thu tiền): issued only for money taken, numbered per post office and
year, never edited. A correction issues a cancelling receipt in the same series.

A receipt is written in the same database transaction as the payment it evidences, so a
crash leaves both or neither; a deferred constraint trigger (migration 0007m) refuses to
commit a payment without its receipt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound
from core.money.charges import LINE_LABELS
from core.money.models import MoneyTransaction, Receipt
from core.places.models import PostOffice
from vntime import VN

METHOD_LABELS = {
    "cash": ("Tiền mặt", "Cash"),
    "vietqr": ("Chuyển khoản VietQR", "VietQR bank transfer"),
}


def next_number(session: Session, post_office_id: int, year: int) -> tuple[int, str]:
    """The next serial of the post office's series for ``year``, and the printed number.

    The upsert's row lock is held to commit: two clerks of one post office take turns, so the
    series has no gap and no repeat (a rolled-back payment gives its number back)."""
    serial = session.scalar(
        text(
            "INSERT INTO money_receipt_series (post_office_id, year, last_serial) "
            "VALUES (:p, :y, 1) ON CONFLICT (post_office_id, year) "
            "DO UPDATE SET last_serial = money_receipt_series.last_serial + 1 "
            "RETURNING last_serial"
        ),
        {"p": post_office_id, "y": year},
    )
    assert serial is not None
    code = session.scalar(select(PostOffice.code).where(PostOffice.id == post_office_id))
    if code is None:
        raise NotFound(f"no post office {post_office_id}", field="post_office_id")
    return int(serial), f"BL-{code}-{year}-{int(serial):06d}"


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


def issue_receipt(
    session: Session,
    *,
    transaction: MoneyTransaction,
    post_office_id: int,
    amounts: dict[str, int],
    payer: str,
    method: str,
    at: datetime,
    actor_user_id: int | None,
    reference: str | None,
    note: str | None = None,
) -> Receipt:
    year = at.astimezone(VN).year
    serial, number = next_number(session, post_office_id, year)
    lines = receipt_lines(amounts)
    receipt = Receipt(
        number=number,
        post_office_id=post_office_id,
        year=year,
        serial=serial,
        kind="receipt",
        case_id=transaction.case_id,
        transaction_id=transaction.id,
        payer=payer,
        method=method,
        lines=lines,
        total_vnd=sum(int(line["amount_vnd"]) for line in lines),
        reference=reference,
        reason=note,
        issued_at=at,
        issued_by_user_id=actor_user_id,
    )
    session.add(receipt)
    session.flush()
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
    serial, number = next_number(session, original.post_office_id, year)
    lines = [{**line, "amount_vnd": -int(line["amount_vnd"])} for line in original.lines]
    receipt = Receipt(
        number=number,
        post_office_id=original.post_office_id,
        year=year,
        serial=serial,
        kind="cancellation",
        case_id=original.case_id,
        transaction_id=transaction.id,
        cancels_receipt_id=original.id,
        payer=original.payer,
        method=original.method,
        lines=lines,
        total_vnd=-original.total_vnd,
        reference=original.number,
        reason=reason,
        issued_at=at,
        issued_by_user_id=actor_user_id,
    )
    session.add(receipt)
    session.flush()
    return receipt


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
