"""Enqueue side effects in the caller's transaction; deliver them from a worker.

Why not procrastinate: its jobs are deferred through its own connector, outside the
SQLAlchemy transaction that records the custody event, so a crash between the two could
lose a notification or send one for a change that rolled back. The outbox row here is
written by the same transaction as the change, and the worker below is the few dozen lines
that ``FOR UPDATE SKIP LOCKED``, retries with backoff and dead-lettering need.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, sessionmaker

from core.db import transaction
from core.errors import NotFound
from core.outbox.models import OutboxMessage
from core.settings import Settings

log = logging.getLogger(__name__)

# A handler delivers one payload; it returns the gateway's id for the message, if any.
Handler = Callable[[Mapping[str, Any], Settings], str | None]


@dataclass(frozen=True)
class InTransaction:
    """A handler whose work is a change to our own database (the live dispatch plan).

    ``run(session, payload, settings, now)`` is called inside the message's own transaction,
    under a savepoint: the change and the message's "delivered" mark commit together, so the
    change happens exactly once; if it raises, the savepoint is rolled back and the message is
    retried like any other.
    """

    run: Callable[[Session, Mapping[str, Any], Settings, datetime], str | None]


# Citizen messages: the topic each channel is delivered from.
CHANNEL_TOPICS = {"sms": "sms.send", "email": "email.send", "zalo": "zalo.send"}
TOPIC_CHANNELS = {topic: channel for channel, topic in CHANNEL_TOPICS.items()}
# Where a message may carry a one-time code: blanked once it is sent or given up on.
REDACTED_FIELDS = ("text", "html", "params")


class PermanentFailure(Exception):
    """A delivery that can never succeed (bad payload, unknown topic): dead-letter at once."""


class Reroute(Exception):  # noqa: N818 - an instruction, not an error
    """This channel will not carry the message (no Zalo account, no template): send it as
    ``topic`` with ``payload`` instead. The original is kept, marked rerouted."""

    def __init__(self, reason: str, topic: str, payload: Mapping[str, Any]) -> None:
        super().__init__(reason)
        self.topic = topic
        self.payload = dict(payload)


def enqueue(
    session: Session,
    topic: str,
    payload: Mapping[str, Any],
    *,
    available_at: datetime | None = None,
    kind: str | None = None,
) -> OutboxMessage:
    message = OutboxMessage(
        topic=topic, payload=dict(payload), channel=TOPIC_CHANNELS.get(topic), kind=kind
    )
    if available_at is not None:
        message.available_at = available_at
    session.add(message)
    session.flush()
    return message


def backoff(settings: Settings, attempts: int) -> timedelta:
    seconds = settings.outbox_backoff_base_seconds * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.outbox_backoff_max_seconds))


def deliver_due(
    factory: sessionmaker[Session],
    settings: Settings,
    handlers: Mapping[str, Handler | InTransaction],
    *,
    now: datetime,
    limit: int = 50,
    topics: Collection[str] | None = None,
    other_than: Collection[str] = (),
) -> int:
    """Deliver up to ``limit`` due messages. Returns how many were attempted.

    Each message is locked with SKIP LOCKED, so several workers share the queue without
    sending anything twice; the lock is held while delivering so a crashed worker's message
    simply becomes due again when its transaction dies.

    ``topics`` / ``other_than`` split the queue into lanes: a job of seconds (a dossier's
    text layer) runs in a lane of its own, so an SMS or a live-plan update never waits
    behind it.
    """
    due = select(OutboxMessage).where(
        OutboxMessage.status == "pending", OutboxMessage.available_at <= now
    )
    if topics is not None:
        due = due.where(OutboxMessage.topic.in_(list(topics)))
    if other_than:
        due = due.where(OutboxMessage.topic.not_in(list(other_than)))
    attempted = 0
    while attempted < limit:
        with transaction(factory) as session:
            message = session.scalar(
                due.order_by(OutboxMessage.available_at, OutboxMessage.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if message is None:
                return attempted
            attempted += 1
            _deliver_one(message, settings, handlers, now)
    return attempted


def _deliver_one(
    message: OutboxMessage,
    settings: Settings,
    handlers: Mapping[str, Handler | InTransaction],
    now: datetime,
) -> None:
    message.attempts += 1
    message.last_attempt_at = now
    handler = handlers.get(message.topic)
    try:
        if handler is None:
            raise PermanentFailure(f"no handler for topic {message.topic!r}")
        if isinstance(handler, InTransaction):
            session = object_session(message)
            assert session is not None
            with session.begin_nested():
                provider_message_id = handler.run(session, message.payload, settings, now)
        else:
            provider_message_id = handler(message.payload, settings)
    except Reroute as exc:
        session = object_session(message)
        assert session is not None
        replacement = enqueue(session, exc.topic, exc.payload, available_at=now, kind=message.kind)
        message.status = "rerouted"
        message.rerouted_to_id = replacement.id
        message.last_error = str(exc)[:2000]
        _redact_if_secret(message)
        log.info("outbox.rerouted", extra={"id": message.id, "to": replacement.id})
        return
    except PermanentFailure as exc:
        message.status = "dead"
        message.last_error = str(exc)[:2000]
        _redact_if_secret(message)
        log.error("outbox.dead_lettered", extra={"id": message.id, "error": str(exc)})
        return
    except Exception as exc:  # noqa: BLE001 - any failure of a delivery is retried
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if message.attempts >= settings.outbox_max_attempts:
            message.status = "dead"
            _redact_if_secret(message)
            log.error("outbox.dead_lettered", extra={"id": message.id, "error": str(exc)})
        else:
            message.available_at = now + backoff(settings, message.attempts)
            log.warning("outbox.retry_scheduled", extra={"id": message.id, "error": str(exc)})
        return
    message.status = "delivered"
    message.delivered_at = now
    message.provider_message_id = provider_message_id
    message.last_error = None
    _redact_if_secret(message)
    log.info("outbox.delivered", extra={"id": message.id, "topic": message.topic})


def _redact_if_secret(message: OutboxMessage) -> None:
    """Drop a one-time code from the stored text once it has been sent (or given up on).

    The code is only live for minutes, but the outbox is kept for audit far longer and should
    not become a list of codes for anyone who reads the table.
    """
    if message.payload.get("secret"):
        hidden = "[đã ẩn mã / code redacted]"
        message.payload = {
            **message.payload,
            **{key: hidden for key in REDACTED_FIELDS if key in message.payload},
        }


def replay(session: Session, message_id: int, *, now: datetime) -> OutboxMessage:
    """Put a dead-lettered (or delivered) message back in the queue, as an admin asks."""
    message = session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None:
        raise NotFound(f"no outbox message {message_id}", field="message_id")
    message.status = "pending"
    message.attempts = 0
    message.available_at = now
    session.flush()
    return message
