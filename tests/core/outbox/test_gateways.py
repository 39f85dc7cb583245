"""Each gateway against a real local receiver the test starts: an HTTP server standing in for
the brandname SMS provider and for Zalo ZNS, and an aiosmtpd SMTP server."""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.outbox.citizen import send_to_citizen
from core.outbox.senders import gateway_endpoints
from core.settings import Settings
from tests.core.outbox.gateways import (
    LONG_AGO,
    deliver,
    message,
    self_signed_certificate,
    smtp_server,
)
from tests.factories import make_user
from tests.receiver import Reply, receiver

TEXT = 'Bưu tá Nguyễn Văn Bình sẽ đến nhận hồ sơ #12 lúc 08:00–10:00 ngày 04/12/2026. "Cảm ơn"'
# eSMS's request and answer shape (a common Vietnamese brandname SMS provider).
# aiosmtpd warns (per connection) that AUTH without TLS is unsafe: true, and beside the point
# for a test server on 127.0.0.1 with no certificate.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
ESMS_TEMPLATE = (
    '{"Phone": "{phone}", "Content": "{text}", "Brandname": "{brandname}", "SmsType": "2", '
    '"RequestId": "{request_id}", "SecretKey": "s3cret"}'
)


def _sms_settings(settings: Settings, url: str, **extra: object) -> Settings:
    return settings.model_copy(update={
        "sms_sender": "http", "sms_http_url": url, "sms_http_auth": "field",
        "sms_http_key_name": "ApiKey", "sms_http_token": "key-123",
        "sms_http_body_template": ESMS_TEMPLATE, "sms_brandname": "BUUDIEN_BN",
        "sms_http_success_path": "CodeResult", "sms_http_success_values": "100",
        "sms_http_message_id_path": "SMSID", "sms_http_error_path": "ErrorMessage",
        "outbox_max_attempts": 2, **extra,
    })  # fmt: skip


def _queue(
    factory: sessionmaker[Session], *, phone: str = "0912345678", kind: str = "courier_assigned",
    user_id: int | None = None, text: str = TEXT, secret: bool = False,
) -> tuple[int, str]:  # fmt: skip
    with transaction(factory) as session:
        queued = send_to_citizen(session, phone=phone, kind=kind, text=text, user_id=user_id,
                                 params={"case_id": 12, "courier_name": "Nguyễn Văn Bình"},
                                 secret=secret)  # fmt: skip
        queued.available_at = LONG_AGO
        return queued.id, str(queued.payload["request_id"])


def _citizen(factory: sessionmaker[Session], **values: object) -> int:
    with transaction(factory) as session:
        user = make_user(session, "citizen", password=None, phone="0987654321")
        for name, value in values.items():
            setattr(user, name, value)
        session.flush()
        return user.id


def test_sms_provider_gets_its_own_request_shape_and_its_message_id_is_kept(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    answer = Reply.json({"CodeResult": "100", "SMSID": "esms-7731", "CountRegenerate": 0})
    with receiver([answer], path="/MainService.svc/json/SendMultipleMessage_V4_post_json/") as sms:
        configured = _sms_settings(settings, sms.url)
        message_id, request_id = _queue(committing)
        deliver(committing, configured, now=LONG_AGO + timedelta(days=1))
    mine = [r for r in sms.requests if r.json().get("RequestId") == request_id]
    assert len(mine) == 1
    body = mine[0].json()
    assert body["Phone"] == "84912345678"
    assert body["Content"] == TEXT  # diacritics, the en dash and the quotes intact
    assert body["Brandname"] == "BUUDIEN_BN"
    assert body["ApiKey"] == "key-123"
    assert mine[0].headers["Content-Type"] == "application/json"
    sent = message(committing, message_id)
    assert (sent.status, sent.channel, sent.kind) == ("delivered", "sms", "courier_assigned")
    assert sent.provider_message_id == "esms-7731"


def test_provider_error_in_a_200_answer_is_retried_with_the_same_request_id_then_dead(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    refusal = Reply.json({"CodeResult": "101", "ErrorMessage": "Brandname chưa được đăng ký"})
    with receiver([refusal]) as sms:
        configured = _sms_settings(settings, sms.url)
        message_id, request_id = _queue(committing)
        now = LONG_AGO + timedelta(days=1)
        deliver(committing, configured, now=now)
        first = message(committing, message_id)
        assert (first.status, first.attempts) == ("pending", 1)
        assert first.last_error is not None and "Brandname chưa được đăng ký" in first.last_error
        deliver(committing, configured, now=first.available_at)
    dead = message(committing, message_id)
    assert dead.status == "dead"
    assert dead.attempts == 2
    assert dead.last_error is not None and "CodeResult='101'" in dead.last_error
    ids = [r.json()["RequestId"] for r in sms.requests if r.json().get("RequestId") == request_id]
    assert ids == [request_id, request_id]


def test_a_provider_that_does_not_answer_in_time_is_retried(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    slow = Reply.json({"CodeResult": "100"}, delay_s=2.0)
    with receiver([slow]) as sms:
        configured = _sms_settings(settings, sms.url, sms_http_timeout_s=0.3)
        message_id, _ = _queue(committing)
        deliver(committing, configured, now=LONG_AGO + timedelta(days=1))
    waiting = message(committing, message_id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.last_error is not None and "Timeout" in waiting.last_error
    assert waiting.available_at > LONG_AGO + timedelta(days=1)


def test_basic_auth_form_body_and_bearer_get_query(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    template = '{"to": "{phone}", "msg": "{text}", "from": "{brandname}", "ref": "{request_id}"}'
    with receiver([Reply.json({"status": {"code": 0}, "id": "m-1"})]) as sms:
        form = _sms_settings(settings, sms.url, sms_http_auth="basic", sms_http_username="hoso",
                             sms_http_password="pw", sms_http_body_format="form",
                             sms_http_body_template=template, sms_phone_format="0",
                             sms_http_success_path="status.code", sms_http_success_values="0",
                             sms_http_message_id_path="id")  # fmt: skip
        form_id, form_ref = _queue(committing)
        deliver(committing, form, now=LONG_AGO + timedelta(days=1))
        bearer = form.model_copy(
            update={
                "sms_http_auth": "bearer",
                "sms_http_token": "tok",
                "sms_http_method": "GET",
                "sms_phone_format": "+84",
            }
        )
        get_id, get_ref = _queue(committing)
        deliver(committing, bearer, now=LONG_AGO + timedelta(days=1))
    posted = next(r for r in sms.requests if r.method == "POST" and form_ref.encode() in r.body)
    fields = parse_qs(posted.body.decode())
    assert fields["to"] == ["0912345678"] and fields["msg"] == [TEXT]
    assert posted.headers["Authorization"] == "Basic " + base64.b64encode(b"hoso:pw").decode()
    got = next(r for r in sms.requests if r.method == "GET" and get_ref in r.path)
    query = parse_qs(urlsplit(got.path).query)
    assert query["to"] == ["+84912345678"] and query["msg"] == [TEXT]
    assert got.headers["Authorization"] == "Bearer tok"
    assert message(committing, form_id).provider_message_id == "m-1"
    assert message(committing, get_id).status == "delivered"


def test_email_over_smtp_with_login_arrives_in_vietnamese_as_text_and_html(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    user_id = _citizen(committing, notify_channel="email", email="hoa.tran@example.vn")
    with smtp_server() as mail:
        configured = settings.model_copy(update={
            "email_sender": "smtp", "smtp_host": mail.host, "smtp_port": mail.port,
            "smtp_security": "none", "smtp_username": "hoso", "smtp_password": "s3cret-pw",
            "email_from": "Bưu điện tỉnh Bắc Ninh <thongbao@buudien.example.vn>",
        })  # fmt: skip
        message_id, request_id = _queue(committing, user_id=user_id, phone="0987654321")
        deliver(committing, configured, now=LONG_AGO + timedelta(days=1))
        received = mail.for_id(request_id)
    assert mail.logins[-1] == ("hoso", "s3cret-pw")
    assert len(received) == 1
    email = received[0]
    assert email["To"] == "hoa.tran@example.vn"
    assert email["Subject"] == "Bưu tá sẽ đến nhận hồ sơ"
    assert "Bưu điện tỉnh Bắc Ninh" in str(email["From"])
    plain = email.get_body(("plain",))
    html = email.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().strip() == TEXT
    assert "Nguyễn Văn Bình" in html.get_content() and "&quot;Cảm ơn&quot;" in html.get_content()
    sent = message(committing, message_id)
    assert (sent.status, sent.channel) == ("delivered", "email")
    assert sent.provider_message_id == f"<{request_id}@buudien.example.vn>"


def test_zalo_zns_template_message_then_sms_when_zalo_refuses(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    user_id = _citizen(committing, notify_channel="zalo")
    accepted = Reply.json({"error": 0, "message": "Success", "data": {"msg_id": "zns-42"}})
    no_zalo = Reply.json({"error": -118, "message": "Zalo account not existed"})
    with (
        receiver([accepted, no_zalo], path="/message/template") as zalo,
        receiver([Reply.json({"CodeResult": "100", "SMSID": "esms-1"})]) as sms,
    ):
        configured = _sms_settings(settings, sms.url).model_copy(update={
            "zalo_sender": "zns", "zalo_zns_url": zalo.url, "zalo_access_token": "zalo-token",
            "zalo_templates": {"courier_assigned": "231456"},
        })  # fmt: skip
        first_id, first_ref = _queue(committing, user_id=user_id, phone="0987654321")
        deliver(committing, configured, now=LONG_AGO + timedelta(days=1))
        second_id, second_ref = _queue(committing, user_id=user_id, phone="0987654321")
        deliver(committing, configured, now=LONG_AGO + timedelta(days=1))
    calls = [r for r in zalo.requests if r.json()["tracking_id"] in (first_ref, second_ref)]
    assert len(calls) == 2
    assert calls[0].headers["access_token"] == "zalo-token"
    assert calls[0].json() == {
        "phone": "84987654321", "template_id": "231456", "tracking_id": first_ref,
        "template_data": {"case_id": "12", "courier_name": "Nguyễn Văn Bình"},
    }  # fmt: skip
    first = message(committing, first_id)
    assert (first.status, first.channel, first.provider_message_id) == (
        "delivered",
        "zalo",
        "zns-42",
    )
    refused = message(committing, second_id)
    assert refused.status == "rerouted"
    assert refused.last_error is not None and "-118" in refused.last_error
    assert refused.rerouted_to_id is not None
    by_sms = message(committing, refused.rerouted_to_id)
    assert (by_sms.status, by_sms.channel, by_sms.provider_message_id) == (
        "delivered",
        "sms",
        "esms-1",
    )
    assert [r.json()["Content"] for r in sms.requests if r.json()["RequestId"] == second_ref] == [
        TEXT
    ]


def test_zalo_not_configured_goes_by_sms_and_codes_never_go_by_email(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    zalo_user = _citizen(committing, notify_channel="zalo")
    message_id, _ = _queue(committing, user_id=zalo_user, phone="0987654321")
    deliver(committing, settings, now=LONG_AGO + timedelta(days=1))  # console SMS, Zalo off
    assert message(committing, message_id).status == "rerouted"
    email_user = _citizen(committing, notify_channel="email", email="a@example.vn")
    code_id, _ = _queue(committing, user_id=email_user, kind="otp_sign_in", secret=True,
                        text="Mã đăng nhập của bạn là 740219")  # fmt: skip
    code = message(committing, code_id)
    assert code.channel == "sms"
    deliver(committing, settings, now=LONG_AGO + timedelta(days=1))
    assert "740219" not in str(message(committing, code_id).payload)


def test_gateway_endpoints_list_only_what_is_configured(settings: Settings) -> None:
    assert gateway_endpoints(settings) == []
    configured = _sms_settings(settings, "https://rest.esms.vn/MainService.svc/json/x").model_copy(
        update={"email_sender": "smtp", "smtp_host": "smtp.example.vn", "smtp_port": 465,
                "smtp_security": "ssl", "zalo_sender": "zns", "zalo_access_token": "t"}
    )  # fmt: skip
    found = {(e.channel, e.setting, e.host, e.port) for e in gateway_endpoints(configured)}
    assert found == {
        ("sms", "HOSO_SMS_HTTP_URL", "rest.esms.vn", 443),
        ("email", "HOSO_SMTP_HOST", "smtp.example.vn", 465),
        ("zalo", "HOSO_ZALO_ZNS_URL", "business.openapi.zalo.me", 443),
    }


def test_the_database_refuses_an_email_choice_without_an_address(db: Session) -> None:
    user = make_user(db, "citizen", password=None, phone="0987654321")
    user.notify_channel = "email"
    with pytest.raises(IntegrityError, match="ck_users_email_channel"), db.begin_nested():
        db.flush()


CRASHING_WORKER = """
import sys
from datetime import datetime
from sqlalchemy import create_engine
from core.db import make_sessionmaker
from core.outbox.senders import default_handlers
from core.outbox.service import deliver_due
from core.settings import Settings

settings = Settings.model_validate_json(sys.stdin.read())
factory = make_sessionmaker(create_engine(sys.argv[1]))
deliver_due(factory, settings, default_handlers(), now=datetime.fromisoformat(sys.argv[2]), limit=1)
"""


def test_a_worker_killed_between_send_and_mark_resends_with_the_same_request_id(
    committing: sessionmaker[Session], settings: Settings, database_url: str
) -> None:
    """At-least-once, made once by the provider: the worker holds the row lock while it
    sends, so a worker killed after the provider got the message (before the row says
    "delivered") leaves the message pending, with no attempt counted. The next worker sends
    it again with the same request id, which the provider uses to drop the duplicate."""
    first_answer_never_arrives = Reply.json({"CodeResult": "100", "SMSID": "x"}, delay_s=30)
    with receiver(
        [first_answer_never_arrives, Reply.json({"CodeResult": "100", "SMSID": "esms-9"})]
    ) as sms:
        configured = _sms_settings(settings, sms.url, sms_http_timeout_s=60.0)
        message_id, request_id = _queue(committing)
        now = LONG_AGO + timedelta(days=1)
        worker = subprocess.Popen(
            [sys.executable, "-c", CRASHING_WORKER, database_url, now.isoformat()],
            stdin=subprocess.PIPE, cwd=Path(__file__).resolve().parents[3],
        )  # fmt: skip
        assert worker.stdin is not None
        worker.stdin.write(configured.model_dump_json().encode())
        worker.stdin.close()
        deadline = time.monotonic() + 30
        while not any(request_id.encode() in r.body for r in sms.requests):
            assert time.monotonic() < deadline, "the worker never called the provider"
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        # PostgreSQL ends the dead worker's transaction when its connection drops, releasing
        # the row lock; until then SKIP LOCKED passes the row by.
        while message(committing, message_id).status == "pending":
            assert time.monotonic() < deadline, "the message never became deliverable again"
            deliver(committing, configured, now=now)
            time.sleep(0.05)
    sent = message(committing, message_id)
    assert (sent.status, sent.attempts, sent.provider_message_id) == ("delivered", 1, "esms-9")
    ids = [r.json()["RequestId"] for r in sms.requests if request_id.encode() in r.body]
    assert ids == [request_id, request_id]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_over_starttls_and_implicit_tls_verifies_the_relays_certificate(
    committing: sessionmaker[Session],
    settings: Settings,
    tmp_path: Path,
    security: Literal["starttls", "ssl"],
) -> None:
    certificate = self_signed_certificate(tmp_path)
    user_id = _citizen(committing, notify_channel="email", email="hoa.tran@example.vn")
    with smtp_server(security=security, certificate=certificate) as mail:
        configured = settings.model_copy(update={
            "email_sender": "smtp", "smtp_host": mail.host, "smtp_port": mail.port,
            "smtp_security": security, "smtp_username": "hoso", "smtp_password": "s3cret-pw",
            "outbox_max_attempts": 2,
        })  # fmt: skip
        untrusted_id, _ = _queue(committing, user_id=user_id, phone="0987654321")
        deliver(committing, configured, now=LONG_AGO + timedelta(days=1))
        untrusted = message(committing, untrusted_id)
        trusted = configured.model_copy(update={"smtp_ca_file": certificate[0]})
        deliver(committing, trusted, now=untrusted.available_at)
        received = mail.for_id(str(untrusted.payload["request_id"]))
    # Without the CA the certificate is refused (and retried); with it, delivered once.
    assert untrusted.last_error is not None and "CERTIFICATE_VERIFY_FAILED" in untrusted.last_error
    assert message(committing, untrusted_id).status == "delivered"
    assert len(received) == 1 and mail.logins[-1] == ("hoso", "s3cret-pw")
    plain = received[0].get_body(("plain",))
    assert plain is not None and plain.get_content().strip() == TEXT
