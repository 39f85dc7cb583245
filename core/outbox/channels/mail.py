"""Email over SMTP: plain text with an HTML alternative, Vietnamese encoded as UTF-8.

``email.message.EmailMessage`` (the default policy) encodes a non-ASCII subject as RFC 2047
and bodies as UTF-8 quoted-printable/base64, so diacritics survive every relay. The
Message-ID is derived from the message's request id: the same message retried carries the
same Message-ID, which mail systems use to recognise a duplicate.
"""

from __future__ import annotations

import smtplib
import ssl
import sys
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Any

from core.outbox.channels.common import request_id, required
from core.outbox.service import PermanentFailure
from core.settings import Settings


def build_email(payload: Mapping[str, Any], settings: Settings) -> EmailMessage:
    to = required(payload, "email")
    text = required(payload, "text")
    subject = str(payload.get("subject") or "Thông báo hồ sơ")
    name, address = parseaddr(settings.email_from)
    if "@" not in address:
        raise PermanentFailure(f"HOSO_EMAIL_FROM is not an address: {settings.email_from!r}")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((name, address)) if name else address
    message["To"] = to
    domain = address.rsplit("@", 1)[1]
    key = request_id(payload)
    if key:
        message["Message-ID"] = f"<{key}@{domain}>"
    message.set_content(text)
    html = payload.get("html")
    if isinstance(html, str) and html:
        message.add_alternative(html, subtype="html")
    return message


def send_email(payload: Mapping[str, Any], settings: Settings) -> str | None:
    message = build_email(payload, settings)
    if settings.email_sender == "console":
        print(f"[email] to={message['To']} subject={payload.get('subject')!s} "
              f"text={payload.get('text')!s}", file=sys.stderr)  # fmt: skip
        return None
    if not settings.smtp_host:
        raise PermanentFailure("HOSO_SMTP_HOST is not set")
    # Certificates are always verified (hostname included): a relay with a private CA is
    # trusted through HOSO_SMTP_CA_FILE, never by switching verification off.
    cafile = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    context = ssl.create_default_context(cafile=cafile)
    smtp: smtplib.SMTP
    if settings.smtp_security == "ssl":
        smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port,
                                timeout=settings.smtp_timeout_s, context=context)  # fmt: skip
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        try:
            refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"the mail server refused {message['To']}: {exc}") from None
    if refused:
        raise PermanentFailure(f"the mail server refused {', '.join(refused)}")
    return str(message["Message-ID"]) if message["Message-ID"] else None
