"""Every paper and page states Vietnam's time: the journey runs at 06:30 in Vietnam, which is
23:30 UTC the day before, so a time printed in UTC shows the wrong hour AND the wrong date.

Booking receipt, courier's dossier slip, staff dossier slip, staff receipt, hand-over record
(PDF text extracted), then the tracking page, the citizen's case page and the desk's codes
table (HTML): each must say 06:30 (or the window's 08:00) on 23/11/2026, dd/mm/yyyy.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.custody.parties import Actor, party
from core.custody.service import record_one
from core.handovers.service import complete_handover, open_handover, receive_item
from core.identity.service import actor_for, issue_token
from core.money import record_payment
from core.papers.codes import record_dossier_code
from core.settings import Settings
from edge.deps import get_now
from tests.api.citizen_helpers import sign_in
from tests.core.booking.helpers import (
    ADDRESS,
    CCCD_FEMALE_1990,
    FIRST_WINDOW,
    make_area,
)
from tests.core.custody.helpers import scan
from tests.factories import make_user
from tests.journey import both_signatures
from tests.labels.decode import pdf_text
from vntime import VN

# 06:30 on Monday 23/11/2026 in Vietnam; in UTC it is still Sunday 22/11, 23:30.
EARLY = datetime(2026, 11, 23, 6, 30, tzinfo=VN)
assert EARLY.astimezone(UTC).strftime("%d/%m %H:%M") == "22/11 23:30"
STAMP = "06:30, ngày 23/11/2026"  # the papers' form
UTC_STAMP = "23:30, ngày 22/11/2026"  # what a paper printing UTC would say
DOOR_DETAILS = {
    "seal_number": "NP-0630",
    "checklist": [{"name": "Tờ khai", "form": "original", "present": True}],
}


def _text(pdf: bytes) -> str:
    return "\n".join(pdf_text(pdf))


def _visible(html: str) -> str:
    """The page's text, tags dropped (so ``datetime="…"`` attributes do not count)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_papers_and_pages_print_vietnam_time_at_06_30(
    client: TestClient, db: Session, settings: Settings
) -> None:
    client.app.dependency_overrides[get_now] = lambda: EARLY  # type: ignore[attr-defined]
    area = make_area(db)
    sign_in(client, db)
    booked = client.post(
        "/api/v1/bookings",
        json={
            "service_option": "both",
            "procedure_id": area.procedure.id,
            "address": ADDRESS,
            "office_id": area.office.id,
            "pickup_window_start": FIRST_WINDOW.isoformat(),
            "contact_name": "Trần Thị Hoa",
            "contact_phone": "0912345678",
            "cccd": CCCD_FEMALE_1990,
            "citizen_sex": "female",
            "citizen_birth_year": 1990,
            "payment_method": "cash",
        },
    )
    assert booked.status_code == 201, booked.text
    case_id = booked.json()["case_id"]
    quote_total = booked.json()["quote"]["total_vnd"]
    code = booked.json()["legs"][0]["item_id"]

    # The citizen's quote: booked at 06:30 Vietnam time.
    quote = _text(client.get(f"/api/v1/my/cases/{case_id}/quote.pdf").content)
    assert STAMP in quote and UTC_STAMP not in quote

    # The courier picks it up at 06:30 (device time, +07:00) and prints the slip.
    courier = area.couriers[0]
    record_one(
        db, actor_for(courier), scan("picked_up", code, occurred_at=EARLY, details=DOOR_DETAILS)
    )
    courier_auth = {
        "Authorization": "Bearer " + issue_token(db, settings, courier, now=datetime.now(UTC)).token
    }
    slip = _text(client.get(f"/mobile/v1/cases/{case_id}/slip.pdf", headers=courier_auth).content)
    assert STAMP in slip and UTC_STAMP not in slip
    # The cash taken at the door at 06:30: its receipt says so, for the citizen and the staff.
    receipt = record_payment(db, case_id=case_id, method="cash", amount_vnd=quote_total,
                             at=EARLY, actor_user_id=courier.id, payer="Trần Thị Hoa",
                             reference="", idempotency_key=f"early-{case_id}")  # fmt: skip
    mine = _text(client.get(f"/api/v1/my/cases/{case_id}/receipts/{receipt.id}.pdf").content)
    assert STAMP in mine and UTC_STAMP not in mine

    # The desk: staff slip, staff receipt, and the hand-over record completed at 06:30.
    desk = make_user(db, "desk_officer", office_id=area.office.id)
    opened = open_handover(
        db,
        actor_for(courier),
        giver=party("courier", courier.id),
        receiver=party("office", area.office.id),
        item_codes=[code],
        now=EARLY,
    )
    receive_item(db, actor_for(desk), opened.handover.id, code, now=EARLY)
    complete_handover(db, actor_for(desk), opened.handover.id, fees_confirmed_vnd=0, now=EARLY,
                      **both_signatures(db))  # fmt: skip
    desk_auth = {
        "Authorization": "Bearer " + issue_token(db, settings, desk, now=datetime.now(UTC)).token
    }
    for path in (
        f"/print/dossier-slips/{code}.pdf",
        f"/print/receipts/{code}.pdf",
        f"/print/handovers/{opened.handover.id}.pdf",
    ):
        paper = client.get(path, headers=desk_auth)
        assert paper.status_code == 200, (path, paper.text)
        assert STAMP in _text(paper.content) and UTC_STAMP not in _text(paper.content), path
    # The record's number carries Vietnam's year too (here the same year either way).
    assert opened.handover.code.startswith("BG-2026-")

    # The agency's appointment date is a Vietnamese calendar day: dd/mm/yyyy on every page.
    case = db.get(Case, case_id)
    assert case is not None
    # A code of the area's own province (Huế here), not Bắc Ninh's H05.
    record_dossier_code(db, settings, case, "000.00.46.H57-261123-0001", date(2026, 12, 7),
                        actor=Actor.system(), recorded_by="test", source="agency",
                        now=EARLY)  # fmt: skip
    db.commit()

    tracking = _visible(client.get(f"/t/{code}").text)
    assert "06:30 23/11/2026" in tracking and "23:30" not in tracking
    assert "07/12/2026" in tracking and "2026-12-07" not in tracking

    mine = _visible(client.get(f"/my/cases/{case_id}").text)
    window_end = (FIRST_WINDOW + timedelta(hours=2)).strftime("%H:%M")
    assert f"23/11/2026, 08:00–{window_end}" in mine and "01:00" not in mine

    client.cookies.set("hoso_session", issue_token(db, settings, desk, now=datetime.now(UTC)).token)
    codes = _visible(client.get("/desk/codes").text)
    if "000.00.46.H57-261123-0001" in codes:  # listed when recorded "today" at the desk
        assert "07/12/2026" in codes and "2026-12-07" not in codes
    desk_case = _visible(client.get(f"/desk/cases/{case_id}").text)
    assert "07/12/2026" in desk_case
