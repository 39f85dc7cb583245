"""Cash at the door is what the ledger says is due, or comes with a reason that a supervisor
sees; the cash is posted with its receipt in the same transaction as the pickup."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.money import account_balance, accounts, payment_state, record_payment
from core.money.models import MoneyException, Receipt
from core.settings import Settings
from tests.core.money.helpers import AT, TOTAL_BOTH, priced_case
from tests.factories import dossier_of
from tests.mobile_api.helpers import PICKUP_DETAILS, pickup_event, scans, signed_in


def _pickup(code: str, fees: int, **extra: Any) -> dict[str, Any]:
    return pickup_event(code, details={**PICKUP_DETAILS, "fees_collected_vnd": fees, **extra})


def _receipts(db: Session, case_id: int) -> list[Receipt]:
    return list(db.scalars(select(Receipt).where(Receipt.case_id == case_id)))


def test_exactly_the_amount_due_is_taken_and_receipted(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    case = priced_case(db, settings)
    answer = scans(client, headers, _pickup(dossier_of(db, case).code, TOTAL_BOTH))
    assert answer["results"][0]["outcome"] == "accepted", answer
    db.expire_all()
    [receipt] = _receipts(db, case.id)
    assert receipt.total_vnd == TOTAL_BOTH and receipt.method == "cash"
    assert payment_state(db, case.id).state == "paid"
    assert account_balance(db, accounts.courier_cash(courier.id)) == TOTAL_BOTH


def test_a_different_amount_without_a_reason_is_refused_and_changes_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, headers = signed_in(client, db)
    case = priced_case(db, settings)
    answer = scans(client, headers, _pickup(dossier_of(db, case).code, 1000))
    result = answer["results"][0]
    assert result["outcome"] == "rejected"
    assert result["reason_code"] == "cash_amount_differs"
    assert result["field"] == "details.fees_collected_vnd"
    assert str(TOTAL_BOTH) in result["detail"]
    # The courier reads the amount due in words of the catalogue (Vietnamese by default).
    assert result["message"].startswith("Hồ sơ này còn phải thu 260.000 ₫"), result["message"]
    db.expire_all()
    assert _receipts(db, case.id) == []
    assert payment_state(db, case.id).state == "quoted"


def test_an_unknown_reason_is_refused(client: TestClient, db: Session, settings: Settings) -> None:
    _, headers = signed_in(client, db)
    case = priced_case(db, settings)
    answer = scans(client, headers, _pickup(dossier_of(db, case).code, 1000,
                                            cash_difference_reason="felt_like_it"))  # fmt: skip
    assert answer["results"][0]["field"] == "details.cash_difference_reason"


def test_a_short_amount_with_a_reason_opens_an_exception(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    case = priced_case(db, settings)
    pickup = _pickup(dossier_of(db, case).code, 200_000,
                     cash_difference_reason="citizen_short_of_cash")  # fmt: skip
    assert scans(client, headers, pickup)["results"][0]["outcome"] == "accepted"
    again = scans(client, headers, pickup)["results"][0]  # the phone resends it
    assert again["outcome"] == "accepted"
    db.expire_all()
    [receipt] = _receipts(db, case.id)
    assert receipt.total_vnd == 200_000
    state = payment_state(db, case.id)
    assert (state.state, state.due_vnd) == ("part_paid", TOTAL_BOTH - 200_000)
    [exception] = db.scalars(select(MoneyException).where(MoneyException.case_id == case.id))
    assert (exception.kind, exception.status, exception.reason_code) == (
        "doorstep_cash_difference", "open", "citizen_short_of_cash",
    )  # fmt: skip
    assert (exception.expected_vnd, exception.actual_vnd) == (TOTAL_BOTH, 200_000)
    assert exception.courier_user_id == courier.id


def test_nothing_is_collected_when_vietqr_paid_before(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, headers = signed_in(client, db)
    case = priced_case(db, settings, method="vietqr")
    record_payment(db, case_id=case.id, method="vietqr", amount_vnd=TOTAL_BOTH, at=AT,
                   actor_user_id=None, payer="Trần Thị Hoa", reference="FT1",
                   idempotency_key="bank-FT1")  # fmt: skip
    sheet_case = case.id
    answer = scans(client, headers, _pickup(dossier_of(db, case).code, 0))
    assert answer["results"][0]["outcome"] == "accepted", answer
    db.expire_all()
    assert len(_receipts(db, sheet_case)) == 1  # the bank's, none from the door
    refused = scans(client, headers, _pickup(dossier_of(db, priced_case(db, settings,
                    method="vietqr")).code, 0))["results"][0]  # fmt: skip
    assert refused["reason_code"] == "cash_amount_differs"  # not paid yet: say why


def test_reasons_list_the_cash_differences(client: TestClient, db: Session) -> None:
    _, headers = signed_in(client, db)
    body = client.get("/mobile/v1/reasons", headers=headers).json()
    labels = {r["code"]: r["label_vi"] for r in body["cash_difference"]}
    assert labels["citizen_short_of_cash"] == "Người dân không đủ tiền mặt, nộp một phần"


def test_exceptions_count_once(client: TestClient, db: Session, settings: Settings) -> None:
    _, headers = signed_in(client, db)
    case = priced_case(db, settings)
    scans(client, headers, _pickup(dossier_of(db, case).code, TOTAL_BOTH + 10_000,
                                   cash_difference_reason="no_change_for_overpayment"))  # fmt: skip
    db.expire_all()
    count = db.scalar(select(func.count()).select_from(MoneyException)
                      .where(MoneyException.case_id == case.id))  # fmt: skip
    assert count == 1
    assert payment_state(db, case.id).state == "over_paid"
