"""Status webhooks: found in the ledger, signed, retried with backoff, dead-lettered, replayed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.agency.models import AgencySystem
from core.agency.service import IssuedKey, create_system, issue_key
from core.agency.signing import (
    KEY_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
)
from core.agency.webhooks import (
    WEBHOOK_TOPIC,
    dispatch_due,
    dispatch_status_webhooks,
    replay_webhook,
    send_webhook,
)
from core.db import transaction
from core.outbox.models import OutboxMessage
from core.outbox.service import backoff, deliver_due
from core.settings import Settings
from tests.factories import make_case, make_office, make_user, unique
from tests.journey import hand_to_office, pick_up
from tests.receiver import Received, receiver


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"outbox_max_attempts": 3})


@pytest.fixture
def subscribed(
    committing: sessionmaker[Session], hook_settings: Settings
) -> Iterator[tuple[list[str], IssuedKey]]:
    """A subscribed system; the test sets its URL. Switched off afterwards, so later tests'
    events are not sent to a receiver that is gone."""
    with transaction(committing) as session:
        # Everything before this test is history for the dispatcher.
        dispatch_due(committing, hook_settings.model_copy(
            update={"agency_webhook_gap_grace_seconds": 0}), now=datetime.now(UTC))  # fmt: skip
        system = create_system(session, code=unique("hook-"), name="Cổng DVC quốc gia (thử)",
                               kind="national_portal")  # fmt: skip
        key = issue_key(session, hook_settings, system, now=datetime.now(UTC))
        code = system.code
    yield [code], key
    with transaction(committing) as session:
        session.execute(update(AgencySystem).where(AgencySystem.code == code).values(active=False))
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.topic == WEBHOOK_TOPIC,
                OutboxMessage.status == "pending",
                OutboxMessage.payload["system"].astext == code,
            )  # fmt: skip
            .values(status="dead", last_error="test over")
        )


def _subscribe(committing: sessionmaker[Session], code: str, url: str) -> None:
    from core.agency.service import subscribe

    with transaction(committing) as session:
        system = session.scalar(select(AgencySystem).where(AgencySystem.code == code))
        assert system is not None
        subscribe(session, system, url)


def _verify(request: Received, key: IssuedKey) -> dict[str, object]:
    h = {k.lower(): v for k, v in request.headers.items()}
    assert h[KEY_HEADER.lower()] == key.key_id
    expected = signature(key.secret, "POST", request.path, h[TIMESTAMP_HEADER.lower()],
                         h[NONCE_HEADER.lower()], request.body)  # fmt: skip
    assert h[SIGNATURE_HEADER.lower()] == expected
    body: dict[str, object] = json.loads(request.body)
    return body


def _webhooks(factory: sessionmaker[Session], system_code: str) -> list[OutboxMessage]:
    with transaction(factory) as session:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.topic == WEBHOOK_TOPIC,
                    OutboxMessage.payload["system"].astext == system_code,
                )  # fmt: skip
                .order_by(OutboxMessage.id)
            )
        )


def _deliver(factory: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    deliver_due(factory, settings, {WEBHOOK_TOPIC: send_webhook}, now=now, limit=10_000)


def test_every_status_change_is_sent_signed_and_retried_after_two_500s(
    committing: sessionmaker[Session],
    hook_settings: Settings,
    subscribed: tuple[list[str], IssuedKey],
) -> None:
    (code,), key = subscribed
    with receiver([500, 500, 200]) as hook:
        _subscribe(committing, code, hook.url)
        with transaction(committing) as session:
            office = make_office(session)
            case = make_case(session, hook_settings, office=office)
            desk = make_user(session, "desk_officer", office_id=office.id)
            item = hand_to_office(session, case, make_user(session, "courier"), desk)
        dispatch_due(committing, hook_settings, now=datetime.now(UTC))
        messages = _webhooks(committing, code)
        bodies = [m.payload["body"] for m in messages]
        assert [(b["item_id"], b["event_kind"]) for b in bodies] == [
            (item, "booked"), (item, "picked_up"), (item, "handover_offered"),
            (item, "handover_confirmed"),
        ]  # fmt: skip
        statuses = ["booked", "picked_up", "picked_up", "handed_over"]
        assert [b["status"] for b in bodies] == statuses
        assert bodies[0]["portal_status"] == {"code": 1, "name": "Mới đăng ký"}
        # The desk's scan says the envelope arrived; acceptance (2) is the agency's to decide.
        assert bodies[-1]["portal_status"] == {"code": 1, "name": "Mới đăng ký"}
        # Dispatching again finds nothing new: each event is sent once.
        dispatch_due(committing, hook_settings, now=datetime.now(UTC))
        assert len(_webhooks(committing, code)) == 4

        first = messages[0].id
        with transaction(committing) as session:  # only the first goes out in this test
            session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(
                [m.id for m in messages[1:]])).values(status="delivered"))  # fmt: skip
        now = datetime.now(UTC) + timedelta(seconds=1)
        _deliver(committing, hook_settings, now)
        after_one = _webhooks(committing, code)[0]
        assert (after_one.status, after_one.attempts) == ("pending", 1)
        assert after_one.available_at == now + backoff(hook_settings, 1)
        assert "HTTP 500" in (after_one.last_error or "")
        now += timedelta(hours=1)
        _deliver(committing, hook_settings, now)
        after_two = _webhooks(committing, code)[0]
        assert after_two.available_at == now + backoff(hook_settings, 2)  # twice the wait
        assert backoff(hook_settings, 2) == 2 * backoff(hook_settings, 1)
        now += timedelta(hours=1)
        _deliver(committing, hook_settings, now)
        delivered = _webhooks(committing, code)[0]
        assert (delivered.id, delivered.status, delivered.attempts) == (first, "delivered", 3)
        assert len(hook.requests) == 3
        sent = [_verify(r, key) for r in hook.requests]
        assert all(s["event_id"] == bodies[0]["event_id"] for s in sent)
        # Each attempt is signed afresh: no two carry the same nonce.
        assert len({r.headers[NONCE_HEADER] for r in hook.requests}) == 3


def test_dead_letter_at_the_limit_then_an_admin_replays_it(
    committing: sessionmaker[Session],
    hook_settings: Settings,
    subscribed: tuple[list[str], IssuedKey],
) -> None:
    (code,), key = subscribed
    with transaction(committing) as session:
        case = make_case(session, hook_settings)  # booked before subscribing: not sent
        courier = make_user(session, "courier")
    with receiver([500]) as hook:
        _subscribe(committing, code, hook.url)
        with transaction(committing) as session:
            pick_up(session, session.merge(case), session.merge(courier))
        dispatch_due(committing, hook_settings, now=datetime.now(UTC))
        (message,) = _webhooks(committing, code)
        now = datetime.now(UTC) + timedelta(seconds=1)
        for _ in range(5):  # more rounds than the limit: it stops at 3 attempts
            _deliver(committing, hook_settings, now)
            now += timedelta(hours=2)
        dead = _webhooks(committing, code)[0]
        assert (dead.status, dead.attempts) == ("dead", 3)
        assert len(hook.requests) == 3

        hook.script = [200]
        with transaction(committing) as session:
            replay_webhook(session, message.id, now=now)
        _deliver(committing, hook_settings, now)
        replayed = _webhooks(committing, code)[0]
        assert replayed.status == "delivered"
        assert len(hook.requests) == 4
        assert [_verify(r, key)["event_kind"] for r in hook.requests] == ["picked_up"] * 4


def test_a_client_error_is_dead_lettered_at_once(
    committing: sessionmaker[Session],
    hook_settings: Settings,
    subscribed: tuple[list[str], IssuedKey],
) -> None:
    (code,), _ = subscribed
    with transaction(committing) as session:
        case = make_case(session, hook_settings)
        courier = make_user(session, "courier")
    with receiver([401]) as hook:
        _subscribe(committing, code, hook.url)
        with transaction(committing) as session:
            pick_up(session, session.merge(case), session.merge(courier))
        dispatch_due(committing, hook_settings, now=datetime.now(UTC))
        _deliver(committing, hook_settings, datetime.now(UTC) + timedelta(seconds=1))
        (dead,) = _webhooks(committing, code)
        assert (dead.status, dead.attempts) == ("dead", 1)
        assert "HTTP 401" in (dead.last_error or "")
        assert len(hook.requests) == 1


def test_the_dispatcher_waits_for_an_uncommitted_lower_id(
    committing: sessionmaker[Session],
    hook_settings: Settings,
    subscribed: tuple[list[str], IssuedKey],
) -> None:
    """Ids are given in insert order but committed in any order: a later id must not carry
    the watermark past an earlier one that is still to commit."""
    (code,), _ = subscribed
    with transaction(committing) as session:
        cases = [make_case(session, hook_settings) for _ in range(2)]
        courier = make_user(session, "courier")
    _subscribe(committing, code, "http://127.0.0.1:9/unused")
    slow = committing()
    try:
        slow_item = pick_up(slow, slow.merge(cases[0]), slow.merge(courier))  # id n, open
        with transaction(committing) as session:
            fast_item = pick_up(session, session.merge(cases[1]), session.merge(courier))
        with transaction(committing) as session:
            dispatch_status_webhooks(session, hook_settings, now=datetime.now(UTC))
        assert [m.payload["body"]["item_id"] for m in _webhooks(committing, code)] == []
        slow.commit()
    finally:
        slow.close()
    dispatch_due(committing, hook_settings, now=datetime.now(UTC))
    sent = [m.payload["body"]["item_id"] for m in _webhooks(committing, code)]
    assert sent == [slow_item, fast_item]


def test_a_provincial_system_hears_only_its_province(
    committing: sessionmaker[Session],
    hook_settings: Settings,
    subscribed: tuple[list[str], IssuedKey],
) -> None:
    (national,), _ = subscribed
    _subscribe(committing, national, "http://127.0.0.1:9/national")
    with transaction(committing) as session:
        hanoi = create_system(session, code=unique("hn-"), name="Một cửa Hà Nội",
                              kind="provincial_one_stop", province_code="01",
                              webhook_url="http://127.0.0.1:9/hanoi")  # fmt: skip
        issue_key(session, hook_settings, hanoi, now=datetime.now(UTC))
        hanoi_code = hanoi.code
        pick_up(session, make_case(session, hook_settings), make_user(session, "courier"))
    try:
        dispatch_due(committing, hook_settings, now=datetime.now(UTC))
        assert [m.payload["body"]["event_kind"] for m in _webhooks(committing, national)] == [
            "booked", "picked_up",
        ]  # fmt: skip
        assert _webhooks(committing, hanoi_code) == []  # a Bắc Ninh case
    finally:
        with transaction(committing) as session:
            session.execute(update(AgencySystem).where(AgencySystem.code == hanoi_code)
                            .values(active=False))  # fmt: skip
