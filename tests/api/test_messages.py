"""The staff's JSON view of citizen messages: by channel and status, and retry of dead ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from core.identity.service import issue_token
from core.outbox.citizen import send_to_citizen
from core.outbox.models import OutboxMessage
from core.outbox.senders import default_handlers
from core.outbox.service import deliver_due
from core.settings import Settings
from tests.factories import make_user
from tests.receiver import Reply, receiver


def _bearer(db: Session, settings: Settings, role: str) -> dict[str, str]:
    token = issue_token(db, settings, make_user(db, role), now=datetime.now(UTC)).token
    return {"Authorization": f"Bearer {token}"}


def test_staff_list_messages_by_channel_and_status_and_retry_a_dead_one(
    client: TestClient, db: Session, settings: Settings
) -> None:
    dead = send_to_citizen(db, phone="0911000111", kind="delivered", text="Đã phát kết quả.")
    sent = send_to_citizen(db, phone="0911000222", kind="booked", text="Đã đặt lịch.")
    code = send_to_citizen(db, phone="0911000333", kind="otp_sign_in", text="Mã 424242",
                           secret=True)  # fmt: skip
    for queued in (dead, sent, code):
        queued.available_at = datetime(2000, 1, 1, tzinfo=UTC)
    db.flush()
    # The real worker on the test's connection: the provider refuses the first SMS for good.
    refusal = Reply.json({"CodeResult": "104", "ErrorMessage": "Số điện thoại không hợp lệ"})
    with receiver([refusal, Reply.json({"CodeResult": "100", "SMSID": "ok-1"}), refusal]) as sms:
        configured = settings.model_copy(update={
            "sms_sender": "http", "sms_http_url": sms.url, "outbox_max_attempts": 1,
            "sms_http_success_path": "CodeResult", "sms_http_success_values": "100",
            "sms_http_message_id_path": "SMSID", "sms_http_error_path": "ErrorMessage",
        })  # fmt: skip
        factory = sessionmaker(bind=db.connection(), join_transaction_mode="create_savepoint",
                               expire_on_commit=False)  # fmt: skip
        for _ in (dead, sent, code):
            # One at a time, in this order, so each meets its scripted answer.
            deliver_due(factory, configured, {"sms.send": default_handlers()["sms.send"]},
                        now=datetime(2000, 1, 2, tzinfo=UTC), limit=1)  # fmt: skip
    for queued in (dead, sent, code):
        db.refresh(queued)
    assert [dead.status, sent.status, code.status] == ["dead", "delivered", "dead"]

    admin = _bearer(db, settings, "admin")
    dispatcher = _bearer(db, settings, "dispatcher")
    desk = _bearer(db, settings, "desk_officer")
    db.commit()

    assert client.get("/api/v1/admin/messages").status_code == 401
    assert client.get("/api/v1/admin/messages", headers=desk).status_code == 403
    listed = client.get("/api/v1/admin/messages?channel=sms&status=dead&limit=500",
                        headers=dispatcher).json()  # fmt: skip
    mine = {m["id"]: m for m in listed if m["id"] in (dead.id, sent.id, code.id)}
    assert set(mine) == {dead.id, code.id}
    assert (
        mine[dead.id]["reason"] == "ProviderRefused: CodeResult='104': Số điện thoại không hợp lệ"
    )
    assert mine[dead.id]["recipient"] == "09******11"
    assert mine[dead.id]["kind"] == "delivered" and mine[dead.id]["status"] == "dead"
    sent_rows = client.get("/api/v1/admin/messages?status=sent&limit=500", headers=admin).json()
    assert any(m["id"] == sent.id and m["provider_message_id"] == "ok-1" for m in sent_rows)

    bad = client.get("/api/v1/admin/messages?status=lost", headers=admin)
    assert bad.status_code == 422 and bad.json()["field"] == "status"
    assert client.post("/api/v1/admin/messages/999999999/retry", headers=admin).status_code == 404
    not_dead = client.post(f"/api/v1/admin/messages/{sent.id}/retry", headers=admin)
    assert not_dead.status_code == 422 and not_dead.json()["field"] == "message_id"
    a_code = client.post(f"/api/v1/admin/messages/{code.id}/retry", headers=admin)
    assert a_code.status_code == 422
    assert client.post(f"/api/v1/admin/messages/{dead.id}/retry", headers=desk).status_code == 403

    retried = client.post(f"/api/v1/admin/messages/{dead.id}/retry", headers=dispatcher)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("queued", 0)
    db.expire_all()
    again = db.get(OutboxMessage, dead.id)
    assert again is not None and again.status == "pending"
    assert again.payload["request_id"] == dead.payload["request_id"]
    assert again.available_at <= datetime.now(UTC) + timedelta(seconds=5)
