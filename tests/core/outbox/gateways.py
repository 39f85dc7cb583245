"""Shared by the gateway tests: an SMTP server (aiosmtpd) the test starts, and helpers to
deliver one citizen message through the real worker."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import pytest
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


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by the openssl command (the test's own
    CA, as a province's internal mail relay would have)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = folder / "smtp.pem", folder / "smtp.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@contextmanager
def smtp_server(
    username: str = "hoso",
    password: str = "s3cret-pw",
    security: Literal["none", "starttls", "ssl"] = "none",
    certificate: tuple[Path, Path] | None = None,
) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 that requires AUTH LOGIN/PLAIN with these credentials:
    over plain TCP, after STARTTLS (required), or over implicit TLS, with ``certificate``."""
    box = Mailbox("127.0.0.1", _free_port())
    tls: dict[str, Any] = {"auth_require_tls": False}
    if security != "none":
        assert certificate is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(certificate[0]), str(certificate[1]))
        if security == "starttls":
            tls = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
        else:
            tls = {"ssl_context": context, "auth_require_tls": False}

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
        auth_required=True,
        **tls,
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
