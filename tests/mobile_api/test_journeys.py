"""Pickup at the door (TT 17/2017 art. 5), delivery on verified proof, failed attempts."""

from __future__ import annotations

import io
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.custody.models import CustodyEvent, ItemState
from core.custody.parties import citizen_party
from core.custody.service import ScanCommand, record_one
from core.media.service import store_media
from core.otp.models import OtpChallenge
from core.outbox.models import OutboxMessage
from core.settings import Settings
from tests.factories import dossier_of, make_case, make_procedure
from tests.mobile_api.helpers import (
    COURIER_SIGNATURE,
    SIGNATURE,
    desk_actor_for,
    event,
    result_out_for_delivery,
    scans,
    signed_in,
)
from vntime import VN

PHOTO = "a" * 64
CCCD = "001190012345"  # Hà Nội, female, born 1990


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def _door(code: str, **fields: Any) -> dict[str, Any]:
    return {
        "client_event_id": str(uuid.uuid4()),
        "code": code,
        "occurred_at": datetime.now(VN).isoformat(),
        "lat": 21.185,
        "lon": 106.07,
        "gps_accuracy_m": 8.0,
        **fields,
    }


def _events(db: Session, item_id: int) -> list[CustodyEvent]:
    query = select(CustodyEvent).where(CustodyEvent.item_id == item_id)
    return list(db.scalars(query.order_by(CustodyEvent.seq)))


def _state(db: Session, item_id: int) -> ItemState:
    db.expire_all()
    state = db.get(ItemState, item_id)
    assert state is not None
    return state


TWO_DOCUMENTS = [
    {
        "name_vi": "Tờ khai cấp Phiếu lý lịch tư pháp",
        "name_en": "Declaration",
        "form": "original",
        "quantity": 1,
    },
    {"name_vi": "Căn cước công dân", "name_en": "Citizen ID card", "form": "copy", "quantity": 1},
]


def test_pickup_at_the_door_and_its_dossier_slip(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    case = make_case(db, settings, procedure_id=make_procedure(db, documents=TWO_DOCUMENTS).id)
    item = dossier_of(db, case)
    body = _door(
        item.code,
        checklist=[
            {"name": "to khai cap phieu ly lich tu phap", "form": "original", "present": True},
            # An original where a copy is asked is fine.
            {"name": "Căn cước công dân", "form": "original", "present": True},
        ],
        seal_number="NP-2026-0042",
        fees_collected_vnd=226000,
        payment_method="cash",
        citizen_signature_sha256=store_media(db, _png(), "image/png", uploaded_by_user_id=None),
        courier_signature_sha256=COURIER_SIGNATURE,
        note="Giao tận tay",
    )
    response = client.post("/mobile/v1/pickups", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["events"][0]["custodian"] == f"courier:{courier.id}"
    picked = _events(db, item.id)[-1]
    assert picked.kind == "picked_up" and picked.upu_code == "EMA"
    assert picked.details["seal_number"] == "NP-2026-0042"
    assert picked.details["fees_collected_vnd"] == 226000
    assert picked.evidence["courier_signature_sha256"] == COURIER_SIGNATURE

    slip = client.get(f"/mobile/v1/cases/{case.id}/slip.pdf", headers=headers)
    assert slip.status_code == 200
    assert slip.headers["content-type"] == "application/pdf"
    assert slip.content.startswith(b"%PDF")
    # Sending the same pickup again (no answer reached the phone) is a replay.
    again = client.post("/mobile/v1/pickups", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert len(_events(db, item.id)) == 2


def test_a_door_form_from_a_phone_two_days_ahead_is_refused_and_records_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """The door-step forms keep the scan sync's clock rule (``core.courier.sync``)."""
    _, headers = signed_in(client, db)
    case = make_case(db, settings)
    item = dossier_of(db, case)
    before = len(_events(db, item.id))
    attempt = _door(item.code, reason_code="addressee_absent",
                    occurred_at=(datetime.now(VN) + timedelta(days=2)).isoformat())  # fmt: skip
    answer = client.post("/mobile/v1/deliveries/attempts", json=attempt, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "occurred_at"
    assert "ahead of the server's clock" in answer.json()["detail"]
    db.expire_all()
    assert len(_events(db, item.id)) == before
    # The same form at the phone's right time is only then judged on its merits.
    answer = client.post("/mobile/v1/deliveries/attempts",
                         json={**attempt, "occurred_at": datetime.now(VN).isoformat()},
                         headers=headers)  # fmt: skip
    assert answer.json().get("field") != "occurred_at", answer.text


@pytest.mark.parametrize(
    ("brought", "taken"),
    [("copy", False), ("certified_copy", True), ("original", True)],
)
def test_a_certified_copy_is_asked_for_and_a_plain_copy_does_not_do(
    client: TestClient, db: Session, settings: Settings, brought: str, taken: bool
) -> None:
    _, headers = signed_in(client, db)
    documents = [{"name_vi": "Giấy khai sinh", "name_en": "Birth certificate",
                  "form": "certified_copy", "quantity": 1}]  # fmt: skip
    case = make_case(db, settings, procedure_id=make_procedure(db, documents=documents).id)
    pickup = _door(
        dossier_of(db, case).code,
        checklist=[{"name": "Giấy khai sinh", "form": brought, "present": True}],
        seal_number="NP-7",
        fees_collected_vnd=0,
        citizen_signature_sha256=SIGNATURE,
        courier_signature_sha256=COURIER_SIGNATURE,
    )
    answer = client.post("/mobile/v1/pickups", json=pickup, headers=headers)
    if taken:
        assert answer.status_code == 200, answer.text
    else:
        assert answer.status_code == 422
        assert answer.json()["error"] == "incomplete_dossier"
        assert "bản sao chứng thực" in answer.json()["detail"]


def test_an_incomplete_dossier_cannot_be_picked_up_but_a_refusal_is_recorded(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, headers = signed_in(client, db)
    case = make_case(db, settings, procedure_id=make_procedure(db, documents=TWO_DOCUMENTS).id)
    item = dossier_of(db, case)
    checklist = [
        # The declaration must be an original; the citizen has only a copy.
        {"name": "Tờ khai cấp Phiếu lý lịch tư pháp", "form": "copy", "present": True},
        {"name": "Căn cước công dân", "form": "copy", "present": False},
    ]
    pickup = _door(
        item.code,
        checklist=checklist,
        seal_number="NP-1",
        fees_collected_vnd=0,
        citizen_signature_sha256=SIGNATURE,
        courier_signature_sha256=COURIER_SIGNATURE,
    )
    refused = client.post("/mobile/v1/pickups", json=pickup, headers=headers)
    assert refused.status_code == 422
    answer = refused.json()
    assert (answer["error"], answer["field"]) == ("incomplete_dossier", "details.checklist")
    assert "Căn cước công dân" in answer["detail"] and "bản chính" in answer["detail"]
    assert [e.kind for e in _events(db, item.id)] == ["booked"]

    no_list = client.post(
        "/mobile/v1/pickups/refusals",
        headers=headers,
        json=_door(item.code, reason_code="incomplete_dossier"),
    )
    assert (no_list.status_code, no_list.json()["field"]) == (422, "details.missing_documents")
    unknown = client.post(
        "/mobile/v1/pickups/refusals", headers=headers, json=_door(item.code, reason_code="raining")
    )
    assert (unknown.status_code, unknown.json()["field"]) == (422, "details.reason_code")

    recorded = client.post(
        "/mobile/v1/pickups/refusals",
        headers=headers,
        json=_door(item.code, reason_code="incomplete_dossier", checklist=checklist),
    )
    assert recorded.status_code == 200, recorded.text
    event_row = _events(db, item.id)[-1]
    assert event_row.kind == "pickup_refused"
    assert event_row.details["missing_documents"] == [
        "Tờ khai cấp Phiếu lý lịch tư pháp (bản chính / original)",
        "Căn cước công dân",
    ]
    assert _state(db, item.id).status == "refused"
    reasons = client.get("/mobile/v1/reasons").json()
    assert {
        "code": "incomplete_dossier",
        "label_vi": "Hồ sơ chưa đủ giấy tờ",
        "label_en": "Dossier incomplete",
    } in reasons["pickup_refused"]


def _sent_code(db: Session) -> str:
    message = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.topic == "sms.send")
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None
    found = re.search(r"\b(\d{6})\b", message.payload["text"])
    assert found is not None
    return found.group(1)


def _delivery(code: str, **proof: Any) -> dict[str, Any]:
    return _door(code, signature_sha256=SIGNATURE, photo_sha256=PHOTO, **proof)


def test_delivery_on_a_one_time_code_and_wrong_guesses_count(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    case, item = result_out_for_delivery(db, settings, courier)
    sent = client.post(f"/mobile/v1/deliveries/{item.code}/otp", headers=headers)
    assert sent.status_code == 201, sent.text
    assert sent.json()["phone_masked"] == "09******78"
    code = _sent_code(db)
    wrong = "000000" if code != "000000" else "111111"

    guess = client.post(
        "/mobile/v1/deliveries",
        headers=headers,
        json=_delivery(item.code, proof="otp", otp_code=wrong),
    )
    assert (guess.status_code, guess.json()["error"]) == (422, "proof_failed")
    challenge = db.get(OtpChallenge, sent.json()["challenge_id"])
    db.refresh(challenge)
    assert challenge is not None and challenge.attempts == 1  # committed with the answer
    assert _state(db, item.id).status == "out_for_delivery"

    done_body = _delivery(item.code, proof="otp", otp_code=code)
    done = client.post("/mobile/v1/deliveries", headers=headers, json=done_body)
    assert done.status_code == 200, done.text
    events_before_replay = _events(db, item.id)
    state = _state(db, item.id)
    assert (state.status, state.custodian) == ("delivered", citizen_party(case.id))
    delivered = _events(db, item.id)[-1]
    assert delivered.upu_code == "EMI"
    assert delivered.evidence["proof"] == "otp" and "otp_code" not in delivered.evidence
    assert delivered.evidence["otp_challenge_id"] == challenge.id

    # The answer was lost on the way: the phone resends the same delivery. The code is spent
    # by now, but a replay is answered from the ledger, not checked again.
    again = client.post("/mobile/v1/deliveries", headers=headers, json=done_body)
    assert again.status_code == 200, again.text
    assert again.json()["replayed"] is True
    assert again.json()["events"] == done.json()["events"]
    assert len(_events(db, item.id)) == len(events_before_replay)


def test_delivery_on_the_chip_id_card(client: TestClient, db: Session, settings: Settings) -> None:
    courier, headers = signed_in(client, db)
    booked = {"cccd": CCCD, "citizen_birth_year": 1990, "citizen_sex": "female"}
    _, item = result_out_for_delivery(db, settings, courier, **booked)
    card = f"{CCCD}||TRẦN THỊ HOA|15031990|Nữ|Phường Kinh Bắc, Bắc Ninh|01012021"

    other_card = card.replace(CCCD, "001190054321")
    for payload, why in ((other_card, "not the one given"), ("garbage", "7 fields")):
        refused = client.post(
            "/mobile/v1/deliveries",
            headers=headers,
            json=_delivery(item.code, proof="cccd_qr", cccd_qr=payload),
        )
        assert refused.status_code == 422 and why in refused.json()["detail"], refused.text

    # The name is compared without accents or case: the card may print it in capitals.
    ascii_card = card.replace("TRẦN THỊ HOA", "TRAN THI HOA")
    done = client.post(
        "/mobile/v1/deliveries",
        headers=headers,
        json=_delivery(item.code, proof="cccd_qr", cccd_qr=ascii_card),
    )
    assert done.status_code == 200, done.text
    evidence = _events(db, item.id)[-1].evidence
    assert evidence["cccd_last4"] == "2345" and "cccd_qr" not in evidence
    assert evidence["birth_year_matched"] and evidence["sex_matched"]
    assert CCCD not in str(evidence)


def test_the_id_card_must_match_the_stated_birth_year(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    booked = {"cccd": CCCD, "citizen_birth_year": 1991}
    _, item = result_out_for_delivery(db, settings, courier, **booked)
    card = f"{CCCD}||Trần Thị Hoa|15031990|Nữ|Bắc Ninh|01012021"
    refused = client.post(
        "/mobile/v1/deliveries",
        headers=headers,
        json=_delivery(item.code, proof="cccd_qr", cccd_qr=card),
    )
    assert refused.status_code == 422 and "birth year" in refused.json()["detail"]


def test_delivery_to_an_authorised_person_and_unverified_proof_in_a_sync_batch(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    _, item = result_out_for_delivery(db, settings, courier)
    # A phone cannot just claim proof: the server verifies it or refuses the event.
    claimed = event(
        "delivered",
        item.code,
        evidence={"proof": "otp", "signature_sha256": SIGNATURE, "photo_sha256": PHOTO},
    )
    answer = scans(client, headers, claimed)["results"][0]
    assert (answer["outcome"], answer["field"]) == ("rejected", "evidence.otp_code")
    missing_photo = client.post(
        "/mobile/v1/deliveries",
        headers=headers,
        json=_delivery(item.code, proof="authorisation", recipient_name="Lê Văn Nam"),
    )
    assert missing_photo.json()["field"] == "evidence.authorisation_photo_sha256"
    done = client.post(
        "/mobile/v1/deliveries",
        headers=headers,
        json=_delivery(
            item.code,
            proof="authorisation",
            recipient_name="Lê Văn Nam",
            authorisation_photo_sha256="b" * 64,
        ),
    )
    assert done.status_code == 200, done.text
    evidence = _events(db, item.id)[-1].evidence
    assert (evidence["recipient"], evidence["recipient_name"]) == ("authorised", "Lê Văn Nam")


def test_after_the_last_failed_attempt_the_result_goes_back_to_the_office(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    case, item = result_out_for_delivery(db, settings, courier)
    assert settings.delivery_max_attempts == 3
    sms_before = db.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    departures = []
    for attempt in range(1, 4):
        if attempt > 1:
            departures.append(event("out_for_delivery", item.code))
            again = scans(client, headers, departures[-1])["results"][0]
            assert again["outcome"] == "accepted", again
        failed = client.post(
            "/mobile/v1/deliveries/attempts",
            headers=headers,
            json=_door(item.code, reason_code="addressee_absent"),
        )
        assert failed.status_code == 200, failed.text
        assert _state(db, item.id).delivery_attempts == attempt
    assert _events(db, item.id)[-1].upu_code == "EMH"
    # The citizen is told once, after the last attempt.
    assert (db.scalar(select(func.count()).select_from(OutboxMessage)) or 0) == sms_before + 1

    fourth = scans(client, headers, event("out_for_delivery", item.code))["results"][0]
    assert (fourth["outcome"], fourth["reason_code"]) == ("rejected", "attempts_exhausted")
    # A phone resending its last departure (its answer was lost) gets that answer again,
    # not a refusal for the attempts that have run out since.
    resent = scans(client, headers, departures[-1])["results"][0]
    assert (resent["outcome"], resent["replayed"]) == ("accepted", True)
    due = client.get("/mobile/v1/returns", headers=headers).json()
    assert [(d["code"], d["attempts"]) for d in due] == [(item.code, 3)]
    back = scans(
        client, headers, event("handover_offered", item.code, to_party=due[0]["return_to"])
    )
    assert back["results"][0]["outcome"] == "accepted"
    record_one(
        db,
        desk_actor_for(db, case),
        ScanCommand(kind="handover_confirmed", code=item.code, occurred_at=datetime.now(VN)),
    )
    assert _state(db, item.id).status == "returned_to_office"
    assert client.get("/mobile/v1/returns", headers=headers).json() == []
