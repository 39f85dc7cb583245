"""The evening question of a province's finance office: does every đồng citizens paid sit
where the records say? Asked per day and per post office, answered from three sources that
are written apart and must agree:

- the money ledger (``money_postings``): what was collected, by method, where it went;
- the receipts (``money_receipts``): what the citizens were given in writing;
- the bank's own lines (``bank_lines``): what actually reached the account.

Each *check* compares two of them and fails with the figures when they differ; ``hoso money
reconcile`` exits 1 on any failed check. *Exceptions* are differences already on the record
with a reason (a short cash-up, a door-step amount below the quote, a bank line in the queue):
they are listed, and do not unbalance the day, because their money is accounted for (in
cash over/short, on the case as still due, in bank suspense).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Row, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from core.cases.models import Booking, Case
from core.errors import NotFound
from core.identity.models import User
from core.money.bank.models import OPEN_OUTCOMES, BankLine, BankLineDecision
from core.money.bank.queue import OUTCOME_LABELS, latest_decisions
from core.money.doorstep import CASH_DIFFERENCE_REASONS
from core.money.models import (
    CashUp,
    MoneyAccount,
    MoneyException,
    MoneyPosting,
    MoneyTransaction,
    Receipt,
)
from core.places.models import Office, PostOffice
from vntime import VN

# Where collected money sits (debit side of a payment).
HOLDING = ("courier_cash", "till", "bank", "bank_suspense")


@dataclass(frozen=True)
class Check:
    name: str
    label_vi: str
    label_en: str
    expected_vnd: int
    actual_vnd: int
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.expected_vnd == self.actual_vnd


@dataclass(frozen=True)
class ExceptionRow:
    kind: str
    label_vi: str
    label_en: str
    amount_vnd: int
    ref: str
    case_id: int | None = None


@dataclass(frozen=True)
class CourierRow:
    courier_user_id: int
    name: str
    cash_collected_vnd: int
    cashed_up_vnd: int | None  # counted at cash-up; None: no cash-up that day
    difference_vnd: int | None
    holding_vnd: int  # still in the courier's hands at the end of the day


@dataclass(frozen=True)
class OfficeRow:
    office_id: int
    name: str
    state_fees_collected_vnd: int
    handed_vnd: int
    payable_vnd: int  # still owed to the office at the end of the day


@dataclass
class Reconciliation:
    day: date
    post_office_id: int
    post_office_name: str
    collected_by_method: dict[str, int] = field(default_factory=dict)
    collected_by_line: dict[str, int] = field(default_factory=dict)
    receipts_count: int = 0
    handed_to_agency_vnd: int = 0
    in_till_vnd: int = 0
    with_couriers_vnd: int = 0
    bank_lines_vnd: int = 0
    bank_lines_count: int = 0
    refunds_paid_vnd: int = 0
    couriers: list[CourierRow] = field(default_factory=list)
    offices: list[OfficeRow] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    exceptions: list[ExceptionRow] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return all(check.ok for check in self.checks)

    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A day as a person in Vietnam means it."""
    start = datetime.combine(day, time(), VN)
    return start, start + timedelta(days=1)


def of_post_office(post_office_id: int) -> ColumnElement[bool]:
    """A transaction belongs to a post office when it says so, or, when it names none (a
    hand-over posts from a courier's cash to an office), when it moves the cash of one of its
    couriers or its till."""
    courier_ids = select(User.id).where(User.post_office_id == post_office_id)
    touching = (
        select(MoneyPosting.transaction_id)
        .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
        .where(
            or_(
                and_(MoneyAccount.kind == "courier_cash", MoneyAccount.ref_id.in_(courier_ids)),
                MoneyAccount.key == f"till:{post_office_id}",
            )
        )
    )
    return or_(
        MoneyTransaction.post_office_id == post_office_id,
        and_(MoneyTransaction.post_office_id.is_(None), MoneyTransaction.id.in_(touching)),
    )


def _postings(
    session: Session, post_office_id: int, start: datetime, end: datetime
) -> Sequence[Row[str, str, str | None, str, int | None, str, int]]:
    """(transaction kind, the kind it reverses, method, account kind, account ref, line, sum)
    over the post office's transactions of the day."""
    original = aliased(MoneyTransaction)
    return session.execute(
        select(
            MoneyTransaction.kind, original.kind, MoneyTransaction.method, MoneyAccount.kind,
            MoneyAccount.ref_id, MoneyPosting.line, func.sum(MoneyPosting.amount_vnd),
        )
        .join(MoneyTransaction, MoneyTransaction.id == MoneyPosting.transaction_id)
        .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
        .outerjoin(original, original.id == MoneyTransaction.reverses_transaction_id)
        .where(
            of_post_office(post_office_id),
            MoneyTransaction.occurred_at >= start,
            MoneyTransaction.occurred_at < end,
        )
        .group_by(MoneyTransaction.kind, original.kind, MoneyTransaction.method,
                  MoneyAccount.kind, MoneyAccount.ref_id, MoneyPosting.line)
    ).all()  # fmt: skip


def _balance(session: Session, key: str, end: datetime) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(MoneyPosting.amount_vnd), 0))
            .join(MoneyTransaction, MoneyTransaction.id == MoneyPosting.transaction_id)
            .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
            .where(MoneyAccount.key == key, MoneyTransaction.occurred_at < end)
        )
        or 0
    )


def reconcile(session: Session, *, day: date, post_office_id: int) -> Reconciliation:
    office = session.get(PostOffice, post_office_id)
    if office is None:
        raise NotFound(f"no post office {post_office_id}", field="post_office_id")
    start, end = day_bounds(day)
    report = Reconciliation(day=day, post_office_id=office.id, post_office_name=office.name)
    cash_by_courier: dict[int, int] = defaultdict(int)
    fees_by_office: dict[int, int] = defaultdict(int)
    handed_by_office: dict[int, int] = defaultdict(int)
    payments_net = 0
    bank_from_lines = 0
    unbalanced = 0
    for kind, reverses, method, account_kind, ref, line, total in _postings(
        session, office.id, start, end
    ):
        amount = int(total)
        unbalanced += amount
        effective = reverses or kind
        if effective == "payment" and account_kind in HOLDING:
            by = method or "unknown"
            report.collected_by_method[by] = report.collected_by_method.get(by, 0) + amount
            report.collected_by_line[line] = report.collected_by_line.get(line, 0) + amount
            payments_net += amount
            if account_kind == "courier_cash" and ref is not None:
                cash_by_courier[ref] += amount
        if effective == "agency_handover" and account_kind == "agency_payable" and ref is not None:
            handed_by_office[ref] += amount
            report.handed_to_agency_vnd += amount
        if account_kind == "bank" and effective in ("payment", "bank_receipt"):
            bank_from_lines += amount
        if effective == "refund_payout" and account_kind in ("bank", "till"):
            report.refunds_paid_vnd -= amount
    # State fees collected per office: the state_fee part of the day's payments, by the
    # office of each case's booking.
    fee_rows = session.execute(
        select(Booking.office_id, func.sum(MoneyPosting.amount_vnd))
        .join(MoneyTransaction, MoneyTransaction.id == MoneyPosting.transaction_id)
        .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
        .join(Case, Case.id == MoneyPosting.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .where(
            MoneyTransaction.post_office_id == office.id,
            MoneyTransaction.occurred_at >= start,
            MoneyTransaction.occurred_at < end,
            MoneyTransaction.kind == "payment",
            MoneyAccount.kind.in_(HOLDING),
            MoneyPosting.line == "state_fee",
        )
        .group_by(Booking.office_id)
    ).all()
    for office_id, total in fee_rows:
        fees_by_office[office_id] = int(total)

    # Receipts: what citizens hold in writing, cancellations negative.
    receipt_total, receipt_count = session.execute(
        select(func.coalesce(func.sum(Receipt.total_vnd), 0), func.count(Receipt.id)).where(
            Receipt.post_office_id == office.id,
            Receipt.issued_at >= start,
            Receipt.issued_at < end,
        )
    ).one()
    report.receipts_count = int(receipt_count)

    # The bank's own lines of the day that belong to this post office.
    lines = session.execute(
        latest_decisions(on=day).where(BankLine.post_office_id == office.id)
    ).all()
    report.bank_lines_vnd = sum(line.amount_vnd for line, _ in lines)
    report.bank_lines_count = len(lines)
    first_posted = _first_postings_of_lines(session, [line.id for line, _ in lines])

    report.in_till_vnd = _balance(session, f"till:{office.id}", end)
    couriers = session.scalars(
        select(User).where(User.role == "courier", User.post_office_id == office.id)
        .order_by(User.id)
    ).all()  # fmt: skip
    cash_ups = {
        c.courier_user_id: c
        for c in session.scalars(
            select(CashUp).where(CashUp.post_office_id == office.id, CashUp.period_date == day)
        )
    }
    for courier in couriers:
        holding = _balance(session, f"courier_cash:{courier.id}", end)
        report.with_couriers_vnd += holding
        cash_up = cash_ups.get(courier.id)
        collected = cash_by_courier.get(courier.id, 0)
        if collected == 0 and cash_up is None and holding == 0:
            continue
        report.couriers.append(
            CourierRow(
                courier.id, courier.full_name, collected,
                cash_up.counted_vnd if cash_up else None,
                cash_up.difference_vnd if cash_up else None, holding,
            )
        )  # fmt: skip
    for office_id in sorted(set(fees_by_office) | set(handed_by_office)):
        destination = session.get(Office, office_id)
        report.offices.append(
            OfficeRow(
                office_id, destination.name_vi if destination else str(office_id),
                fees_by_office.get(office_id, 0), handed_by_office.get(office_id, 0),
                -_balance(session, f"agency_payable:{office_id}", end),
            )
        )  # fmt: skip

    report.checks = [
        Check("postings_balance", "Bút toán cân (tổng nợ = tổng có)",
              "Postings balance (debits = credits)", 0, unbalanced),
        Check("receipts_match_payments", "Biên lai khớp tiền đã thu",
              "Receipts match the money taken", payments_net, int(receipt_total),
              f"{report.receipts_count} biên lai / receipts"),
        Check("bank_lines_in_ledger", "Sao kê ngân hàng khớp sổ",
              "Bank lines match the ledger", report.bank_lines_vnd, first_posted,
              f"{report.bank_lines_count} dòng sao kê / bank lines"),
        Check("vietqr_in_bank", "Mọi khoản VietQR đều có trong sao kê",
              "Every VietQR payment is on a bank line", 0,
              typed_in := _vietqr_without_line(session, office.id, start, end),
              "khoản ghi nhận tay không có dòng sao kê / payments typed in with no bank line"
              if typed_in else ""),
        Check("couriers_cashed_up", "Bưu tá đã nộp hết tiền mặt",
              "Couriers handed in all cash", 0, sum(c.holding_vnd for c in report.couriers),
              ", ".join(f"{c.name}: {c.holding_vnd}" for c in report.couriers if c.holding_vnd)),
    ]  # fmt: skip
    report.exceptions = _exceptions(session, office.id, day, start, end, cash_ups.values())
    return report


def _vietqr_without_line(
    session: Session, post_office_id: int, start: datetime, end: datetime
) -> int:
    """VietQR money the ledger put straight into the bank account with no bank line behind
    it: a transfer recorded by hand that the bank never reported."""
    from_lines = select(BankLineDecision.money_transaction_id).where(
        BankLineDecision.money_transaction_id.is_not(None)
    )
    total = session.scalar(
        select(func.coalesce(func.sum(MoneyPosting.amount_vnd), 0))
        .join(MoneyTransaction, MoneyTransaction.id == MoneyPosting.transaction_id)
        .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
        .where(
            MoneyTransaction.post_office_id == post_office_id,
            MoneyTransaction.kind == "payment",
            MoneyTransaction.method == "vietqr",
            MoneyTransaction.occurred_at >= start,
            MoneyTransaction.occurred_at < end,
            MoneyAccount.kind == "bank",
            MoneyTransaction.id.not_in(from_lines),
        )
    )
    return int(total or 0)


def _first_postings_of_lines(session: Session, line_ids: list[int]) -> int:
    """What the ledger put into the bank account for these lines when they arrived: the
    amount of each line's first decision's transaction on the bank account (a payment, or a
    suspense receipt). A line missing from the ledger, or posted for another amount, shows
    here as a difference against the lines' own total."""
    if not line_ids:
        return 0
    first = (
        select(BankLineDecision.line_id, func.min(BankLineDecision.id).label("id"))
        .where(BankLineDecision.line_id.in_(line_ids))
        .group_by(BankLineDecision.line_id)
        .subquery()
    )
    total = session.scalar(
        select(func.coalesce(func.sum(MoneyPosting.amount_vnd), 0))
        .select_from(first)
        .join(BankLineDecision, BankLineDecision.id == first.c.id)
        .join(MoneyPosting, MoneyPosting.transaction_id == BankLineDecision.money_transaction_id)
        .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
        .where(or_(MoneyAccount.kind == "bank", and_(MoneyAccount.kind == "bank_suspense",
                                                       MoneyPosting.amount_vnd > 0)))
    )  # fmt: skip
    return int(total or 0)


def _exceptions(
    session: Session,
    post_office_id: int,
    day: date,
    start: datetime,
    end: datetime,
    cash_ups: Iterable[CashUp],
) -> list[ExceptionRow]:
    rows: list[ExceptionRow] = []
    for line, decision in session.execute(
        latest_decisions()
        .where(BankLine.post_office_id == post_office_id, BankLine.booked_on <= day)
        .where(BankLineDecision.outcome.in_(OPEN_OUTCOMES))
    ).all():
        vi, en = OUTCOME_LABELS[decision.outcome]
        rows.append(ExceptionRow(f"bank_{decision.outcome}", vi, en, line.amount_vnd,
                                 line.reference or f"#{line.id}", decision.case_id))  # fmt: skip
    for found in session.scalars(
        select(MoneyException)
        .where(MoneyException.post_office_id == post_office_id, MoneyException.status == "open",
               MoneyException.opened_at < end)
        .order_by(MoneyException.id)
    ):  # fmt: skip
        short = (found.expected_vnd or 0) - (found.actual_vnd or 0)
        vi, en = CASH_DIFFERENCE_REASONS.get(found.reason_code or "", (found.kind, found.kind))
        rows.append(ExceptionRow(found.kind, f"Thu tiền mặt khác số cần thu: {vi}",
                                 f"Cash taken differs from what was due: {en}", short,
                                 found.ref, found.case_id))  # fmt: skip
    for cash_up in cash_ups:
        if cash_up.difference_vnd:
            rows.append(ExceptionRow("cash_up_difference", f"Chênh lệch nộp tiền: {cash_up.reason}",
                                     f"Cash-up difference: {cash_up.reason}",
                                     cash_up.difference_vnd, f"cash-up #{cash_up.id}"))  # fmt: skip
    return rows
