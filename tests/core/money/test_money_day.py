"""The issue's test day (issue 14, "Done means"), through the services: thirty bookings, a
statement with a duplicate and an unknown line, two cash-ups (one short by 10,000 ₫), two
hand-overs to the desk; the reconciliation balances to the đồng with exactly the expected
exceptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.bankdesk.day import (
    CASH_UP_SHORT,
    DAY_SIZE,
    SHORT_BY,
    UNKNOWN_LINE_VND,
    VIETQR_PAID,
    money_day,
)
from core.bankdesk.queue import open_lines
from core.money import account_balance, accounts, payment_state
from core.money.reconcile_files import pdf_file, table_file
from core.settings import Settings
from tests.core.money.helpers import FEE, POSTAGE, TOTAL_BOTH, TRANSFER, priced_case
from tests.factories import make_office, make_post_office, make_user
from vntime import VN

START = datetime(2026, 12, 3, 8, 0, tzinfo=VN)
EXEMPTION = {
    "code": "nguoi_co_cong",
    "label_vi": "Người có công với cách mạng: miễn cước chuyển phí",
    "legal_basis": "Thông tư 22/2017/TT-BTTTT",
    "lines": [{"code": "exemption:fee_transfer", "label_vi": "Miễn cước chuyển phí",
               "label_en": "Fee transfer waived", "amount_vnd": -TRANSFER}],
}  # fmt: skip


def test_the_money_day_balances_to_the_dong_with_exactly_the_expected_exceptions(
    db: Session, settings: Settings
) -> None:
    po = make_post_office(db)
    offices = [make_office(db), make_office(db)]
    couriers = [make_user(db, "courier", post_office_id=po.id) for _ in range(2)]
    desks = [make_user(db, "desk_officer", office_id=o.id) for o in offices]
    dispatcher = make_user(db, "dispatcher", post_office_id=po.id)
    cases = []
    for index in range(DAY_SIZE):
        office = offices[0] if index < 7 else offices[1]
        exempt = index == 1
        cases.append(priced_case(
            db, settings, method="cash" if index < 14 else "vietqr", post_office=po,
            office=office, exemption=dict(EXEMPTION, lines=list(EXEMPTION["lines"]))
            if exempt else None,
        ).id)  # fmt: skip

    bank_before = account_balance(db, accounts.BANK)  # other tests' committed data sits there
    day = money_day(db, cases=cases, couriers=couriers, desks=desks, supervisor=dispatcher,
                    start=START)  # fmt: skip
    report = day.report
    assert report is not None

    # The statement: 12 transfers, one twice, one nobody's.
    assert day.statement is not None
    assert day.statement.counts() == {"matched": 12, "duplicate": 1, "unmatched": 1}
    assert {payment_state(db, c).state for c in day.vietqr_paid} == {"paid"}
    assert {payment_state(db, c).state for c in day.vietqr_unpaid} == {"quoted"}
    assert payment_state(db, day.cancelled_case).state == "refunded"
    exempted = payment_state(db, day.exempt_case)
    assert exempted.charged_vnd == TOTAL_BOTH - TRANSFER and exempted.state != "quoted"
    assert payment_state(db, day.short_case).due_vnd == SHORT_BY

    cash = 14 * TOTAL_BOTH - TRANSFER - SHORT_BY
    vietqr = (VIETQR_PAID + 1) * TOTAL_BOTH
    assert report.collected_by_method == {"cash": cash, "vietqr": vietqr}
    # A payment settles the state fee first, the post office's postage last: the short
    # citizen owes postage.
    assert report.collected_by_line["postage"] == 2 * POSTAGE * 26 - SHORT_BY
    assert report.receipts_count == 14 + 12
    # Fees handed over: every cash case's state fee.
    assert report.handed_to_agency_vnd == 14 * FEE
    assert [o.handed_vnd for o in report.offices] == [7 * FEE, 7 * FEE]
    # The till holds all the cash but the fees handed over, less the courier's shortfall.
    assert report.in_till_vnd == cash - 14 * FEE - CASH_UP_SHORT
    assert report.with_couriers_vnd == 0
    assert [(c.difference_vnd) for c in report.couriers] == [0, -CASH_UP_SHORT]
    assert report.bank_lines_count == 14
    assert report.bank_lines_vnd == vietqr + TOTAL_BOTH + UNKNOWN_LINE_VND
    assert report.refunds_paid_vnd == TOTAL_BOTH
    # The bank account holds every line, less the refund sent back.
    assert account_balance(db, accounts.BANK) - bank_before == report.bank_lines_vnd - TOTAL_BOTH

    assert report.balanced, [(c.name, c.expected_vnd, c.actual_vnd) for c in report.failures()]
    assert sorted((e.kind, e.amount_vnd) for e in report.exceptions) == sorted([
        ("bank_duplicate", TOTAL_BOTH),
        ("bank_unmatched", UNKNOWN_LINE_VND),
        ("doorstep_cash_difference", SHORT_BY),
        ("cash_up_difference", -CASH_UP_SHORT),
    ])  # fmt: skip
    assert len(open_lines(db, dispatcher)) == 2

    # The files say the same.
    table = table_file(report, "csv").decode("utf-8-sig")
    assert str(cash) in table and "LỆCH" not in table
    assert pdf_file(report).startswith(b"%PDF")


def test_a_day_that_does_not_balance_says_what(db: Session, settings: Settings) -> None:
    """A payment recorded without a receipt-worthy trace in the bank (a VietQR payment typed
    in by hand, with no bank line behind it) shows as the bank check failing, with figures."""
    from core.money import record_payment
    from core.money.reconcile import reconcile

    po = make_post_office(db)
    case = priced_case(db, settings, method="vietqr", post_office=po)
    record_payment(db, case_id=case.id, method="vietqr", amount_vnd=TOTAL_BOTH, at=START,
                   actor_user_id=None, payer="Trần Thị Hoa", reference="typed",
                   idempotency_key="no-bank-line")  # fmt: skip
    report = reconcile(db, day=START.date(), post_office_id=po.id)
    assert not report.balanced
    failed = {c.name: (c.expected_vnd, c.actual_vnd) for c in report.failures()}
    assert failed == {"vietqr_in_bank": (0, TOTAL_BOTH)}
