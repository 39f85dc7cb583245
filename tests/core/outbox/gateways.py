"""Shared by the gateway tests: an SMTP server (aiosmtpd) the test starts, and helpers to
deliver one citizen message through the real worker."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.outbox.models import OutboxMessage
from core.outbox.senders import default_handlers
from core.outbox.service import deliver_due
from core.settings import Settings

# Delivered first by the worker (its queue is ordered by available_at), whatever other
# tests left pending in the shared test database.
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def for_id(self, message_id: str) -> list[EmailMessage]:
        return [m for m in self.messages if message_id in str(m["Message-ID"])]


class _Collect:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.box.messages.append(parsed)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server(username: str = "hoso", password: str = "s3cret-pw") -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 that requires AUTH LOGIN/PLAIN with these credentials
    (over plain TCP: the test has no certificate, so no STARTTLS)."""
    box = Mailbox("127.0.0.1", _free_port())

    def authenticate(
        server: SMTP, session: SmtpSession, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            login = (data.login.decode(), data.password.decode())
            box.logins.append(login)
            return AuthResult(success=login == (username, password))
        return AuthResult(success=False)

    controller = Controller(
        _Collect(box),
        hostname=box.host,
        port=box.port,
        authenticator=authenticate,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def deliver(factory: sessionmaker[Session], settings: Settings, *, now: datetime) -> int:
    return deliver_due(factory, settings, default_handlers(), now=now, limit=500)


def message(factory: sessionmaker[Session], message_id: int) -> OutboxMessage:
    with transaction(factory) as session:
        found = session.get(OutboxMessage, message_id)
        assert found is not None
        session.expunge(found)
        return found
