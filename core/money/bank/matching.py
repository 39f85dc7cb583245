"""From a bank line to a payment: find the case its transfer text names, compare the amount
with what the case still owes, and either record the VietQR payment (with its receipt) or put
the line in the supervisors' queue.

The transfer text is what the citizen's banking app sent, as the bank passed it on: the
VietQR purpose ``HOSO DH000001111VN`` arrives lower-cased, without its space, wrapped in the
bank's own words ("MBVCB.4525077405.hosodh000001111vn.CT tu 0351..."), or with spaces put
inside the item ID by a line break. ``item_codes`` reads through all of that; a code counts
only when its S10 check digit holds, so an account number is never taken for an item.

Money never waits outside the ledger: a line that is not matched is posted to bank suspense
(the bank has the money, nobody has claimed it), and leaves suspense when a supervisor
matches it to a case (the VietQR payment is taken out of suspense) or sends it
back (``refund_payout`` from suspense).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.cases.models import Booking, Case
from core.custody.models import Item
from core.errors import Conflict, InvalidInput, NotFound
from core.money import accounts
from core.money.bank.models import OPEN_OUTCOMES, BankLine, BankLineDecision
from core.money.bank.statements import fold
from core.money.charges import booking_terms
from core.money.ledger import Leg, TransactionHeader, lock_case_money, post
from core.money.payments import record_payment, record_refund, record_refund_payout
from core.money.state import payment_state
from labels.errors import InvalidCode
from labels.s10 import validate_item_id

# "HOSO" then an S10 ID, with any spaces, dots or dashes a bank or a line break put inside.
_HOSO = re.compile(r"H\W?O\W?S\W?O\W*([A-Z]{2}(?:\W?\d){9}\W?V\W?N)")
_ANY_ID = re.compile(r"(?<![A-Z0-9])([A-Z]{2}\d{9}VN)(?![A-Z0-9])")


def item_codes(description: str) -> list[str]:
    """The distinct valid item IDs a transfer text names, the ``HOSO``-prefixed ones first;
    without a ``HOSO`` prefix, a bare valid ID still counts (some apps drop the prefix)."""
    upper = fold(description).upper()
    found: list[str] = []
    for pattern in (_HOSO, _ANY_ID):
        for raw in pattern.findall(upper):
            compact = re.sub(r"[^A-Z0-9]", "", raw)
            try:
                code = validate_item_id(compact)
            except InvalidCode:
                continue
            if code not in found:
                found.append(code)
        if found:
            break
    return found


@dataclass(frozen=True)
class Verdict:
    outcome: str
    case_id: int | None
    post_office_id: int | None
    expected_vnd: int | None
    note: str


def _case_of(session: Session, code: str) -> tuple[Case, Booking] | None:
    row = session.execute(
        select(Case, Booking)
        .join(Item, Item.case_id == Case.id)
        .join(Booking, Booking.id == Case.booking_id)
        .where(Item.code == code)
    ).first()
    return None if row is None else (row[0], row[1])


def judge(session: Session, description: str, amount_vnd: int) -> Verdict:
    """What a line with this text and amount is: a payment of a case, or which exception."""
    codes = item_codes(description)
    if not codes:
        return Verdict("unmatched", None, None, None, "nội dung không có mã HOSO")
    if len(codes) > 1:
        return Verdict("unmatched", None, None, None, "nội dung có nhiều mã: " + ", ".join(codes))
    found = _case_of(session, codes[0])
    if found is None:
        return Verdict("unmatched", None, None, None, f"không có hồ sơ mang mã {codes[0]}")
    case, booking = found
    # Booking terms are read through core.money.charges (by table): importing the booking
    # package here would close an import circle through the courier and access parts.
    terms = booking_terms(session, case.id)
    outstanding = payment_state(session, case.id).due_vnd
    po = booking.post_office_id
    if terms is not None and terms.cancelled:
        return Verdict("cancelled_paid", case.id, po, 0, f"lịch hẹn {codes[0]} đã huỷ")
    if outstanding <= 0:
        return Verdict("duplicate", case.id, po, 0, f"{codes[0]} đã được thanh toán đủ")
    if amount_vnd != outstanding:
        return Verdict("wrong_amount", case.id, po, outstanding,
                       f"{codes[0]} còn phải trả {outstanding} đồng")  # fmt: skip
    return Verdict("matched", case.id, po, outstanding, f"khớp {codes[0]}")


def lock_line(session: Session, line_id: int) -> None:
    """One decision about a line at a time (two supervisors clicking at once). The line's
    table is append-only, so the app role may not take a row lock on it: an advisory lock."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 11))"),
        {"k": f"bank-line:{line_id}"},
    )


def latest_decision(session: Session, line_id: int) -> BankLineDecision | None:
    return session.scalar(
        select(BankLineDecision)
        .where(BankLineDecision.line_id == line_id)
        .order_by(BankLineDecision.id.desc())
        .limit(1)
    )


def _payer(line: BankLine, booking_contact: str | None) -> str:
    return (line.counterparty or booking_contact or "Người chuyển khoản")[:200]


def _pay(
    session: Session,
    line: BankLine,
    case_id: int,
    *,
    at: datetime,
    actor_user_id: int | None,
    from_suspense: bool = False,
) -> int:
    contact = session.scalar(
        select(Booking.contact_name).join(Case, Case.booking_id == Booking.id)
        .where(Case.id == case_id)
    )  # fmt: skip
    receipt = record_payment(
        session, case_id=case_id, method="vietqr", amount_vnd=line.amount_vnd, at=at,
        actor_user_id=actor_user_id, payer=_payer(line, contact),
        reference=(line.reference or f"bank-line-{line.id}")[:128],
        idempotency_key=f"bank-line:{line.id}:payment", from_suspense=from_suspense,
    )  # fmt: skip
    return int(receipt.transaction_id)


def _to_suspense(session: Session, line: BankLine, *, at: datetime) -> int:
    header = TransactionHeader(
        kind="bank_receipt", idempotency_key=f"bank-line:{line.id}:suspense", occurred_at=at,
        reference=(line.reference or None), post_office_id=line.post_office_id,
        details={"bank_line_id": line.id},
    )  # fmt: skip
    legs = [Leg(accounts.BANK, line.amount_vnd, "cash"),
            Leg(accounts.BANK_SUSPENSE, -line.amount_vnd, "cash")]  # fmt: skip
    transaction, _ = post(session, header, legs)
    return transaction.id


def settle_new_line(
    session: Session, line: BankLine, verdict: Verdict, *, at: datetime
) -> BankLineDecision:
    """The first decision about a line that just arrived (``judge`` gave the verdict before the
    line was written, since the line records whose queue it lands in): pay, or queue it."""
    if verdict.outcome == "matched" and verdict.case_id is not None:
        transaction_id = _pay(session, line, verdict.case_id, at=at, actor_user_id=None)
    else:
        transaction_id = _to_suspense(session, line, at=at)
    decision = BankLineDecision(
        line_id=line.id, outcome=verdict.outcome, case_id=verdict.case_id,
        money_transaction_id=transaction_id, expected_vnd=verdict.expected_vnd,
        note=verdict.note, decided_by_user_id=None, decided_at=at,
    )  # fmt: skip
    session.add(decision)
    session.flush()
    return decision


def _open_decision(session: Session, line_id: int) -> tuple[BankLine, BankLineDecision]:
    line = session.get(BankLine, line_id)
    if line is None:
        raise NotFound(f"no bank line {line_id}", field="line_id")
    lock_line(session, line_id)
    decision = latest_decision(session, line_id)
    if decision is None or decision.outcome not in OPEN_OUTCOMES:
        done = decision.outcome if decision is not None else "chưa xử lý"
        raise Conflict(f"this line is not in the queue (it is {done})", field="line_id")
    return line, decision


def match_line(
    session: Session, line_id: int, case_id: int, *, at: datetime, actor_user_id: int, note: str
) -> BankLineDecision:
    """A supervisor's one click: this queued line pays this case (whatever it owes; an
    over-payment shows as money owed back on the case)."""
    line, decision = _open_decision(session, line_id)
    if session.get(Case, case_id) is None:
        raise NotFound(f"no case {case_id}", field="case_id")
    terms = booking_terms(session, case_id)
    if terms is not None and terms.cancelled:
        raise Conflict("this case's booking is cancelled: refund the line instead",
                       field="case_id")  # fmt: skip
    why = note.strip() or "khớp thủ công"
    # The line's money sits in bank suspense since it arrived: the payment takes it from there.
    transaction_id = _pay(session, line, case_id, at=at, actor_user_id=actor_user_id,
                          from_suspense=True)  # fmt: skip
    matched = BankLineDecision(
        line_id=line.id, outcome="matched", case_id=case_id, money_transaction_id=transaction_id,
        expected_vnd=decision.expected_vnd, note=why, decided_by_user_id=actor_user_id,
        decided_at=at,
    )  # fmt: skip
    session.add(matched)
    session.flush()
    return matched


def refund_line(
    session: Session, line_id: int, *, at: datetime, actor_user_id: int, note: str
) -> BankLineDecision:
    """A supervisor's one click: send this queued line's money back to whoever sent it."""
    why = note.strip()
    if not why:
        raise InvalidInput("say why the money goes back", field="note")
    line, decision = _open_decision(session, line_id)
    header = TransactionHeader(
        kind="refund_payout", idempotency_key=f"bank-line:{line.id}:refund", occurred_at=at,
        reason=why, reference=line.reference, actor_user_id=actor_user_id,
        post_office_id=line.post_office_id, details={"bank_line_id": line.id},
    )  # fmt: skip
    legs = [Leg(accounts.BANK_SUSPENSE, line.amount_vnd, "cash"),
            Leg(accounts.BANK, -line.amount_vnd, "cash")]  # fmt: skip
    transaction, _ = post(session, header, legs)
    refunded = BankLineDecision(
        line_id=line.id, outcome="refunded", case_id=decision.case_id,
        money_transaction_id=transaction.id, expected_vnd=decision.expected_vnd, note=why,
        decided_by_user_id=actor_user_id, decided_at=at,
    )  # fmt: skip
    session.add(refunded)
    session.flush()
    return refunded


def refund_case(
    session: Session, case_id: int, *, at: datetime, actor_user_id: int, note: str
) -> int:
    """A supervisor's one click for a case owed money back (a cancelled booking paid by
    VietQR, an over-payment): decide the refund and pay it out by bank transfer. Returns the
    amount refunded."""
    why = note.strip()
    if not why:
        raise InvalidInput("say why the money goes back", field="note")
    lock_case_money(session, case_id)
    state = payment_state(session, case_id)
    if state.owed_back_vnd <= 0:
        raise Conflict("nothing is owed back on this case", field="case_id")
    amount = state.owed_back_vnd
    key = f"queue-refund:case:{case_id}:{state.refunded_vnd}"
    record_refund(session, case_id=case_id, amount_vnd=amount, at=at,
                  actor_user_id=actor_user_id, reason=why, idempotency_key=key)  # fmt: skip
    record_refund_payout(session, case_id=case_id, method="vietqr", amount_vnd=amount, at=at,
                         actor_user_id=actor_user_id, reference=f"hoàn tiền hồ sơ {case_id}",
                         idempotency_key=f"{key}:payout")  # fmt: skip
    return amount
