"""The money ledger on real PostgreSQL: balanced, append-only, idempotent, line by line."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import Conflict, InvalidInput, NotFound
from core.money import (
    account_balance,
    accounts,
    cancel_charge,
    cancel_payment,
    charge_case,
    payment_state,
    record_payment,
    record_refund,
)
from core.money.ledger import Leg, TransactionHeader, post
from core.money.models import MoneyPosting, MoneyTransaction, Receipt
from core.settings import Settings
from tests.core.money.helpers import AT, FEE, POSTAGE, TOTAL_BOTH, TRANSFER, priced_case
from tests.factories import make_user


def _pay(db: Session, case_id: int, amount: int, key: str, **kw: object) -> Receipt:
    values: dict[str, object] = {
        "case_id": case_id, "method": "cash", "amount_vnd": amount, "at": AT,
        "actor_user_id": None, "payer": "Trần Thị Hoa", "reference": "", "idempotency_key": key,
    }  # fmt: skip
    values.update(kw)
    return record_payment(db, **values)  # type: ignore[arg-type]


def _counts(db: Session) -> tuple[int, int, int]:
    return (
        db.scalar(select(func.count()).select_from(MoneyTransaction)) or 0,
        db.scalar(select(func.count()).select_from(MoneyPosting)) or 0,
        db.scalar(select(func.count()).select_from(Receipt)) or 0,
    )


def test_a_booking_charges_its_lines_separately(db: Session, settings: Settings) -> None:
    case = priced_case(db, settings)
    charge_case(db, case.id, at=AT)
    state = payment_state(db, case.id)
    assert state.state == "quoted"
    assert state.lines == {"postage": 2 * POSTAGE, "state_fee": FEE, "fee_transfer": TRANSFER}
    assert state.due_vnd == TOTAL_BOTH
    assert account_balance(db, accounts.citizen(case.id)) == TOTAL_BOTH
    assert account_balance(db, accounts.POSTAGE_REVENUE) <= -2 * POSTAGE


def test_a_cash_payment_issues_a_numbered_receipt_with_separate_lines(
    db: Session, settings: Settings
) -> None:
    case = priced_case(db, settings)
    courier = make_user(db, "courier")
    receipt = _pay(db, case.id, TOTAL_BOTH, "k1", actor_user_id=courier.id)
    assert [(line["line"], line["amount_vnd"]) for line in receipt.lines] == [
        ("postage", 2 * POSTAGE), ("state_fee", FEE), ("fee_transfer", TRANSFER),
    ]  # fmt: skip
    assert receipt.total_vnd == TOTAL_BOTH and receipt.kind == "receipt"
    assert receipt.number.endswith("-2026-" + f"{receipt.serial:06d}")
    assert account_balance(db, accounts.courier_cash(courier.id)) == TOTAL_BOTH
    state = payment_state(db, case.id)
    assert (state.state, state.due_vnd, state.paid_vnd, state.methods) == (
        "paid", 0, TOTAL_BOTH, ("cash",),
    )  # fmt: skip
    second = _pay(db, priced_case(db, settings).id, 1000, "k2")
    assert second.serial == receipt.serial + 1 and second.year == 2026


def test_a_retry_posts_once_and_a_changed_retry_is_refused(db: Session, settings: Settings) -> None:
    case = priced_case(db, settings, method="vietqr")
    first = _pay(db, case.id, TOTAL_BOTH, "bank-line-1", method="vietqr")
    before = _counts(db)
    again = _pay(db, case.id, TOTAL_BOTH, "bank-line-1", method="vietqr")
    assert again.id == first.id and _counts(db) == before
    with pytest.raises(Conflict) as exc:
        _pay(db, case.id, 5000, "bank-line-1", method="vietqr")
    assert exc.value.field == "idempotency_key" and _counts(db) == before
    assert account_balance(db, accounts.BANK) >= TOTAL_BOTH


def test_part_and_over_payment(db: Session, settings: Settings) -> None:
    case = priced_case(db, settings)
    receipt = _pay(db, case.id, 100_000, "p1")
    # Fees held for the office are settled first, never labelled postage.
    assert [(line["line"], line["amount_vnd"]) for line in receipt.lines] == [
        ("state_fee", 100_000)
    ]
    state = payment_state(db, case.id)
    assert (state.state, state.due_vnd) == ("part_paid", TOTAL_BOTH - 100_000)
    _pay(db, case.id, TOTAL_BOTH, "p2")
    state = payment_state(db, case.id)
    assert (state.state, state.owed_back_vnd, state.due_vnd) == ("over_paid", 100_000, 0)
    record_refund(db, case_id=case.id, amount_vnd=100_000, at=AT, actor_user_id=None,
                  reason="nộp thừa", idempotency_key="r1")  # fmt: skip
    assert payment_state(db, case.id).state == "paid"


def test_a_cancelled_vietqr_booking_is_refunded(db: Session, settings: Settings) -> None:
    case = priced_case(db, settings, method="vietqr")
    _pay(db, case.id, TOTAL_BOTH, "q1", method="vietqr")
    cancel_charge(db, case.id, at=AT, actor_user_id=None, reason="người dân hủy lịch")
    state = payment_state(db, case.id)
    assert (state.state, state.owed_back_vnd, state.charged_vnd) == ("refund_due", TOTAL_BOTH, 0)
    with pytest.raises(InvalidInput) as exc:
        record_refund(db, case_id=case.id, amount_vnd=TOTAL_BOTH + 1, at=AT, actor_user_id=None,
                      reason="hoàn", idempotency_key="r-too-much")  # fmt: skip
    assert exc.value.field == "amount_vnd"
    record_refund(db, case_id=case.id, amount_vnd=TOTAL_BOTH, at=AT, actor_user_id=None,
                  reason="hoàn tiền do hủy", idempotency_key="r2")  # fmt: skip
    state = payment_state(db, case.id)
    assert (state.state, state.refunded_vnd, state.owed_back_vnd) == ("refunded", TOTAL_BOTH, 0)
    assert account_balance(db, accounts.citizen(case.id)) == 0


def test_a_correction_issues_a_cancelling_receipt(db: Session, settings: Settings) -> None:
    case = priced_case(db, settings)
    receipt = _pay(db, case.id, 1000, "typo")
    cancelling = cancel_payment(db, receipt_id=receipt.id, reason="gõ nhầm số tiền",
                                at=AT + timedelta(minutes=1), actor_user_id=None)  # fmt: skip
    assert cancelling.kind == "cancellation" and cancelling.cancels_receipt_id == receipt.id
    assert cancelling.total_vnd == -1000 and cancelling.serial == receipt.serial + 1
    assert payment_state(db, case.id).state == "quoted"
    assert db.get(Receipt, receipt.id) is not None  # the original stays, reprintable


@pytest.mark.parametrize(
    ("amount", "field"),
    [(-5000, "amount_vnd"), (0, "amount_vnd"), (1000.5, "amount_vnd"),
     (10**12, "amount_vnd"), (True, "amount_vnd")],
)  # fmt: skip
def test_bad_amounts_are_refused_and_change_nothing(
    db: Session, settings: Settings, amount: object, field: str
) -> None:
    case = priced_case(db, settings)
    before = _counts(db)
    with pytest.raises(InvalidInput) as exc:
        _pay(db, case.id, amount, "bad")  # type: ignore[arg-type]
    assert exc.value.field == field and _counts(db) == before


def test_a_payment_for_an_unknown_case_is_refused(db: Session) -> None:
    before = _counts(db)
    with pytest.raises(NotFound) as exc:
        _pay(db, 2_000_000_000, 1000, "nobody")
    assert exc.value.field == "case_id" and _counts(db) == before


def test_python_refuses_an_unbalanced_transaction(db: Session) -> None:
    with pytest.raises(InvalidInput, match="balance"):
        post(db, TransactionHeader(kind="bank_receipt", idempotency_key="x", occurred_at=AT),
             [Leg("bank", 100, "cash"), Leg("bank_suspense", -90, "cash")])  # fmt: skip


def test_the_database_refuses_an_unbalanced_transaction_even_by_raw_sql(db: Session) -> None:
    tx = db.scalar(text(
        "INSERT INTO money_transactions (kind, idempotency_key, occurred_at, details) "
        "VALUES ('bank_receipt', 'raw-1', now(), '{}') RETURNING id"
    ))  # fmt: skip
    db.execute(text("INSERT INTO money_accounts (key, kind) VALUES ('bank', 'bank') "
                    "ON CONFLICT (key) DO NOTHING"))  # fmt: skip
    account = db.scalar(text("SELECT id FROM money_accounts WHERE key = 'bank'"))
    db.execute(
        text("INSERT INTO money_postings (transaction_id, account_id, amount_vnd, line) "
             "VALUES (:t, :a, 100, 'cash'), (:t, :a, -90, 'cash')"),
        {"t": tx, "a": account},
    )  # fmt: skip
    with pytest.raises(DBAPIError, match="does not balance"):
        db.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))


def test_postings_cannot_be_added_to_an_earlier_transaction(
    committing: sessionmaker[Session], db: Session, settings: Settings
) -> None:
    with committing.begin() as session:
        case = priced_case(session, settings)
        receipt = _pay(session, case.id, 1000, f"old-{case.id}")
        tx_id = receipt.transaction_id
    account = db.scalar(text("SELECT id FROM money_accounts WHERE key = 'postage_revenue'"))
    with pytest.raises(DBAPIError, match="must be written with it"):
        db.execute(
            text("INSERT INTO money_postings (transaction_id, account_id, amount_vnd, line) "
                 "VALUES (:t, :a, 500, 'cash'), (:t, :a, -500, 'cash')"),
            {"t": tx_id, "a": account},
        )  # fmt: skip


def test_a_payment_without_its_receipt_cannot_commit(committing: sessionmaker[Session]) -> None:
    with pytest.raises(DBAPIError, match="has no receipt"), committing.begin() as session:
        header = TransactionHeader(kind="payment", idempotency_key="no-receipt", occurred_at=AT)
        post(session, header, [Leg("bank", 100, "postage"), Leg("bank_suspense", -100, "postage")])


def test_a_crash_before_commit_leaves_neither_payment_nor_receipt(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    with committing.begin() as session:
        case_id = priced_case(session, settings).id
    session = committing()
    _pay(session, case_id, 1000, f"crash-{case_id}")
    session.rollback()  # the process dies before the commit
    session.close()
    with committing() as fresh:
        assert fresh.scalar(select(func.count()).select_from(Receipt)
                            .where(Receipt.case_id == case_id)) == 0  # fmt: skip
        assert fresh.scalar(select(func.count()).select_from(MoneyTransaction)
                            .where(MoneyTransaction.case_id == case_id)) == 0  # fmt: skip


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE money_postings SET amount_vnd = amount_vnd * 2",
        "DELETE FROM money_postings",
        "UPDATE money_transactions SET reason = 'x'",
        "UPDATE money_receipts SET total_vnd = 1",
        "DELETE FROM money_receipts",
        "TRUNCATE money_postings CASCADE",
    ],
)
def test_the_database_refuses_to_edit_money_history(
    owner_db: Session, settings: Settings, statement: str
) -> None:
    case = priced_case(owner_db, settings)
    _pay(owner_db, case.id, 1000, "edit-me")
    # The payment's deferred checks run now, as at its commit: PostgreSQL refuses to TRUNCATE
    # a table with checks still pending, which would hide the refusal this test is about.
    owner_db.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    with pytest.raises(DBAPIError, match="append-only"), owner_db.begin_nested():
        owner_db.execute(text(statement))


def test_the_app_role_may_not_update_postings(db: Session, settings: Settings) -> None:
    case = priced_case(db, settings)
    _pay(db, case.id, 1000, "grant")
    with pytest.raises(DBAPIError, match="permission denied"), db.begin_nested():
        db.execute(text("UPDATE money_postings SET amount_vnd = 1"))


def test_post_names_the_field_as_its_caller_knows_it(db: Session) -> None:
    before = _counts(db)
    naive = AT.replace(tzinfo=None)
    with pytest.raises(InvalidInput) as exc:
        post(db, TransactionHeader(kind="bank_receipt", idempotency_key="naive", occurred_at=naive),
             [Leg("bank", 100, "cash"), Leg("bank_suspense", -100, "cash")])  # fmt: skip
    assert exc.value.field == "occurred_at" and _counts(db) == before
