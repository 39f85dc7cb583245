"""A courier's cash-up at the post office at the end of the day.

Expected is what the ledger says the courier holds (cash taken at doors, less the fees
handed to offices, plus anything not cashed up before); counted is what the till counts.
Both are kept, with the difference, its reason and who confirmed it; the courier's cash goes
to the till line by line, and the difference to ``cash_over_short``. One cash-up per courier
and day: a second is refused, so a shortage cannot be counted away.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput, NotFound
from core.identity.models import User
from core.money import accounts
from core.money.ledger import Leg, TransactionHeader, checked_amount, checked_text, post
from core.money.models import CashUp, MoneyAccount, MoneyPosting, MoneyTransaction
from vntime import VN


def couriers_cash_lines(
    session: Session, courier_user_ids: Iterable[int], as_of: datetime | None = None
) -> dict[int, dict[str, int]]:
    """What each courier holds, by line (state fees, postage, ...), from the ledger, in one
    query; with ``as_of``, what they held then (money taken later is the next cash-up's)."""
    keys = {accounts.courier_cash(c): c for c in courier_user_ids}
    query = (
        select(MoneyAccount.key, MoneyPosting.line, func.sum(MoneyPosting.amount_vnd))
        .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
        .where(MoneyAccount.key.in_(list(keys)))
        .group_by(MoneyAccount.key, MoneyPosting.line)
    )
    if as_of is not None:
        query = query.join(
            MoneyTransaction, MoneyTransaction.id == MoneyPosting.transaction_id
        ).where(MoneyTransaction.occurred_at <= as_of)
    held: dict[int, dict[str, int]] = {c: {} for c in keys.values()}
    for key, line, total in session.execute(query).all():
        if total:
            held[keys[key]][line] = int(total)
    return held


def courier_cash_lines(
    session: Session, courier_user_id: int, as_of: datetime | None = None
) -> dict[str, int]:
    return couriers_cash_lines(session, [courier_user_id], as_of)[courier_user_id]


@dataclass(frozen=True)
class CourierCash:
    """One row of the cash-up page: a courier, what they should hand in, and the cash-up
    already recorded for the day (if any)."""

    courier_user_id: int
    name: str
    expected_vnd: int
    lines: dict[str, int]
    done: CashUp | None
    confirmed_by: str | None = None


def _courier(session: Session, courier_user_id: int) -> User:
    courier = session.get(User, courier_user_id)
    if courier is None or courier.role != "courier":
        raise NotFound(f"no courier {courier_user_id}", field="courier_id")
    return courier


def cash_position(session: Session, post_office_id: int, day: date) -> list[CourierCash]:
    """Every courier of the post office with what they hold and their cash-up of ``day``."""
    couriers = session.scalars(
        select(User)
        .where(User.role == "courier", User.post_office_id == post_office_id)
        .order_by(User.full_name, User.id)
    ).all()
    done = {
        c.courier_user_id: c
        for c in session.scalars(
            select(CashUp).where(
                CashUp.courier_user_id.in_([c.id for c in couriers]), CashUp.period_date == day
            )
        )
    }
    confirmers = {
        user.id: user.full_name
        for user in session.scalars(
            select(User).where(User.id.in_({c.confirmed_by_user_id for c in done.values()}))
        )
    }
    held = couriers_cash_lines(session, [c.id for c in couriers])
    rows = []
    for courier in couriers:
        lines = held[courier.id]
        cash_up = done.get(courier.id)
        rows.append(
            CourierCash(
                courier.id,
                courier.full_name,
                sum(lines.values()),
                lines,
                cash_up,
                confirmed_by=confirmers.get(cash_up.confirmed_by_user_id) if cash_up else None,
            )  # fmt: skip
        )
    return rows


def record_cash_up(
    session: Session,
    *,
    courier_user_id: int,
    post_office_id: int,
    period_date: date,
    counted_vnd: int,
    reason: str | None,
    confirmed_by_user_id: int,
    at: datetime,
) -> CashUp:
    """Count a courier's cash into the post office's till, once for the day."""
    counted = checked_amount(counted_vnd, "counted_vnd", allow_zero=True)
    courier = _courier(session, courier_user_id)
    if courier.post_office_id != post_office_id:
        raise InvalidInput("this courier belongs to another post office", field="courier_id")
    if period_date > at.astimezone(VN).date():
        raise InvalidInput("a day that has not come yet cannot be cashed up", field="period_date")
    # One cash-up of a courier at a time: the second waits and then finds the first.
    session.execute(select(User.id).where(User.id == courier.id).with_for_update())
    if session.scalar(
        select(CashUp.id).where(
            CashUp.courier_user_id == courier.id, CashUp.period_date == period_date
        )
    ):
        raise Conflict(
            f"{courier.full_name} has already cashed up for {period_date:%d/%m/%Y}",
            field="period_date",
        )
    lines = courier_cash_lines(session, courier.id, as_of=at)
    expected = sum(lines.values())
    difference = counted - expected
    why = None
    if difference:
        if reason is None or not reason.strip():
            raise InvalidInput(
                f"counted {counted} đồng against {expected} expected: say why they differ",
                field="reason",
            )
        why = checked_text(reason, "reason", max_length=500)
    elif reason:
        why = checked_text(reason, "reason", max_length=500, required=False) or None
    legs = []
    for line, amount in lines.items():
        legs.append(Leg(accounts.till(post_office_id), amount, line))
        legs.append(Leg(accounts.courier_cash(courier.id), -amount, line))
    if difference:
        legs.append(Leg(accounts.till(post_office_id), difference, "difference"))
        legs.append(Leg(accounts.CASH_OVER_SHORT, -difference, "difference"))
    transaction = None
    if any(leg.amount_vnd for leg in legs):
        header = TransactionHeader(
            kind="cash_up",
            idempotency_key=f"cash_up:{courier.id}:{period_date.isoformat()}",
            occurred_at=at,
            reason=why,
            actor_user_id=confirmed_by_user_id,
            post_office_id=post_office_id,
            details={"courier_user_id": courier.id, "period_date": period_date.isoformat(),
                     "expected_vnd": expected, "counted_vnd": counted},
        )  # fmt: skip
        transaction, _ = post(session, header, legs)
    cash_up = CashUp(
        courier_user_id=courier.id,
        post_office_id=post_office_id,
        period_date=period_date,
        expected_vnd=expected,
        counted_vnd=counted,
        difference_vnd=difference,
        reason=why,
        confirmed_by_user_id=confirmed_by_user_id,
        transaction_id=transaction.id if transaction is not None else None,
        created_at=at,
    )
    session.add(cash_up)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # a race the row lock above should already have settled
        raise Conflict("already cashed up for this day", field="period_date") from exc
    return cash_up
