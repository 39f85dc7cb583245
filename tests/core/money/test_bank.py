"""Bank lines into payments: import, matching, the queue's one-click decisions, on the ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.admin.users import Binding
from core.bankdesk.queue import open_lines, refunds_due
from core.booking.models import BookingTerms
from core.errors import Conflict, InvalidInput
from core.money import account_balance, accounts, cancel_charge, payment_state, record_payment
from core.money.bank.matching import match_line, refund_case, refund_line
from core.money.bank.models import BankLine, BankLineDecision, BankStatement
from core.money.bank.service import import_statement
from core.money.models import MoneyTransaction, Receipt
from core.settings import Settings
from tests.core.admin.helpers import staff
from tests.core.money.bank_helpers import statement_csv
from tests.core.money.helpers import AT, TOTAL_BOTH, priced_case
from tests.factories import dossier_of, home_post_office, make_user


def _bank(db: Session) -> tuple[int, int]:
    """The bank and suspense balances: tests compare them before and after, since committed
    data of other tests (CLI, browser) sits in the same accounts."""
    return account_balance(db, accounts.BANK), account_balance(db, accounts.BANK_SUSPENSE)


def _counts(db: Session) -> tuple[int, ...]:
    return tuple(
        db.scalar(select(func.count()).select_from(table)) or 0
        for table in (BankStatement, BankLine, BankLineDecision, MoneyTransaction, Receipt)
    )


def test_a_statement_pays_matching_cases_and_queues_the_rest(
    db: Session, settings: Settings
) -> None:
    dispatcher = make_user(db, "dispatcher")
    paid = priced_case(db, settings, method="vietqr")
    twice = priced_case(db, settings, method="vietqr")
    short = priced_case(db, settings, method="vietqr")
    code, code2, code3 = (dossier_of(db, c).code for c in (paid, twice, short))
    bank, suspense = _bank(db)
    data = statement_csv([
        ("R1", TOTAL_BOTH, f"MBVCB.123.hoso {code.lower().replace('vn', ' vn')}.CT tu 0351"),
        ("R2", TOTAL_BOTH, f"HOSO {code2}"),
        ("R3", TOTAL_BOTH, f"hoso{code2.lower()} chuyen lai"),  # the citizen paid twice
        ("R4", 100_000, f"HOSO {code3}"),  # short
        ("R5", 75_000, "ung ho quy tu thien"),  # nobody's
    ])  # fmt: skip
    result = import_statement(db, data=data, filename="vcb.csv", user=dispatcher, at=AT)
    assert result.counts() == {"matched": 2, "duplicate": 1, "wrong_amount": 1, "unmatched": 1}
    assert payment_state(db, paid.id).state == "paid"
    receipt = db.scalars(select(Receipt).where(Receipt.case_id == paid.id)).one()
    assert (receipt.method, receipt.total_vnd) == ("vietqr", TOTAL_BOTH)
    # Every line is in the bank account; the unclaimed ones wait in suspense.
    assert _bank(db) == (
        bank + 2 * TOTAL_BOTH + TOTAL_BOTH + 100_000 + 75_000,
        suspense - (TOTAL_BOTH + 100_000 + 75_000),
    )
    queued = open_lines(db, dispatcher)
    assert sorted(q.decision.outcome for q in queued) == ["duplicate", "unmatched", "wrong_amount"]
    short_line = next(q for q in queued if q.decision.outcome == "wrong_amount")
    assert short_line.decision.expected_vnd == TOTAL_BOTH and short_line.item_code == code3


def test_importing_the_same_statement_twice_changes_nothing(
    db: Session, settings: Settings
) -> None:
    dispatcher = make_user(db, "dispatcher")
    case = priced_case(db, settings, method="vietqr")
    data = statement_csv([("R1", TOTAL_BOTH, f"HOSO {dossier_of(db, case).code}"),
                          ("R2", 5_000, "khong ro")])  # fmt: skip
    import_statement(db, data=data, filename="a.csv", user=dispatcher, at=AT)
    before = _counts(db)
    again = import_statement(db, data=data, filename="a.csv", user=dispatcher, at=AT)
    assert again.already_imported and not again.new
    assert _counts(db) == before
    # Another file that repeats a line (the next day's export overlapping) adds only the new one.
    overlap = statement_csv([("R2", 5_000, "khong ro"), ("R9", 7_000, "moi")])
    third = import_statement(db, data=overlap, filename="b.csv", user=dispatcher, at=AT)
    assert (len(third.new), third.known) == (1, 1)


def test_a_file_with_unknown_columns_changes_nothing(db: Session) -> None:
    dispatcher = make_user(db, "dispatcher")
    before = _counts(db)
    data = "Ngày giao dịch,Ghi có,Mô tả,Cột lạ\n03/12/2026,100000,HOSO,1\n".encode()
    with pytest.raises(InvalidInput) as refused:
        import_statement(db, data=data, filename="x.csv", user=dispatcher, at=AT)
    assert refused.value.field == "file" and "Cột lạ" in refused.value.detail
    assert _counts(db) == before


def test_one_click_match_pays_from_suspense_and_refund_sends_back(
    db: Session, settings: Settings
) -> None:
    dispatcher = make_user(db, "dispatcher")
    case = priced_case(db, settings, method="vietqr")
    data = statement_csv([("R1", TOTAL_BOTH, "chuyen tien ho so"),
                          ("R2", 30_000, "nham tai khoan")])  # fmt: skip
    bank, suspense = _bank(db)
    result = import_statement(db, data=data, filename="s.csv", user=dispatcher, at=AT)
    first, second = (o.line for o in result.new)
    match_line(db, first.id, case.id, at=AT, actor_user_id=dispatcher.id, note="gọi điện xác nhận")
    assert payment_state(db, case.id).state == "paid"
    with pytest.raises(Conflict):  # a second click on a decided line
        match_line(db, first.id, case.id, at=AT, actor_user_id=dispatcher.id, note="")
    with pytest.raises(InvalidInput) as no_reason:
        refund_line(db, second.id, at=AT, actor_user_id=dispatcher.id, note=" ")
    assert no_reason.value.field == "note"
    refund_line(db, second.id, at=AT, actor_user_id=dispatcher.id, note="chuyển nhầm")
    assert _bank(db) == (bank + TOTAL_BOTH, suspense)
    assert open_lines(db, dispatcher) == []


def test_a_cancelled_booking_paid_by_vietqr_is_refunded_through_the_queue(
    db: Session, settings: Settings
) -> None:
    dispatcher = make_user(db, "dispatcher")
    case = priced_case(db, settings, method="vietqr")
    record_payment(db, case_id=case.id, method="vietqr", amount_vnd=TOTAL_BOTH, at=AT,
                   actor_user_id=None, payer="Trần Thị Hoa", reference="FT1",
                   idempotency_key="t-cancel-pay")  # fmt: skip
    terms = db.get_one(BookingTerms, case.id)
    terms.cancelled_at = AT
    cancel_charge(db, case.id, at=AT, actor_user_id=None, reason="công dân huỷ")
    due = refunds_due(db, dispatcher)
    assert [(r.case_id, r.owed_back_vnd) for r in due] == [(case.id, TOTAL_BOTH)]
    assert refund_case(db, case.id, at=AT, actor_user_id=dispatcher.id, note="huỷ") == TOTAL_BOTH
    assert payment_state(db, case.id).state == "refunded"
    assert refunds_due(db, dispatcher) == []
    with pytest.raises(Conflict):
        refund_case(db, case.id, at=AT, actor_user_id=dispatcher.id, note="huỷ")


def test_another_post_office_sees_none_of_the_lines(db: Session, settings: Settings) -> None:
    from tests.factories import make_post_office

    mine = make_user(db, "dispatcher")
    other = make_user(db, "dispatcher", post_office_id=make_post_office(db).id)
    import_statement(db, data=statement_csv([("R1", 1_000, "x")]), filename="s.csv", user=mine,
                     at=AT)  # fmt: skip
    assert len(open_lines(db, mine)) == 1
    assert open_lines(db, other) == []
    supervisor = staff(db, "province_supervisor",
                       Binding(province_code=home_post_office(db).province_code))  # fmt: skip
    # The province's supervisor sees this line (and those other tests committed there).
    seen = {q.line.id for q in open_lines(db, supervisor)}
    assert {q.line.id for q in open_lines(db, mine)} <= seen


def test_bank_lines_and_decisions_are_append_only(db: Session) -> None:
    dispatcher = make_user(db, "dispatcher")
    import_statement(db, data=statement_csv([("R1", 1_000, "x")]), filename="s.csv",
                     user=dispatcher, at=AT)  # fmt: skip
    for table in ("bank_lines", "bank_line_decisions"):
        # The app role holds no UPDATE or DELETE on them at all; the owner meets the trigger.
        for sql in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
            with pytest.raises(DBAPIError, match="permission denied"), db.begin_nested():
                db.execute(text(sql))


def test_even_the_owner_cannot_rewrite_bank_lines(owner_db: Session) -> None:
    for table in ("bank_line_decisions", "bank_lines"):
        with pytest.raises(DBAPIError, match="append-only"), owner_db.begin_nested():
            owner_db.execute(text(f"TRUNCATE {table} CASCADE"))
