"""A payment split by the payment state its caller read (the door-step, the counter): one
statement when the ledger still says what was read, split again under the locks when not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.money import (
    account_balance,
    accounts,
    charge_case,
    payment_state,
    record_payment,
)
from core.money.models import MoneyTransaction, Receipt
from core.money.state import PaymentState
from core.settings import Settings
from tests.core.money.helpers import AT, FEE, POSTAGE, TOTAL_BOTH, TRANSFER, priced_case
from tests.factories import make_user

FULL = [("postage", 2 * POSTAGE), ("state_fee", FEE), ("fee_transfer", TRANSFER)]


def _pay(session: Session, state: PaymentState, amount: int, key: str, **kw: Any) -> Receipt:
    values: dict[str, Any] = {
        "case_id": state.case_id, "method": "cash", "amount_vnd": amount, "at": AT,
        "actor_user_id": None, "payer": "Trần Thị Hoa", "reference": "", "idempotency_key": key,
        "read": state,
    }  # fmt: skip
    values.update(kw)
    return record_payment(session, **values)


def _lines(receipt: Receipt) -> list[tuple[str, int]]:
    return [(line["line"], line["amount_vnd"]) for line in receipt.lines]


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    sent: list[str] = []
    connection = session.connection()

    def count(*args: Any) -> None:
        sent.append(str(args[2]))

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(connection, "before_cursor_execute", count)


def test_a_payment_split_by_its_read_is_one_statement(db: Session, settings: Settings) -> None:
    case = priced_case(db, settings)
    charge_case(db, case.id, at=AT)
    courier = make_user(db, "courier")
    state = payment_state(db, case.id)
    with _statements(db) as sent:
        receipt = _pay(db, state, TOTAL_BOTH, "read-1", actor_user_id=courier.id,
                       actor_role="courier")  # fmt: skip
    assert len(sent) == 1 and "money_record_payment" in sent[0]
    assert _lines(receipt) == FULL
    # The session holds the receipt as if loaded: found by its id, nothing to write back.
    with _statements(db) as flushed:
        assert db.get(Receipt, receipt.id) is receipt
        db.flush()
    assert flushed == []
    assert account_balance(db, accounts.courier_cash(courier.id)) == TOTAL_BOTH
    assert payment_state(db, case.id).state == "paid"


def test_a_payment_split_by_a_stale_read_is_split_again_under_the_locks(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    """Two clerks read the case as unpaid; the first takes the money. The second's payment
    finds the ledger changed under its locks, writes nothing from its read, and is split
    again: it settles nothing twice and is kept as overpaid."""
    with transaction(committing) as session:
        case = priced_case(session, settings)
        charge_case(session, case.id, at=AT)
    with transaction(committing) as session:
        first_read = payment_state(session, case.id)
    with transaction(committing) as session:
        second_read = payment_state(session, case.id)
    assert first_read.due_vnd == second_read.due_vnd == TOTAL_BOTH
    with transaction(committing) as session:
        first = _pay(session, first_read, TOTAL_BOTH, f"stale-{case.id}-a")
    with transaction(committing) as session, _statements(session) as sent:
        second = _pay(session, second_read, TOTAL_BOTH, f"stale-{case.id}-b")
    assert _lines(first) == FULL
    assert _lines(second) == [("overpaid", TOTAL_BOTH)]
    assert "money_record_payment" in sent[0] and len(sent) == 3  # tried, read again, written
    with committing() as session:
        assert account_balance(session, accounts.citizen(case.id)) == -TOTAL_BOTH
        state = payment_state(session, case.id)
        assert (state.state, state.owed_back_vnd) == ("over_paid", TOTAL_BOTH)


def test_a_wrongly_assumed_role_puts_the_cash_where_the_real_role_says(
    db: Session, settings: Settings
) -> None:
    case = priced_case(db, settings)
    charge_case(db, case.id, at=AT)
    state = payment_state(db, case.id)
    assert state.facts is not None
    post_office_id = state.facts.post_office_id
    clerk = make_user(db, "counter_clerk", post_office_id=post_office_id)
    till = account_balance(db, accounts.till(post_office_id))
    receipt = _pay(db, state, TOTAL_BOTH, "role-1", actor_user_id=clerk.id, actor_role="courier")
    assert _lines(receipt) == FULL
    assert account_balance(db, accounts.courier_cash(clerk.id)) == 0
    assert account_balance(db, accounts.till(post_office_id)) == till + TOTAL_BOTH


def test_a_retry_with_its_read_returns_the_first_receipt(db: Session, settings: Settings) -> None:
    case = priced_case(db, settings)
    charge_case(db, case.id, at=AT)
    state = payment_state(db, case.id)
    first = _pay(db, state, TOTAL_BOTH, "retry-1")
    again = _pay(db, state, TOTAL_BOTH, "retry-1")
    assert again.id == first.id
    count = db.scalar(
        select(func.count()).select_from(MoneyTransaction)
        .where(MoneyTransaction.idempotency_key == "retry-1")
    )  # fmt: skip
    assert count == 1


def test_a_read_before_the_charge_is_posted_charges_the_case_once(
    db: Session, settings: Settings
) -> None:
    case = priced_case(db, settings)  # booked by hand: no charge posted yet
    state = payment_state(db, case.id)
    assert not state.charge_posted and state.due_vnd == TOTAL_BOTH
    receipt = _pay(db, state, TOTAL_BOTH, "uncharged-1")
    assert _lines(receipt) == FULL
    charges = db.scalar(
        select(func.count()).select_from(MoneyTransaction)
        .where(MoneyTransaction.case_id == case.id, MoneyTransaction.kind == "charge")
    )  # fmt: skip
    assert charges == 1 and account_balance(db, accounts.citizen(case.id)) == 0


def test_a_part_payment_from_its_read_settles_the_state_fee_first(
    db: Session, settings: Settings
) -> None:
    case = priced_case(db, settings)
    charge_case(db, case.id, at=AT)
    receipt = _pay(db, payment_state(db, case.id), 100_000, "part-1")
    assert _lines(receipt) == [("state_fee", 100_000)]
    state = payment_state(db, case.id)
    assert state.citizen_lines == {"postage": 2 * POSTAGE, "state_fee": FEE - 100_000,
                                   "fee_transfer": TRANSFER}  # fmt: skip
    receipt = _pay(db, state, TOTAL_BOTH - 100_000, "part-2")
    assert _lines(receipt) == [("postage", 2 * POSTAGE), ("state_fee", FEE - 100_000),
                               ("fee_transfer", TRANSFER)]  # fmt: skip
    assert payment_state(db, case.id).state == "paid"
