"""The door-step checklist asks what the law asks, and the dossier slip says what was taken.

A judicial-record application as the reference catalogue seeds it: the request form is
handed over, the ID card is only shown, the authorisation letter applies only "nếu ủy quyền".
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import Booking
from core.custody.models import CustodyEvent
from core.identity.service import issue_token
from core.places.service import reference_documents
from core.settings import Settings
from tests.factories import dossier_of, make_case, make_procedure, make_user
from tests.mobile_api.helpers import COURIER_SIGNATURE, SIGNATURE, signed_in
from tests.papers_helpers import flat_text, save_pages
from vntime import VN

FORM = "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp"
ID_CARD = "Căn cước / Căn cước công dân của người yêu cầu (xuất trình)"
LETTER = "Văn bản ủy quyền (nếu ủy quyền nhận thay, chỉ với Phiếu số 1)"


def _pickup(code: str, checklist: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "client_event_id": str(uuid.uuid4()), "code": code,
        "occurred_at": datetime.now(VN).isoformat(), "lat": 21.185, "lon": 106.07,
        "gps_accuracy_m": 8.0, "checklist": checklist, "seal_number": "NP-2412-0457",
        "fees_collected_vnd": 0, "citizen_signature_sha256": SIGNATURE,
        "courier_signature_sha256": COURIER_SIGNATURE,
    }  # fmt: skip


def _judicial_record_case(db: Session, settings: Settings) -> Any:
    documents = reference_documents("judicial_record_certificate")
    assert [(d["kind"], d["condition"]) for d in documents] == [
        ("mandatory", None),
        ("shown", None),
        ("conditional", "nếu ủy quyền nhận thay, chỉ với Phiếu số 1"),
    ]
    return make_case(db, settings, procedure_id=make_procedure(db, documents=documents).id)


def test_a_normal_judicial_record_pickup_is_taken_and_its_slip_says_what_was(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, headers = signed_in(client, db)
    case = _judicial_record_case(db, settings)
    item = dossier_of(db, case)
    checklist = [
        {"name": FORM, "form": "original", "present": True, "pages": 2},
        {"name": ID_CARD, "form": "original", "present": True},
        {"name": LETTER, "form": "certified_copy", "present": False, "not_applicable": True},
    ]
    taken = client.post("/mobile/v1/pickups", json=_pickup(item.code, checklist), headers=headers)
    assert taken.status_code == 200, taken.text
    event = db.scalars(select(CustodyEvent).where(CustodyEvent.item_id == item.id,
                       CustodyEvent.kind == "picked_up")).one()  # fmt: skip
    assert [(e["status"], e["pages"]) for e in event.details["checklist"]] == [
        ("received", 2), ("shown", 0), ("not_applicable", 0),
    ]  # fmt: skip

    courier_copy = client.get(f"/mobile/v1/cases/{case.id}/slip.pdf", headers=headers)
    assert courier_copy.status_code == 200
    booking = db.get(Booking, case.booking_id)
    assert booking is not None
    desk = make_user(db, "desk_officer", office_id=booking.office_id)
    token = issue_token(db, settings, desk, now=datetime.now(UTC)).token
    desk_copy = client.get(f"/print/dossier-slips/{item.code}.pdf",
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert desk_copy.status_code == 200
    save_pages(courier_copy.content, "dossier_slip_judicial_record")
    text = flat_text(courier_copy.content)
    # One slip per dossier: the courier's copy and the desk's are the same paper.
    assert text == flat_text(desk_copy.content)
    for expected in (
        f"Số / No.: PHS-{item.code}",
        f"{FORM} Bản chính / Original 2 Đã nhận / Received",
        f"{ID_CARD} Bản chính / Original — Xuất trình, không thu / Shown, not taken",
        "Bản sao chứng thực / Certified copy — Không áp dụng / Not applicable "
        "(nếu ủy quyền nhận thay, chỉ với Phiếu số 1)",
        "Cộng giấy tờ nhận / Documents received: 1 2",
        "NP-2412-0457",
        "Người nộp hồ sơ / Citizen",
        "Bưu tá / Courier",
    ):
        assert expected in text, expected
    assert "Hồ sơ thiếu" not in text


def test_a_refusal_names_the_missing_documents_in_vietnamese_and_records_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, headers = signed_in(client, db)
    item = dossier_of(db, _judicial_record_case(db, settings))
    # The form is there; the ID card was not shown; the letter neither ticked nor ruled out.
    checklist = [
        {"name": FORM, "form": "original", "present": True},
        {"name": ID_CARD, "form": "original", "present": False},
        {"name": LETTER, "form": "certified_copy", "present": False},
    ]
    refused = client.post("/mobile/v1/pickups", json=_pickup(item.code, checklist),
                          headers=headers)  # fmt: skip
    assert refused.status_code == 422, refused.text
    answer = refused.json()
    assert (answer["error"], answer["field"]) == ("incomplete_dossier", "details.checklist")
    # The courier reads the catalogue's text (Vietnamese unless asked otherwise).
    assert answer["message"].startswith(f"Hồ sơ còn thiếu: {ID_CARD}; {LETTER}.")
    assert FORM not in answer["message"]
    # A mandatory paper cannot be ruled out as not applicable.
    ruled_out = [
        {"name": FORM, "form": "original", "present": False, "not_applicable": True},
        {"name": ID_CARD, "form": "original", "present": True},
        {"name": LETTER, "form": "certified_copy", "present": False, "not_applicable": True},
    ]
    again = client.post("/mobile/v1/pickups", json=_pickup(item.code, ruled_out), headers=headers)
    assert again.status_code == 422 and again.json()["message"].startswith(
        f"Hồ sơ còn thiếu: {FORM}."
    )
    both = [{**checklist[0], "not_applicable": True}, checklist[1], checklist[2]]
    contradicting = client.post("/mobile/v1/pickups", json=_pickup(item.code, both),
                                headers=headers)  # fmt: skip
    assert contradicting.json()["field"] == "details.checklist[0].not_applicable"
    assert db.scalars(select(CustodyEvent.kind).where(CustodyEvent.item_id == item.id)).all() == [
        "booked"
    ]


def test_the_seeded_catalogue_marks_conditions_the_names_do_not_say() -> None:
    kinds = {d["name_vi"]: (d["kind"], d["condition"])
             for d in reference_documents("driving_licence_exchange")}  # fmt: skip
    assert kinds["Giấy khám sức khỏe của người lái xe"] == (
        "conditional",
        "đối với hạng giấy phép lái xe có thời hạn",
    )
    assert kinds["Đơn đề nghị đổi giấy phép lái xe"] == ("mandatory", None)
    shown = [d for d in reference_documents("birth_registration") if d["kind"] == "shown"]
    assert [d["name_vi"] for d in shown] == [
        "Căn cước / Căn cước công dân của người yêu cầu (xuất trình)"
    ]
