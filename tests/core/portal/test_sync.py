"""Status sync to the national portal, against a real local HTTP receiver: every change of a
case's status sent once through the outbox, in the portal's vocabulary, retried until
acknowledged; ``reconcile`` finds every change the ledger implies and names each gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.cases.models import Case
from core.custody.parties import Actor
from core.db import transaction
from core.identity.service import actor_for
from core.outbox.models import OutboxMessage
from core.outbox.service import deliver_due
from core.papers.codes import record_dossier_code
from core.portal.models import PortalStatusChange
from core.portal.reconcile import reconcile_day
from core.portal.sync import PORTAL_TOPIC, note_agency_code, send_portal_status, sync_due
from core.settings import Settings, get_settings
from tests.core.custody.helpers import scan
from tests.factories import make_case, make_user
from tests.journey import hand_to_office
from tests.receiver import receiver
from vntime import VN


def _on(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"portal_sync_url": url, "portal_sync_token": "tok-1",
                                       "agency_webhook_gap_grace_seconds": 0,
                                       "outbox_max_attempts": 3,
                                       "outbox_backoff_base_seconds": 0.0})  # fmt: skip


def _deliver(factory: sessionmaker[Session], settings: Settings) -> None:
    # Backoff is zero: each pass retries what failed, like the worker's loop would later.
    for _ in range(4):
        deliver_due(factory, settings, {PORTAL_TOPIC: send_portal_status},
                    now=datetime.now(UTC) + timedelta(seconds=1), limit=10_000)  # fmt: skip


@pytest.fixture
def quiet_afterwards(committing: sessionmaker[Session]) -> object:
    """Portal messages this test leaves queued are closed, so no later worker sends them."""
    yield None
    with transaction(committing) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.topic == PORTAL_TOPIC,
                                                    OutboxMessage.status == "pending")
                        .values(status="dead", last_error="test over"))  # fmt: skip


def test_each_change_is_sent_once_retried_and_reconciled(
    committing: sessionmaker[Session], settings: Settings, quiet_afterwards: object
) -> None:
    with receiver([500, 200]) as portal:
        on = _on(settings, portal.url)
        sync_due(committing, on, now=datetime.now(UTC))  # the past is history
        with transaction(committing) as session:
            case = make_case(session, settings)
            courier = make_user(session, "courier")
            desk = make_user(session, "desk_officer")
            dossier = hand_to_office(session, case, courier, desk)
            case_id = case.id
        sync_due(committing, on, now=datetime.now(UTC))
        with transaction(committing) as session:
            same = session.get(Case, case_id)
            assert same is not None
            received = datetime.now(VN)
            record_dossier_code(session, on, same, f"000.00.24.H05-{received:%y%m%d}-0042", None,
                                actor=Actor.system(), recorded_by="test", source="agency",
                                now=datetime.now(UTC))  # fmt: skip
            # The setting comes from the environment in production; here the test's.
            note_agency_code(session, on, same, now=datetime.now(UTC))
        sync_due(committing, on, now=datetime.now(UTC))
        sync_due(committing, on, now=datetime.now(UTC))  # again: nothing new, nothing twice
        with transaction(committing) as session:
            ours = PortalStatusChange.case_id == case_id
            changes = list(session.scalars(select(PortalStatusChange).where(ours)
                                           .order_by(PortalStatusChange.seq)))  # fmt: skip
            # Booked (1); the pickup and the desk's hand-over stay 1 and send nothing; the
            # agency's code is acceptance (2).
            assert [(c.code, c.stage) for c in changes] == [(1, "booked"), (2, "agency_code")]
            report = reconcile_day(session, datetime.now(VN).date(), only_cases=[case_id])
            assert report.gaps and all("NOT ACKNOWLEDGED" in g for g in report.gaps)
        _deliver(committing, on)
        bodies = [r.json() for r in portal.requests]
        keys = [r.headers.get("Idempotency-Key") for r in portal.requests]
        # The first answer was 500: that change is sent again with the same key (the outbox
        # does not hold the next change back; the portal orders them by ``sequence``).
        assert sorted((b["sequence"], b["status"]["code"]) for b in bodies) == [
            (1, 1), (1, 1), (2, 2)]  # fmt: skip
        assert keys.count(keys[0]) == 2 and len(set(keys)) == 2
        bodies.sort(key=lambda b: b["sequence"])
        assert all(r.headers.get("Authorization") == "Bearer tok-1" for r in portal.requests)
        assert bodies[0]["item_id"] == dossier and bodies[0]["postal_stage"] == "booked"
        assert bodies[2]["status"] == {"code": 2, "name": "Được tiếp nhận"}
        with transaction(committing) as session:
            report = reconcile_day(session, datetime.now(VN).date(), only_cases=[case_id])
            assert report.ok, report.gaps
            assert (report.expected, report.acknowledged) == (2, 2)


def test_a_change_the_portal_refuses_is_a_gap(
    committing: sessionmaker[Session], settings: Settings, quiet_afterwards: object
) -> None:
    with receiver([400]) as portal:
        on = _on(settings, portal.url)
        sync_due(committing, on, now=datetime.now(UTC))
        with transaction(committing) as session:
            case = make_case(session, settings)
            dispatcher = make_user(session, "dispatcher")
            from core.custody.service import record_one
            from tests.factories import dossier_of

            record_one(session, actor_for(dispatcher),
                       scan("cancelled", dossier_of(session, case).code))  # fmt: skip
            case_id = case.id
        sync_due(committing, on, now=datetime.now(UTC))
        _deliver(committing, on)
        assert [r.json()["status"]["code"] for r in portal.requests] == [1, 7]
        with transaction(committing) as session:
            report = reconcile_day(session, datetime.now(VN).date(), only_cases=[case_id])
        assert not report.ok
        assert len(report.gaps) == 2 and all("outbox dead" in g for g in report.gaps)


def test_reconcile_names_a_change_never_sent(
    committing: sessionmaker[Session], settings: Settings, quiet_afterwards: object
) -> None:
    """Changes recorded while the sync was off were never sent: each one is a gap."""
    with transaction(committing) as session:
        case = make_case(session, settings)
        case_id = case.id
    off = settings.model_copy(update={"portal_sync_url": None})
    assert sync_due(committing, off, now=datetime.now(UTC)) == 0
    with transaction(committing) as session:
        report = reconcile_day(session, datetime.now(VN).date(), only_cases=[case_id])
    assert [g.split(" ", 2)[:2] for g in report.gaps] == [["NOT", "SENT"]]
    assert "1 Mới đăng ký" in report.gaps[0]


def test_the_reconcile_command_exits_1_on_gaps_0_without(
    committing: sessionmaker[Session], settings: Settings, database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from typer.testing import CliRunner

    from core.cli import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("HOSO_PORTAL_SYNC_URL", raising=False)
    get_settings.cache_clear()
    with transaction(committing) as session:
        make_case(session, settings)  # booked today, with the sync off: never sent
    runner = CliRunner()
    today = runner.invoke(
        app, ["portal", "reconcile", "--date", datetime.now(VN).date().isoformat()]
    )
    assert today.exit_code == 1, today.output
    assert "NOT SENT" in today.output and "gaps" in today.output
    quiet = runner.invoke(app, ["portal", "reconcile", "--date", "2021-01-01"])
    assert quiet.exit_code == 0, quiet.output
    assert "0 status changes" in quiet.output and "0 gaps" in quiet.output
    bad = runner.invoke(app, ["portal", "reconcile", "--date", "01/12/2026"])
    assert bad.exit_code == 2
