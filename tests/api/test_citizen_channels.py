"""Citizens choose how they hear about their cases, and the worker delivers each booking's
messages on that channel, to real local receivers (SMS provider, Zalo ZNS, SMTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.outbox.models import OutboxMessage
from core.outbox.senders import default_handlers
from core.outbox.service import deliver_due
from core.settings import Settings
from edge.deps import get_now
from tests.api.citizen_helpers import at_now, fresh_phone, sign_in
from tests.core.booking.helpers import ADDRESS, CCCD_FEMALE_1990, FIRST_WINDOW, make_area
from tests.core.outbox.gateways import smtp_server
from tests.receiver import Reply, receiver

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def _booking(db: Session, **overrides: Any) -> dict[str, Any]:
    area = make_area(db)
    body: dict[str, Any] = {
        "service_option": "both", "procedure_id": area.procedure.id, "address": ADDRESS,
        "office_id": area.office.id, "pickup_window_start": FIRST_WINDOW.isoformat(),
        "contact_name": "Trần Thị Hoa", "contact_phone": "0912345678", "cccd": CCCD_FEMALE_1990,
        "citizen_sex": "female", "citizen_birth_year": 1990, "payment_method": "cash",
    }  # fmt: skip
    body.update(overrides)
    return body


def _worker_pass(db: Session, settings: Settings) -> None:
    """The real worker, on the test's connection (its commits stay inside the test)."""
    factory = sessionmaker(bind=db.connection(), join_transaction_mode="create_savepoint",
                           expire_on_commit=False)  # fmt: skip
    deliver_due(factory, settings, default_handlers(),
                now=datetime.now(UTC) + timedelta(minutes=1), limit=1000)  # fmt: skip


def _booked_message(db: Session, case_id: int) -> OutboxMessage:
    found = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "booked",
               OutboxMessage.payload["params"]["case_id"].astext == str(case_id))
        .order_by(OutboxMessage.id)
    ).all()  # fmt: skip
    assert len(found) == 1
    db.refresh(found[0])
    return found[0]


@pytest.mark.parametrize("channel", ["sms", "zalo", "email"])
def test_a_booking_reaches_the_citizen_on_the_chosen_channel(
    client: TestClient, db: Session, settings: Settings, channel: str
) -> None:
    at_now(client)
    sign_in(client, db)
    email = "tran.thi.hoa@example.vn" if channel == "email" else ""
    response = client.post("/api/v1/bookings",
                           json=_booking(db, notify_channel=channel, email=email))  # fmt: skip
    assert response.status_code == 201, response.text
    case_id = response.json()["case_id"]
    assert client.get("/api/v1/my/channel").json() == {
        "notify_channel": channel, "email": email or None,
    }  # fmt: skip
    sms_ok = Reply.json({"CodeResult": "100", "SMSID": "sms-1"})
    zns_ok = Reply.json({"error": 0, "message": "Success", "data": {"msg_id": "zns-1"}})
    with receiver([sms_ok]) as sms, receiver([zns_ok]) as zalo, smtp_server() as mail:
        configured = settings.model_copy(update={
            "sms_sender": "http", "sms_http_url": sms.url,
            "sms_http_body_template": '{"to": "{phone}", "text": "{text}", "id": "{request_id}"}',
            "sms_http_success_path": "CodeResult", "sms_http_success_values": "100",
            "sms_http_message_id_path": "SMSID",
            "zalo_sender": "zns", "zalo_zns_url": zalo.url, "zalo_access_token": "t",
            "zalo_templates": {"booked": "300001"},
            "email_sender": "smtp", "smtp_host": mail.host, "smtp_port": mail.port,
            "smtp_security": "none", "smtp_username": "hoso", "smtp_password": "s3cret-pw",
        })  # fmt: skip
        _worker_pass(db, configured)
        message = _booked_message(db, case_id)
        request_id = message.payload["request_id"]
        to_sms = [r.json() for r in sms.requests if r.json()["id"] == request_id]
        to_zalo = [r.json() for r in zalo.requests if r.json()["tracking_id"] == request_id]
        to_mail = mail.for_id(request_id)
    assert (message.status, message.channel) == ("delivered", channel)
    sent = f"Đã đặt lịch hồ sơ #{case_id}"
    assert [len(to_sms), len(to_zalo), len(to_mail)] == [
        int(channel == "sms"), int(channel == "zalo"), int(channel == "email"),
    ]  # fmt: skip
    if channel == "sms":
        assert to_sms[0]["to"] == "84912345678" and to_sms[0]["text"].startswith(sent)
    elif channel == "zalo":
        assert to_zalo[0]["template_id"] == "300001"
        assert to_zalo[0]["template_data"]["case_id"] == str(case_id)
        assert to_zalo[0]["template_data"]["window"] == "08:00–10:00"
    else:
        body = to_mail[0].get_body(("plain",))
        assert body is not None and body.get_content().startswith(sent)
        assert to_mail[0]["Subject"] == "Đã đặt lịch nhận hồ sơ"
        assert to_mail[0]["To"] == "tran.thi.hoa@example.vn"


def test_changing_the_channel_via_the_api_and_the_sign_in_code_follows_zalo(
    client: TestClient, db: Session
) -> None:
    phone = fresh_phone()
    sign_in(client, db, phone)
    refused = client.put("/api/v1/my/channel",
                         json={"notify_channel": "email", "email": "not an address"})  # fmt: skip
    assert refused.status_code == 422 and refused.json()["field"] == "email"
    assert client.get("/api/v1/my/channel").json()["notify_channel"] == "sms"
    changed = client.put("/api/v1/my/channel", json={"notify_channel": "zalo"})
    assert changed.json() == {"notify_channel": "zalo", "email": None}
    # Two minutes later (past the one-a-minute resend limit), the next sign-in code:
    later = datetime.now(UTC) + timedelta(minutes=2)
    client.app.dependency_overrides[get_now] = lambda: later  # type: ignore[attr-defined]
    assert client.post("/api/v1/citizen/sign-in/code", json={"phone": phone}).status_code == 202
    codes = db.scalars(
        select(OutboxMessage.channel)
        .where(OutboxMessage.kind == "otp_sign_in", OutboxMessage.payload["phone"].astext == phone)
        .order_by(OutboxMessage.id)
    ).all()
    assert codes == ["sms", "zalo"]


def test_a_booking_that_does_not_say_keeps_the_citizens_choice(
    client: TestClient, db: Session
) -> None:
    at_now(client)
    sign_in(client, db)
    client.put("/api/v1/my/channel", json={"notify_channel": "email", "email": "a.b@example.vn"})
    response = client.post("/api/v1/bookings", json=_booking(db))
    assert response.status_code == 201, response.text
    assert client.get("/api/v1/my/channel").json() == {
        "notify_channel": "email", "email": "a.b@example.vn",
    }  # fmt: skip
    booked = _booked_message(db, response.json()["case_id"])
    assert (booked.channel, booked.payload["email"]) == ("email", "a.b@example.vn")
