"""Races on real commits: a retried payment from two workers posts once; two clerks cashing up
one courier at the same moment record one cash-up."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.errors import Conflict
from core.money import account_balance, accounts, record_payment
from core.money.cashup import record_cash_up
from core.money.models import CashUp, Receipt
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
