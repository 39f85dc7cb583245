"""The staff's message status page in a real browser: a dead SMS is listed with the
provider's reason, and "Retry" queues it again; the worker then delivers it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.settings import Settings
from tests.core.outbox.gateways import deliver, message
from tests.factories import make_user
from tests.receiver import Reply, receiver

pytestmark = pytest.mark.browser
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "vi-VN",
           "timezone_id": "Asia/Ho_Chi_Minh"}  # fmt: skip


@pytest.fixture
def desktop(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    yield page
    context.close()


def test_admin_sees_a_dead_sms_with_its_reason_and_retries_it(
    live_server: str,
    desktop: Any,
    committing: sessionmaker[Session],
    settings: Settings,
    screenshot: Any,
) -> None:
    from core.outbox.citizen import send_to_citizen

    with transaction(committing) as session:
        admin = make_user(session, "admin").username
        queued = send_to_citizen(session, phone="0911222333", kind="result_ready",
                                 text="Kết quả hồ sơ #5 đã sẵn sàng.")  # fmt: skip
        queued.available_at = datetime(2000, 1, 1, tzinfo=UTC)
        message_id = queued.id
    refusal = Reply.json({"CodeResult": "99", "ErrorMessage": "Tài khoản hết tiền"})
    ok = Reply.json({"CodeResult": "100", "SMSID": "esms-retried"})
    with receiver([refusal, ok]) as sms:
        configured = settings.model_copy(update={
            "sms_sender": "http", "sms_http_url": sms.url, "outbox_max_attempts": 1,
            "sms_http_success_path": "CodeResult", "sms_http_success_values": "100",
            "sms_http_message_id_path": "SMSID", "sms_http_error_path": "ErrorMessage",
        })  # fmt: skip
        deliver(committing, configured, now=datetime(2000, 1, 2, tzinfo=UTC))
        assert message(committing, message_id).status == "dead"

        page = desktop
        page.goto(f"{live_server}/login?next=/staff/messages?status=dead%26channel=sms")
        page.fill("#username", admin)
        page.fill("#password", "correct horse battery")
        page.click("button[type=submit]")
        row = page.locator(f"#message-{message_id}")
        row.wait_for()
        assert "Đã ngừng gửi" in row.locator(".state").inner_text()
        assert "Tài khoản hết tiền" in row.locator(".reason").inner_text()
        assert "09******33" in row.inner_text()
        screenshot(page, "staff_messages_dead")
        row.get_by_role("button", name="Gửi lại").click()
        page.locator("#retried").wait_for()
        assert page.locator(f"#message-{message_id}").count() == 0  # no longer dead
        assert message(committing, message_id).status == "pending"
        deliver(committing, configured, now=datetime.now(UTC) + timedelta(minutes=1))
    sent = message(committing, message_id)
    assert (sent.status, sent.provider_message_id) == ("delivered", "esms-retried")
    page.goto(f"{live_server}/staff/messages?channel=sms&status=sent")
    assert "Đã gửi" in page.locator(f"#message-{message_id} .state").inner_text()
    screenshot(page, "staff_messages_sent")
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Tin nhắn gửi công dân").click()
    page.wait_for_url(f"{live_server}/staff/messages")
    assert page.locator("h1").inner_text() == "Tin nhắn gửi công dân"
