"""`hoso ledger verify` names a signed paper changed behind the database's back."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.cli import app
from core.db import make_sessionmaker, transaction
from core.settings import Settings
from tests.core.papers.helpers import signed_handover


def test_a_confirmed_fee_changed_with_the_trigger_off_is_named(
    cli_runner: CliRunner,
    committing: sessionmaker[Session],
    owner_engine: Engine,
    settings: Settings,
) -> None:
    with transaction(committing) as session:
        signed = signed_handover(session, settings)
    before = cli_runner.invoke(app, ["ledger", "verify"])
    assert before.exit_code == 0, before.output
    # The app's role cannot: the trigger refuses and the role may not switch it off.
    with pytest.raises(Exception, match="is signed"), transaction(committing) as session:
        session.execute(
            text("UPDATE handover_lines SET fees_confirmed_vnd = 0 WHERE handover_id = :h"),
            {"h": signed.handover_id},
        )
    as_owner = make_sessionmaker(owner_engine)
    trigger = "ALTER TABLE handover_lines {} TRIGGER handover_lines_sealed"
    forge = ("UPDATE handover_lines SET fees_confirmed_vnd = :fee "
             "WHERE handover_id = :h AND item_code = :code")  # fmt: skip
    with transaction(as_owner) as session:
        session.execute(text(trigger.format("DISABLE")))
        session.execute(text(forge), {"fee": 0, "h": signed.handover_id, "code": signed.codes[0]})
        session.execute(text(trigger.format("ENABLE")))
    try:
        result = cli_runner.invoke(app, ["ledger", "verify"])
    finally:
        with transaction(as_owner) as session:  # the committed database is shared: restore
            session.execute(text(trigger.format("DISABLE")))
            session.execute(
                text(forge), {"fee": 200_000, "h": signed.handover_id, "code": signed.codes[0]}
            )
            session.execute(text(trigger.format("ENABLE")))
    assert result.exit_code == 1, result.output
    assert f"BROKEN hand-over record {signed.handover_code} (sealed on " in result.output
    assert "content changed after signing" in result.output
    assert result.output.rstrip().endswith("1 broken")
    assert cli_runner.invoke(app, ["ledger", "verify"]).exit_code == 0
