"""The outbox: rows written with the change, delivered by SKIP LOCKED workers with backoff."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.outbox.models import OutboxMessage
from core.outbox.service import (
    Handler,
    PermanentFailure,
    backoff,
    deliver_due,
    enqueue,
    replay,
)
from core.settings import Settings


def _topic(name: str) -> str:
    return f"test.{name}.{datetime.now(UTC).timestamp()}"


def _message(factory: sessionmaker[Session], message_id: int) -> OutboxMessage:
    with transaction(factory) as session:
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        return message


def test_rolled_back_change_leaves_no_message(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    topic = _topic("rollback")
    session = committing()
    enqueue(session, topic, {"n": 1})
    session.rollback()
    session.close()
    with transaction(committing) as check:
        assert check.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic)).all() == []


def test_retry_with_backoff_then_dead_letter_then_replay(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    settings = settings.model_copy(update={"outbox_max_attempts": 3})
    topic = _topic("flaky")
    calls: list[Mapping[str, Any]] = []

    def failing(payload: Mapping[str, Any], _: Settings) -> None:
        calls.append(payload)
        raise ConnectionError("receiver down")

    with transaction(committing) as session:
        message_id = enqueue(session, topic, {"n": 1}).id
    now = datetime.now(UTC) + timedelta(seconds=1)
    handlers: dict[str, Handler] = {topic: failing}
    deliver_due(committing, settings, handlers, now=now)
    first = _message(committing, message_id)
    assert (first.status, first.attempts) == ("pending", 1)
    assert first.available_at == now + backoff(settings, 1)
    assert "receiver down" in (first.last_error or "")
    # Not due yet: nothing is attempted.
    deliver_due(committing, settings, handlers, now=now)
    assert len(calls) == 1
    later = now
    for _ in range(2):
        later += timedelta(hours=2)
        deliver_due(committing, settings, handlers, now=later)
    dead = _message(committing, message_id)
    assert (dead.status, dead.attempts, len(calls)) == ("dead", 3, 3)

    delivered: list[Mapping[str, Any]] = []
    with transaction(committing) as session:
        replay(session, message_id, now=later)
    deliver_due(committing, settings, {topic: lambda p, s: delivered.append(p)}, now=later)
    final = _message(committing, message_id)
    assert (final.status, delivered) == ("delivered", [{"n": 1}])


def test_permanent_failure_dead_letters_at_once(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    topic = _topic("bad")

    def reject(payload: Mapping[str, Any], _: Settings) -> None:
        raise PermanentFailure("no phone number")

    with transaction(committing) as session:
        message_id = enqueue(session, topic, {}).id
    deliver_due(committing, settings, {topic: reject}, now=datetime.now(UTC) + timedelta(seconds=1))
    message = _message(committing, message_id)
    assert (message.status, message.attempts, message.last_error) == ("dead", 1, "no phone number")


def test_two_workers_never_deliver_one_message_twice(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    topic = _topic("shared")
    with transaction(committing) as session:
        ids = [enqueue(session, topic, {"n": n}).id for n in range(40)]
    seen: list[int] = []
    lock = threading.Lock()

    def handler(payload: Mapping[str, Any], _: Settings) -> None:
        with lock:
            seen.append(int(payload["n"]))

    now = datetime.now(UTC) + timedelta(seconds=1)
    workers = [
        threading.Thread(target=deliver_due, args=(committing, settings, {topic: handler}),
                         kwargs={"now": now, "limit": 1000})
        for _ in range(2)
    ]  # fmt: skip
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert sorted(seen) == list(range(40))
    with transaction(committing) as session:
        statuses = session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.id.in_(ids))
        ).all()
    assert set(statuses) == {"delivered"}


def test_secret_text_is_redacted_once_sent(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    topic = _topic("otp")
    sent: list[Mapping[str, Any]] = []
    with transaction(committing) as session:
        message_id = enqueue(
            session, topic, {"phone": "0912", "text": "Mã 123456", "secret": True}
        ).id
    deliver_due(committing, settings, {topic: lambda p, s: sent.append(p)},
                now=datetime.now(UTC) + timedelta(seconds=1))  # fmt: skip
    assert sent[0]["text"] == "Mã 123456"
    stored = _message(committing, message_id)
    assert stored.status == "delivered" and "123456" not in stored.payload["text"]


def test_a_slow_job_runs_in_its_own_lane_and_nothing_waits_behind_it(
    committing: sessionmaker[Session], settings: Settings
) -> None:
    """The worker's main lane leaves the slow topics (a dossier's text layer, seconds a page)
    to a lane of their own: an SMS queued after a slow job is delivered first."""
    from core.cli import slow_topics, worker_handlers
    from core.digitising.text_layer import TEXT_LAYER_TOPIC

    assert TEXT_LAYER_TOPIC in slow_topics()
    assert all(topic in worker_handlers() for topic in slow_topics())
    slow, fast = _topic("slow"), _topic("sms")
    done: list[str] = []
    handlers: dict[str, Handler] = {
        slow: lambda payload, _: done.append(slow),
        fast: lambda payload, _: done.append(fast),
    }
    with transaction(committing) as session:
        slow_id = enqueue(session, slow, {"n": 1}).id
        fast_id = enqueue(session, fast, {"n": 2}).id
    now = datetime.now(UTC) + timedelta(seconds=1)
    both = (slow, fast)
    assert deliver_due(committing, settings, handlers, now=now, topics=both,
                       other_than=(slow,)) == 1  # fmt: skip
    assert done == [fast]
    assert _message(committing, slow_id).status == "pending"
    assert _message(committing, fast_id).status == "delivered"
    assert deliver_due(committing, settings, handlers, now=now, topics=(slow,)) == 1
    assert done == [fast, slow] and _message(committing, slow_id).status == "delivered"
