"""The bank edge of the money API and pages: statement upload, the bank's signed notification,
the queue's one-click decisions, the reconciliation as JSON and files."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.agency.signing import sign_request
from core.bankdesk.keys import IssuedBankKey, issue_key
from core.identity.models import User
from core.identity.service import issue_token
from core.money import payment_state
from core.money.bank.models import BankLine
from core.settings import Settings
from tests.core.money.bank_helpers import statement_csv
from tests.core.money.helpers import TOTAL_BOTH, priced_case
from tests.factories import dossier_of, home_post_office, make_post_office, make_user

NOTIFY = "/api/bank/v1/notifications"


def _bearer(db: Session, settings: Settings, user: User) -> dict[str, str]:
    token = issue_token(db, settings, user, now=datetime.now(UTC)).token
    return {"Authorization": f"Bearer {token}"}


def _notify(
    client: TestClient, key: IssuedBankKey, body: dict[str, object], secret: str | None = None
) -> Response:
    data = json.dumps(body).encode()
    headers = sign_request(
        key.key_id, secret or key.secret, "POST", NOTIFY, data, timestamp=int(time.time())
    )
    response: Response = client.post(
        NOTIFY, content=data, headers={**headers.as_dict(), "Content-Type": "application/json"}
    )
    return response


def test_a_signed_notification_pays_the_case_once(
    client: TestClient, db: Session, settings: Settings
) -> None:
    key = issue_key(
        db,
        settings,
        bank="Vietcombank",
        account_no="1500201234567",
        province_code=home_post_office(db).province_code,
        now=datetime.now(UTC),
    )
    case = priced_case(db, settings, method="vietqr")
    code = dossier_of(db, case).code
    db.commit()
    body = {
        "account_no": "1500201234567",
        "reference": "FT26337001",
        "amount_vnd": TOTAL_BOTH,
        "description": f"MBVCB.1.hoso{code.lower()}.CT",
        "booked_at": datetime.now(UTC).isoformat(),
        "counterparty": "TRAN THI HOA",
    }
    unsigned = client.post(NOTIFY, json=body)
    assert unsigned.status_code == 401 and unsigned.json()["field"] == "X-Hoso-Key"
    forged = _notify(client, key, body, secret="0" * 64)
    assert forged.status_code == 401
    first = _notify(client, key, body)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["created"] and answer["line"]["outcome"] == "matched"
    assert answer["line"]["item_code"] == code
    again = _notify(client, key, body)  # the bank retries: a new nonce, the same reference
    assert again.json()["created"] is False
    assert again.json()["line"]["id"] == answer["line"]["id"]
    stored = select(func.count()).where(BankLine.reference == "FT26337001")
    assert db.scalar(stored) == 1
    assert payment_state(db, case.id).state == "paid"
    other_account = _notify(client, key, {**body, "account_no": "999999999", "reference": "X"})
    assert other_account.status_code == 403
    assert other_account.json()["field"] == "account_no"
    negative = _notify(client, key, {**body, "reference": "Y", "amount_vnd": -5})
    assert negative.status_code == 422


def test_statement_upload_queue_and_one_click_match(
    client: TestClient, db: Session, settings: Settings
) -> None:
    dispatcher = make_user(db, "dispatcher")
    auth = _bearer(db, settings, dispatcher)
    case = priced_case(db, settings, method="vietqr")
    code = dossier_of(db, case).code
    data = statement_csv([("R1", TOTAL_BOTH, "chuyen tien ho so"), ("R2", 1_000, "?")])
    uploaded = client.post(
        "/api/v1/money/bank/statements", headers=auth, files={"file": ("vcb.csv", data, "text/csv")}
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["outcomes"] == {"unmatched": 2}
    again = client.post(
        "/api/v1/money/bank/statements", headers=auth, files={"file": ("vcb.csv", data, "text/csv")}
    )
    assert again.json()["already_imported"] and again.json()["lines_new"] == 0
    bad = client.post(
        "/api/v1/money/bank/statements",
        headers=auth,
        files={"file": ("x.csv", "Ngay,Ghi co,Mo ta,Lạ\n".encode(), "text/csv")},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "file" and "Lạ" in bad.json()["detail"]
    queue = client.get("/api/v1/money/bank/queue", headers=auth).json()
    line_id = next(line["id"] for line in queue["lines"] if line["reference"] == "R1")
    wrong = client.post(
        f"/api/v1/money/bank/lines/{line_id}/match",
        headers=auth,
        json={"item_code": code[:-3] + str((int(code[-3]) + 1) % 10) + "VN"},  # a wrong check digit
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "item_code"
    matched = client.post(
        f"/api/v1/money/bank/lines/{line_id}/match",
        headers=auth,
        json={"item_code": code, "note": "gọi điện xác nhận"},
    )
    assert matched.status_code == 200 and matched.json()["outcome"] == "matched"
    twice = client.post(
        f"/api/v1/money/bank/lines/{line_id}/match", headers=auth, json={"item_code": code}
    )
    assert twice.status_code == 409
    assert payment_state(db, case.id).state == "paid"


def test_reconciliation_json_and_files(client: TestClient, db: Session, settings: Settings) -> None:
    # A post office of its own: other tests commit payments at the home one.
    po = make_post_office(db).id
    dispatcher = make_user(db, "dispatcher", post_office_id=po)
    auth = _bearer(db, settings, dispatcher)
    query = {"date": "2026-12-03", "post_office_id": po}
    report = client.get("/api/v1/money/reconciliation", headers=auth, params=query)
    assert report.status_code == 200 and report.json()["balanced"] is True
    for fmt, magic in (("pdf", b"%PDF"), ("xlsx", b"PK\x03\x04"), ("csv", "\ufeff".encode())):
        got = client.get(f"/api/v1/money/reconciliation.{fmt}", headers=auth, params=query)
        assert got.status_code == 200 and got.content.startswith(magic), fmt
    elsewhere = client.get(
        "/api/v1/money/reconciliation",
        headers=auth,
        params={**query, "post_office_id": make_post_office(db).id},
    )
    assert elsewhere.status_code == 403
