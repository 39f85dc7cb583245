"""Dossier codes at the desk: plausibility refusals name the field; changing a recorded code
is a correction with a reason, and the case page lists every record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.identity.service import issue_token
from core.settings import Settings
from tests.factories import make_case, make_office, make_user
from tests.journey import hand_to_office
from vntime import VN

TODAY = datetime.now(VN)


def test_a_wrong_province_code_is_refused_and_a_correction_needs_a_reason(
    client: TestClient, db: Session, settings: Settings
) -> None:
    office = make_office(db)
    desk = make_user(db, "desk_officer", office_id=office.id)
    case = make_case(db, settings, office=office)
    item = hand_to_office(db, case, make_user(db, "courier"), desk)
    client.cookies.set("hoso_session", issue_token(db, settings, desk, now=datetime.now(UTC)).token)
    due = f"{TODAY + timedelta(days=10):%Y-%m-%d}"
    first, fixed = (f"000.D1.24.H05-{TODAY:%y%m%d}-{n:04d}" for n in (case.id, case.id + 5000))

    def post(code: str, **extra: str) -> str:
        answer = client.post("/desk/codes", data={"item_id": item, "agency_dossier_code": code,
                             "appointment_date": due, **extra}, follow_redirects=False)  # fmt: skip
        return str(answer.headers["location"])

    hanoi = post(f"000.A0.01.H26-{TODAY:%y%m%d}-0001")
    assert "field=agency_dossier_code" in hanoi and "H26" in client.get(hanoi).text
    future = post(f"000.D1.24.H05-{TODAY + timedelta(days=2):%y%m%d}-0001")
    assert "field=agency_dossier_code" in future
    assert "done=" in post(first)
    unexplained = post(fixed)
    assert "field=reason" in unexplained
    assert "done=" in post(fixed, reason="Gõ nhầm số thứ tự")
    db.expire_all()
    stored = db.get(Case, case.id)
    assert stored is not None and stored.agency_dossier_code == fixed
    page = client.get(f"/desk/cases/{case.id}").text
    assert page.count("data-record=") == 2 and "data-superseded" in page
    assert first in page and "Gõ nhầm số thứ tự" in page
