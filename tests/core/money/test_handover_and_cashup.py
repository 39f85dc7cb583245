"""The fees handed to the office with the dossiers; the courier's cash-up at the post office."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.custody.parties import party
from core.custody.service import record_one
from core.errors import Conflict, InvalidInput, NotFound
from core.handovers.service import complete_handover, open_handover, receive_item
from core.identity.models import User
from core.identity.service import actor_for
from core.money import account_balance, accounts, payment_state, record_payment
from core.money.cashup import cash_position, record_cash_up
from core.money.models import CashUp, MoneyTransaction
from core.places.models import Office
from core.settings import Settings
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.core.money.helpers import FEE, TOTAL_BOTH, priced_case
from tests.factories import dossier_of, make_user
from tests.journey import both_signatures
from vntime import VN

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=VN)


def _paid_pickups(
    db: Session, settings: Settings, courier: User, office: Office, n: int
) -> list[int]:
    cases = []
    for _ in range(n):
        case = priced_case(db, settings, office=office)
        code = dossier_of(db, case).code
        record_one(db, actor_for(courier), scan("picked_up", code, details=PICKUP_DETAILS))
        record_payment(db, case_id=case.id, method="cash", amount_vnd=TOTAL_BOTH, at=NOW,
                       actor_user_id=courier.id, payer="Trần Thị Hoa", reference="",
                       idempotency_key=f"door-{case.id}")  # fmt: skip
        cases.append(case.id)
    return cases


def _hand_over(
    db: Session, courier: User, desk: User, case_ids: list[int], confirmed: list[int]
) -> int:
    """Each dossier declared with its state fee; the desk confirms ``confirmed`` per dossier."""
    from core.cases.models import Case

    codes = [dossier_of(db, db.get_one(Case, c)).code for c in case_ids]
    opened = open_handover(db, actor_for(courier), giver=party("courier", courier.id),
                           receiver=party("office", desk.office_id or 0), item_codes=codes,
                           now=NOW, item_fees=dict.fromkeys(codes, FEE))  # fmt: skip
    for code in codes:
        receive_item(db, actor_for(desk), opened.handover.id, code, now=NOW)
    complete_handover(db, actor_for(desk), opened.handover.id, now=NOW,
                      item_fees=dict(zip(codes, confirmed, strict=True)),
                      **both_signatures(db))  # fmt: skip
    return opened.handover.id


def test_a_hand_over_moves_the_fees_from_the_courier_to_the_office(
    db: Session, settings: Settings
) -> None:
    desk = make_user(db, "desk_officer")
    office = db.get_one(Office, desk.office_id)
    courier = make_user(db, "courier")
    cases = _paid_pickups(db, settings, courier, office, 2)
    payable = accounts.agency_payable(office.id)
    assert account_balance(db, payable) == -2 * FEE
    _hand_over(db, courier, desk, cases, [FEE, FEE])
    assert account_balance(db, payable) == 0
    assert account_balance(db, accounts.courier_cash(courier.id)) == 2 * (TOTAL_BOTH - FEE)
    assert [payment_state(db, c).state for c in cases] == ["handed_to_agency"] * 2
    assert payment_state(db, cases[0]).handed_vnd == FEE


def test_a_short_hand_over_is_posted_as_confirmed_and_the_gap_stays_payable(
    db: Session, settings: Settings
) -> None:
    desk = make_user(db, "desk_officer")
    office = db.get_one(Office, desk.office_id)
    courier = make_user(db, "courier")
    cases = _paid_pickups(db, settings, courier, office, 2)
    _hand_over(db, courier, desk, cases, [FEE, FEE - 50_000])
    assert account_balance(db, accounts.agency_payable(office.id)) == -50_000
    # The first dossier's fee is all handed over; the second's gap stays owed to the office.
    assert [payment_state(db, c).state for c in cases] == ["handed_to_agency", "paid"]


def test_cash_up_expected_against_counted(db: Session, settings: Settings) -> None:
    desk = make_user(db, "desk_officer")
    office = db.get_one(Office, desk.office_id)
    courier = make_user(db, "courier")
    dispatcher = make_user(db, "dispatcher", post_office_id=courier.post_office_id)
    cases = _paid_pickups(db, settings, courier, office, 3)
    _hand_over(db, courier, desk, cases, [FEE] * 3)
    expected = 3 * (TOTAL_BOTH - FEE)
    [row] = [r for r in cash_position(db, courier.post_office_id or 0, NOW.date())
             if r.courier_user_id == courier.id]  # fmt: skip
    assert (row.expected_vnd, row.done) == (expected, None)
    till = accounts.till(courier.post_office_id or 0)
    till_before = account_balance(db, till)
    with pytest.raises(InvalidInput) as exc:
        record_cash_up(db, courier_user_id=courier.id, post_office_id=courier.post_office_id or 0,
                       period_date=NOW.date(), counted_vnd=expected - 10_000, reason=None,
                       confirmed_by_user_id=dispatcher.id, at=NOW)  # fmt: skip
    assert exc.value.field == "reason"
    cash_up = record_cash_up(
        db, courier_user_id=courier.id, post_office_id=courier.post_office_id or 0,
        period_date=NOW.date(), counted_vnd=expected - 10_000, reason="thiếu tiền lẻ",
        confirmed_by_user_id=dispatcher.id, at=NOW,
    )  # fmt: skip
    assert (cash_up.expected_vnd, cash_up.counted_vnd, cash_up.difference_vnd) == (
        expected, expected - 10_000, -10_000,
    )  # fmt: skip
    assert cash_up.confirmed_by_user_id == dispatcher.id
    assert account_balance(db, accounts.courier_cash(courier.id)) == 0
    assert account_balance(db, till) - till_before == expected - 10_000
    before = db.scalar(select(func.count()).select_from(MoneyTransaction))
    with pytest.raises(Conflict) as again:
        record_cash_up(db, courier_user_id=courier.id, post_office_id=courier.post_office_id or 0,
                       period_date=NOW.date(), counted_vnd=0, reason="lần hai",
                       confirmed_by_user_id=dispatcher.id, at=NOW)  # fmt: skip
    assert again.value.field == "period_date"
    assert db.scalar(select(func.count()).select_from(MoneyTransaction)) == before
    assert db.scalar(select(func.count()).select_from(CashUp)
                     .where(CashUp.courier_user_id == courier.id)) == 1  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"counted_vnd": -1}, "counted_vnd"), ({"counted_vnd": 1.5}, "counted_vnd"),
     ({"counted_vnd": 10**13}, "counted_vnd"), ({"courier_user_id": 2_000_000_000}, "courier_id"),
     ({"post_office_id": 2_000_000_000}, "courier_id")],
)  # fmt: skip
def test_bad_cash_ups_are_refused(db: Session, changes: dict[str, object], field: str) -> None:
    courier = make_user(db, "courier")
    values: dict[str, object] = {
        "courier_user_id": courier.id, "post_office_id": courier.post_office_id,
        "period_date": NOW.date(), "counted_vnd": 0, "reason": None,
        "confirmed_by_user_id": courier.id, "at": NOW,
    }  # fmt: skip
    values.update(changes)
    with pytest.raises((InvalidInput, NotFound)) as exc:
        record_cash_up(db, **values)  # type: ignore[arg-type]
    assert exc.value.field == field
    assert db.scalar(select(func.count()).select_from(CashUp)
                     .where(CashUp.courier_user_id == courier.id)) == 0  # fmt: skip
