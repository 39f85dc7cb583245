"""A message to a citizen, queued on the channel they chose (SMS, Zalo or email).

Every notice to a citizen goes through ``send_to_citizen``: it reads the citizen's choice
(``users.notify_channel``, set at booking and on /my), and writes one outbox row for that
channel in the caller's transaction. The payload carries everything any channel needs —
phone, email, text, the ZNS template's parameters — so a Zalo message that Zalo cannot
carry can be handed on to SMS by the worker. ``request_id`` is fixed here, once: every retry
sends the same id, and providers that dedupe on it deliver the message once.

One-time codes (``secret``) go by SMS, or by Zalo if the citizen chose it: never by email,
which is slower and often read on another device.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.identity.models import User
from core.outbox.models import OutboxMessage
from core.outbox.service import CHANNEL_TOPICS, enqueue

CHANNELS = ("sms", "zalo", "email")

# Email subjects per kind (Vietnamese, as the SMS texts are); the kinds are also the keys of
# HOSO_ZALO_TEMPLATES (docs/notifications.md lists each with its parameters).
SUBJECTS: dict[str, str] = {
    "booked": "Đã đặt lịch nhận hồ sơ",
    "rescheduled": "Lịch nhận hồ sơ đã đổi",
    "cancelled": "Đã hủy lịch nhận hồ sơ",
    "courier_assigned": "Bưu tá sẽ đến nhận hồ sơ",
    "window_missed": "Bưu tá không kịp đến trong khung giờ đã hẹn",
    "picked_up": "Bưu tá đã nhận hồ sơ",
    "handed_over": "Hồ sơ đã bàn giao cho bộ phận một cửa",
    "agency_code": "Bộ phận một cửa đã tiếp nhận hồ sơ",
    "returned_for_supplement": "Hồ sơ cần bổ sung",
    "result_ready": "Kết quả hồ sơ đã sẵn sàng",
    "delivery_planned": "Bưu tá sẽ phát kết quả hồ sơ",
    "out_for_delivery": "Kết quả hồ sơ đang được phát",
    "attempt_failed": "Phát kết quả không thành công",
    "attempts_exhausted": "Kết quả được trả lại bộ phận một cửa",
    "delivered": "Kết quả hồ sơ đã được phát",
    "otp_sign_in": "Mã đăng nhập",
    "otp_delivery": "Mã nhận kết quả",
}

_URL = re.compile(r"https?://[^\s<>\"]+")


def email_html(text: str) -> str:
    """The text as a small HTML body: escaped, links clickable, Vietnamese declared."""
    escaped = html.escape(text)
    linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8"></head>'
        f'<body><p style="font-family:sans-serif;font-size:16px">{linked}</p>'
        '<p style="font-family:sans-serif;color:#666;font-size:13px">'
        "Bưu điện — dịch vụ nhận và trả hồ sơ thủ tục hành chính tại nhà.</p></body></html>"
    )


# Deliberately plain: one @, a dot in the domain, no spaces; the mail server is the real test.
_EMAIL = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:.]{2,}$")
CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    "sms": ("Tin nhắn SMS", "SMS text message"),
    "zalo": ("Zalo", "Zalo"),
    "email": ("Thư điện tử (email)", "Email"),
}


@dataclass(frozen=True)
class ChannelChoice:
    channel: str
    email: str | None


def check_channel(channel: str, email: str) -> ChannelChoice | tuple[str, str, str]:
    """The citizen's choice, or (field, Vietnamese reason, English reason) if it is invalid."""
    address = email.strip()
    if channel not in CHANNELS:
        return ("notify_channel", "Chọn cách nhận thông báo: SMS, Zalo hoặc email.",
                "Choose how to be notified: SMS, Zalo or email.")  # fmt: skip
    if address and (len(address) > 254 or not _EMAIL.match(address)):
        return ("email", "Địa chỉ email không hợp lệ (ví dụ: ten@example.vn).",
                "Not a valid email address (e.g. name@example.vn).")  # fmt: skip
    if channel == "email" and not address:
        return ("email", "Nhập địa chỉ email để nhận thông báo qua email.",
                "Enter an email address to be notified by email.")  # fmt: skip
    return ChannelChoice(channel, address.lower() if address else None)


def choose_channel(citizen: User, channel: str, email: str) -> User:
    """Record the citizen's choice (booking form, /my); an invalid one changes nothing."""
    choice = check_channel(channel, email)
    if not isinstance(choice, ChannelChoice):
        field, _, english = choice
        raise InvalidInput(english, field=field)
    citizen.notify_channel = choice.channel
    citizen.email = choice.email
    return citizen


def citizen_for(session: Session, *, user_id: int | None, phone: str) -> User | None:
    if user_id is not None:
        return session.get(User, user_id)
    return session.scalars(
        select(User).where(User.phone == phone, User.role == "citizen").order_by(User.id).limit(1)
    ).first()


def channel_for(citizen: User | None, *, secret: bool) -> str:
    chosen = citizen.notify_channel if citizen is not None else "sms"
    if secret:
        return "zalo" if chosen == "zalo" else "sms"
    if chosen == "email" and not (citizen is not None and citizen.email):
        return "sms"
    return chosen


def send_to_citizen(
    session: Session,
    *,
    phone: str,
    kind: str,
    text: str,
    params: Mapping[str, Any] | None = None,
    user_id: int | None = None,
    secret: bool = False,
) -> OutboxMessage:
    """Queue ``text`` for the citizen with this phone (or user id) on their channel."""
    citizen = citizen_for(session, user_id=user_id, phone=phone)
    channel = channel_for(citizen, secret=secret)
    payload: dict[str, Any] = {
        "phone": phone,
        "text": text,
        "kind": kind,
        "request_id": uuid.uuid4().hex,
        "params": {key: str(value) for key, value in (params or {}).items()},
    }
    if secret:
        payload["secret"] = True
    if channel == "email" and citizen is not None and citizen.email:
        payload["email"] = citizen.email
        payload["subject"] = SUBJECTS.get(kind, "Thông báo hồ sơ")
        payload["html"] = email_html(text)
    return enqueue(session, CHANNEL_TOPICS[channel], payload, kind=kind)
