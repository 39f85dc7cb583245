"""Every signed head of the ledger reaches each subscribed agency system, signed like a
status webhook: the agencies keep them as witnesses."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.agency.models import AgencySystem
from core.agency.service import create_system, issue_key, subscribe
from core.agency.signing import KEY_HEADER
from core.agency.webhooks import WEBHOOK_TOPIC, send_webhook
from core.agency.witness import CHECKPOINT_TYPE, checkpoint_pass
from core.custody.checkpoints import heads_file, trusted_verifiers
from core.custody.note import open_checkpoint
from core.db import transaction
from core.outbox.models import OutboxMessage
from core.outbox.service import deliver_due
from core.settings import Settings
from tests.factories import unique
from tests.receiver import receiver


def test_a_signed_head_is_pushed_to_each_agency_and_written_to_the_heads_file(
    committing: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"ledger_heads_file": tmp_path / "heads.jsonl"})
    with receiver([200]) as hook:
        with transaction(committing) as session:
            system = create_system(session, code=unique("witness-"), name="Hệ thống một cửa",
                                   kind="national_portal")  # fmt: skip
            key = issue_key(session, settings, system, now=datetime.now(UTC))
            subscribe(session, system, hook.url)
            code = system.code
        try:
            row = checkpoint_pass(committing, settings, now=datetime.now(UTC), force=True)
            assert row is not None
            deliver_due(committing, settings, {WEBHOOK_TOPIC: send_webhook},
                        now=datetime.now(UTC), limit=10_000)  # fmt: skip
        finally:
            with transaction(committing) as session:
                session.execute(
                    update(AgencySystem).where(AgencySystem.code == code).values(active=False)
                )
    with transaction(committing) as session:
        queued = session.scalars(
            select(OutboxMessage).where(OutboxMessage.payload["system"].astext == code)
        ).all()
    assert [m.status for m in queued] == ["delivered"]
    (request,) = hook.requests
    assert {k.lower(): v for k, v in request.headers.items()}[KEY_HEADER.lower()] == key.key_id
    body = json.loads(request.body)
    assert body["type"] == CHECKPOINT_TYPE and body["checkpoint"] == row.note
    head = open_checkpoint(body["checkpoint"], trusted_verifiers(settings), settings.ledger_origin)
    assert head.size == row.tree_size and head.root == row.root_hash
    # The same head, outside the database.
    last = heads_file(settings).read_text().splitlines()[-1]
    assert json.loads(last)["note"] == row.note
