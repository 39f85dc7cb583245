"""``hoso agency``: set a system up, list and replay dead webhooks (the commands the docs use)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.agency.models import AgencyApiKey, AgencySystem
from core.agency.signing import sha256_hex
from core.agency.webhooks import WEBHOOK_TOPIC
from core.cli import app
from core.db import transaction
from core.outbox.models import OutboxMessage
from core.settings import get_settings
from tests.factories import unique


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    return CliRunner()


def test_add_system_prints_a_secret_that_is_kept_only_hashed(
    runner: CliRunner, committing: sessionmaker[Session]
) -> None:
    code = unique("cli-sys-")
    result = runner.invoke(app, ["agency", "add-system", code, "--name", "Một cửa Bắc Ninh",
                                 "--kind", "provincial_one_stop", "--province", "24"])  # fmt: skip
    assert result.exit_code == 0, result.output
    key_id = result.output.split("key id: ")[1].split()[0]
    secret = result.output.split("secret: ")[1].split()[0]
    with transaction(committing) as session:
        key = session.scalar(select(AgencyApiKey).where(AgencyApiKey.key_id == key_id))
        assert key is not None and key.secret_sha256 == sha256_hex(secret.encode())
        system = session.get(AgencySystem, key.system_id)
        assert system is not None and system.code == code
        system.active = False
    bad = runner.invoke(app, ["agency", "add-system", unique("x-"), "--name", "x",
                              "--kind", "provincial_one_stop"])  # fmt: skip
    assert bad.exit_code == 2 and "province_code" in bad.output


def test_dead_webhooks_listed_and_replayed(
    runner: CliRunner, committing: sessionmaker[Session]
) -> None:
    with transaction(committing) as session:
        message = OutboxMessage(
            topic=WEBHOOK_TOPIC, status="dead", attempts=8, last_error="HTTP 500",
            payload={"system": "cli-test", "body": {}},
        )  # fmt: skip
        session.add(message)
        session.flush()
        message_id = message.id
    listed = runner.invoke(app, ["agency", "dead-webhooks"])
    assert listed.exit_code == 0 and f"{message_id}\tcli-test\t8\tHTTP 500" in listed.output
    replayed = runner.invoke(app, ["agency", "replay-webhook", str(message_id)])
    assert replayed.exit_code == 0, replayed.output
    with transaction(committing) as session:
        again = session.get(OutboxMessage, message_id)
        assert again is not None and (again.status, again.attempts) == ("pending", 0)
        again.status = "dead"  # not for the worker of a later test to send
    unknown = runner.invoke(app, ["agency", "replay-webhook", "999999999"])
    assert unknown.exit_code == 2 and "no webhook" in unknown.output
