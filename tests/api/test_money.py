"""Money through the HTTP edges: a booking is charged and quoted (not receipted), an exempt
booking shows its basis, a cancelled VietQR booking is owed back, the staff JSON API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.admin.users import Binding
from core.identity.service import issue_token
from core.money import account_balance, accounts, payment_state, record_payment
from core.money.models import MoneyException
from core.settings import Settings
from tests.api.citizen_helpers import at_now, sign_in
from tests.api.test_citizens import _body
from tests.core.admin.helpers import staff
from tests.core.booking.helpers import make_area
from tests.core.money.helpers import AT, TOTAL_BOTH, priced_case
from tests.factories import home_post_office, make_user
from tests.labels.decode import pdf_text


def _bearer(
    db: Session, settings: Settings, role: str, **overrides: Any
) -> tuple[int, dict[str, str]]:
    user = make_user(db, role, **overrides)
    # Issued now: the API checks the token against the real clock, and a token issued at the
    # fixed day of the money data (AT) expires twelve hours later, whatever day the tests run.
    token = issue_token(db, settings, user, now=datetime.now(UTC)).token
    return user.id, {"Authorization": f"Bearer {token}"}


def test_a_booking_is_charged_and_gets_a_quote_not_a_receipt(
    client: TestClient, db: Session
) -> None:
    at_now(client)
    area = make_area(db)
    sign_in(client, db)
    case = client.post("/api/v1/bookings", json=_body(area)).json()
    assert case["payment"]["state"] == "quoted" and case["payment"]["receipts"] == []
    assert case["payment"]["due_vnd"] == case["payment"]["amount_vnd"] == 260_000
    assert account_balance(db, accounts.citizen(case["case_id"])) == 260_000
    pdf = client.get(f"/api/v1/my/cases/{case['case_id']}/quote.pdf")
    text = "\n".join(pdf_text(pdf.content))
    assert "BÁO GIÁ" in text and "BIÊN LAI THU TIỀN" not in text
    assert "Phí, lệ phí thủ tục hành chính" in text and "Cước chuyển tiền phí, lệ phí" in text
    page = client.get(f"/my/cases/{case['case_id']}").text
    assert 'data-state="quoted"' in page and 'id="receipts"' not in page


def test_an_exempt_booking_carries_its_legal_basis(client: TestClient, db: Session) -> None:
    at_now(client)
    area = make_area(db)
    sign_in(client, db)
    refused = client.post("/api/v1/bookings", json=_body(area, exemption_code="heroic_mother"))
    assert refused.status_code == 422 and refused.json()["field"] == "exemption_proof"
    response = client.post("/api/v1/bookings", json=_body(
        area, exemption_code="heroic_mother", exemption_proof="GCN 123/2019"))  # fmt: skip
    assert response.status_code == 201, response.text
    case = response.json()
    lines = {line["code"]: line["amount_vnd"] for line in case["quote"]["lines"]}
    # Postage and the transfer charge are waived line by line; the state fee stays.
    assert lines["exemption:postage_dossier"] == -lines["postage_dossier"]
    assert lines["exemption:fee_transfer"] == -lines["fee_transfer"]
    assert case["quote"]["total_vnd"] == lines["admin_fee"] == 200_000
    assert "TT 22/2017" in case["quote"]["exemption"]["legal_basis"]
    text = "\n".join(pdf_text(client.get(f"/api/v1/my/cases/{case['case_id']}/quote.pdf").content))
    flat = " ".join(text.split())
    assert "Bà mẹ Việt Nam anh hùng" in flat and "GCN 123/2019" in flat, flat
    state = payment_state(db, case["case_id"])
    assert state.lines == {"state_fee": 200_000} and state.due_vnd == 200_000


def test_a_cancelled_vietqr_booking_is_owed_back(client: TestClient, db: Session) -> None:
    at_now(client)
    area = make_area(db)
    sign_in(client, db)
    case = client.post("/api/v1/bookings", json=_body(area)).json()
    record_payment(db, case_id=case["case_id"], method="vietqr", amount_vnd=260_000, at=AT,
                   actor_user_id=None, payer="Trần Thị Hoa", reference="FT26337",
                   idempotency_key="bank:FT26337")  # fmt: skip
    paid = client.get(f"/api/v1/my/cases/{case['case_id']}").json()["payment"]
    assert paid["state"] == "paid" and len(paid["receipts"]) == 1
    cancelled = client.post(f"/api/v1/my/cases/{case['case_id']}/cancel").json()
    assert cancelled["payment"]["state"] == "refund_due"
    assert payment_state(db, case["case_id"]).owed_back_vnd == 260_000


def test_staff_read_cash_and_record_a_cash_up_once(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier = make_user(db, "courier")
    _, dispatcher = _bearer(db, settings, "dispatcher", post_office_id=courier.post_office_id)
    case = priced_case(db, settings)
    record_payment(db, case_id=case.id, method="cash", amount_vnd=TOTAL_BOTH, at=AT,
                   actor_user_id=courier.id, payer="Trần Thị Hoa", reference="",
                   idempotency_key=f"api-{case.id}")  # fmt: skip
    rows = client.get("/api/v1/money/cash-ups", headers=dispatcher,
                      params={"date": AT.date().isoformat()}).json()  # fmt: skip
    [mine] = [r for r in rows if r["courier_id"] == courier.id]
    assert mine["expected_vnd"] == TOTAL_BOTH and mine["cash_up"] is None
    body = {"courier_id": courier.id, "period_date": AT.date().isoformat(),
            "counted_vnd": TOTAL_BOTH - 10_000}  # fmt: skip
    refused = client.post("/api/v1/money/cash-ups", headers=dispatcher, json=body)
    assert refused.status_code == 422 and refused.json()["field"] == "reason"
    done = client.post("/api/v1/money/cash-ups", headers=dispatcher,
                       json={**body, "reason": "thiếu 10.000"})  # fmt: skip
    assert done.status_code == 200, done.text
    assert done.json()["difference_vnd"] == -10_000
    again = client.post("/api/v1/money/cash-ups", headers=dispatcher,
                        json={**body, "reason": "lần hai"})  # fmt: skip
    assert again.status_code == 409 and again.json()["field"] == "period_date"
    for bad in (-1, 1.5, 10**13):
        answer = client.post("/api/v1/money/cash-ups", headers=dispatcher,
                             json={**body, "courier_id": make_user(db, "courier").id,
                                   "counted_vnd": bad})  # fmt: skip
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"].endswith("counted_vnd"), answer.text
    state = client.get(f"/api/v1/money/cases/{case.id}", headers=dispatcher).json()
    assert state["state"]["state"] == "paid" and state["receipts"][0]["total_vnd"] == TOTAL_BOTH
    receipt_id = state["receipts"][0]["id"]
    url = f"/api/v1/money/receipts/{receipt_id}/cancel"
    cancelled = client.post(url, headers=dispatcher, json={"reason": "ghi nhầm ca"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["kind"] == "cancellation"
    assert cancelled.json()["total_vnd"] == -TOTAL_BOTH
    again = client.post(url, headers=dispatcher, json={"reason": "lần hai"}).json()
    assert again["id"] == cancelled.json()["id"]  # one cancelling receipt, not two
    assert payment_state(db, case.id).state == "quoted"


def test_a_supervisor_resolves_a_door_step_exception(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier = make_user(db, "courier")
    case = priced_case(db, settings)
    exception = MoneyException(kind="doorstep_cash_difference", ref=f"test:{case.id}",
                               case_id=case.id, courier_user_id=courier.id,
                               post_office_id=courier.post_office_id, expected_vnd=TOTAL_BOTH,
                               actual_vnd=200_000, reason_code="citizen_short_of_cash",
                               status="open", opened_at=AT)  # fmt: skip
    db.add(exception)
    db.flush()
    boss = staff(
        db, "province_supervisor", Binding(province_code=home_post_office(db).province_code)
    )
    supervisor = {
        "Authorization": f"Bearer {issue_token(db, settings, boss, now=datetime.now(UTC)).token}"
    }
    _, dispatcher = _bearer(db, settings, "dispatcher", post_office_id=courier.post_office_id)
    listed = client.get("/api/v1/money/exceptions", headers=dispatcher).json()
    assert exception.id in [e["id"] for e in listed]
    assert client.post(f"/api/v1/money/exceptions/{exception.id}/resolve", headers=dispatcher,
                       json={"resolution": "x"}).status_code == 403  # fmt: skip
    url = f"/api/v1/money/exceptions/{exception.id}/resolve"
    done = client.post(url, headers=supervisor, json={"resolution": "Đã thu đủ hôm sau"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "resolved"
    assert client.post(url, headers=supervisor, json={"resolution": "again"}).status_code == 409
