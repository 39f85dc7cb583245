"""Races on real commits: a retried payment from two workers posts once; two clerks cashing up
one courier at the same moment record one cash-up; concurrent payers of one post office number
their receipts without gap or repeat; two payments of one case allocate one after the other."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.errors import Conflict
from core.money import account_balance, accounts, charge_case, payment_state, record_payment
from core.money.cashup import record_cash_up
from core.money.charges import case_facts
from core.money.models import CashUp, Receipt, ReceiptSeries
from core.settings import Settings
from tests.core.money.helpers import AT, TOTAL_BOTH, priced_case
from tests.factories import make_user


def _race(committing: sessionmaker[Session], work: Callable[[Session], object]) -> list[str]:
    """Run ``work`` in two threads at once, each in its own committed transaction."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run() -> None:
        barrier.wait()
        try:
            with transaction(committing) as session:
                work(session)
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(f"conflict:{exc.field}")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def test_the_same_payment_from_two_workers_posts_once(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    with committing.begin() as session:
        case_id = priced_case(session, settings, method="vietqr").id
    key = f"race-bank-{case_id}"
    outcomes = _race(committing, lambda s: record_payment(
        s, case_id=case_id, method="vietqr", amount_vnd=TOTAL_BOTH, at=AT, actor_user_id=None,
        payer="Trần Thị Hoa", reference="FT-RACE", idempotency_key=key))  # fmt: skip
    assert outcomes == ["ok", "ok"]  # the second is answered with the first receipt
    with committing() as session:
        count = session.scalar(select(func.count()).select_from(Receipt)
                               .where(Receipt.case_id == case_id))  # fmt: skip
        assert count == 1
        assert account_balance(session, accounts.citizen(case_id)) == 0


def test_two_cash_ups_of_one_courier_record_one(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    with committing.begin() as session:
        courier = make_user(session, "courier")
        clerk = make_user(session, "dispatcher", post_office_id=courier.post_office_id)
        case = priced_case(session, settings)
        record_payment(session, case_id=case.id, method="cash", amount_vnd=TOTAL_BOTH, at=AT,
                       actor_user_id=courier.id, payer="Trần Thị Hoa", reference="",
                       idempotency_key=f"race-cash-{case.id}")  # fmt: skip
        courier_id, post_id, clerk_id = courier.id, courier.post_office_id or 0, clerk.id
    outcomes = _race(committing, lambda s: record_cash_up(
        s, courier_user_id=courier_id, post_office_id=post_id, period_date=AT.date(),
        counted_vnd=TOTAL_BOTH, reason=None, confirmed_by_user_id=clerk_id, at=AT))  # fmt: skip
    assert outcomes == ["conflict:period_date", "ok"]
    with committing() as session:
        assert session.scalar(select(func.count()).select_from(CashUp)
                              .where(CashUp.courier_user_id == courier_id)) == 1  # fmt: skip
        assert account_balance(session, accounts.courier_cash(courier_id)) == 0


def test_concurrent_payers_of_one_post_office_number_receipts_without_gap_or_repeat(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    """Six workers pay six cases of one post office at once; two of them roll back after their
    receipt was numbered. The series still has no gap (a rolled-back number is given back)
    and no repeat."""
    with committing.begin() as session:
        cases = [priced_case(session, settings).id for _ in range(6)]
        post_office_id = case_facts(session, cases[0]).post_office_id
    barrier = threading.Barrier(len(cases))
    numbers: list[str] = []

    def pay(case_id: int, keep: bool) -> None:
        session = committing()
        try:
            barrier.wait()
            receipt = record_payment(
                session, case_id=case_id, method="cash", amount_vnd=TOTAL_BOTH, at=AT,
                actor_user_id=None, payer="Trần Thị Hoa", reference="",
                idempotency_key=f"race-series-{case_id}",
            )  # fmt: skip
            if keep:
                numbers.append(receipt.number)
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()

    threads = [
        threading.Thread(target=pay, args=(case_id, n % 3 != 0)) for n, case_id in enumerate(cases)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(numbers) == 4 and len(set(numbers)) == 4
    with committing() as session:
        serials = list(session.scalars(
            select(Receipt.serial)
            .where(Receipt.post_office_id == post_office_id, Receipt.year == AT.year)
            .order_by(Receipt.serial)
        ))  # fmt: skip
        last = session.scalar(
            select(ReceiptSeries.last_serial).where(
                ReceiptSeries.post_office_id == post_office_id,
                ReceiptSeries.year == AT.year,
            )
        )
    assert serials == list(range(1, len(serials) + 1))
    assert last == serials[-1]


def test_two_payments_of_one_case_at_once_allocate_one_after_the_other(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    """Two different payments of the whole amount at the same moment: the second sees the first
    (it waits for the case's lock and reads after it), so it settles nothing twice and is
    kept as overpaid, owed back to the citizen."""
    with committing.begin() as session:
        case_id = priced_case(session, settings).id
    keys = iter([f"race-twice-{case_id}-a", f"race-twice-{case_id}-b"])
    outcomes = _race(committing, lambda s: record_payment(
        s, case_id=case_id, method="cash", amount_vnd=TOTAL_BOTH, at=AT, actor_user_id=None,
        payer="Trần Thị Hoa", reference="", idempotency_key=next(keys)))  # fmt: skip
    assert outcomes == ["ok", "ok"]
    with committing() as session:
        receipts = session.scalars(select(Receipt).where(Receipt.case_id == case_id)).all()
        lines = sorted(tuple(line["line"] for line in r.lines) for r in receipts)
        assert lines == [("overpaid",), ("postage", "state_fee", "fee_transfer")]
        assert account_balance(session, accounts.citizen(case_id)) == -TOTAL_BOTH


def test_two_payments_split_by_one_read_at_once_allocate_one_after_the_other(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    """As above, each payment split by the same payment state read before: the one that takes
    the case's lock second finds the ledger changed under it and is split again (overpaid)."""
    with committing.begin() as session:
        case_id = priced_case(session, settings).id
        charge_case(session, case_id, at=AT)
    with committing() as session:
        read = payment_state(session, case_id)
    keys = iter([f"race-read-{case_id}-a", f"race-read-{case_id}-b"])
    outcomes = _race(committing, lambda s: record_payment(
        s, case_id=case_id, method="cash", amount_vnd=TOTAL_BOTH, at=AT, actor_user_id=None,
        payer="Trần Thị Hoa", reference="", idempotency_key=next(keys), read=read))  # fmt: skip
    assert outcomes == ["ok", "ok"]
    with committing() as session:
        receipts = session.scalars(select(Receipt).where(Receipt.case_id == case_id)).all()
        lines = sorted(tuple(line["line"] for line in r.lines) for r in receipts)
        assert lines == [("overpaid",), ("postage", "state_fee", "fee_transfer")]
        assert account_balance(session, accounts.citizen(case_id)) == -TOTAL_BOTH
