"""The hoso command against the test database (DATABASE_URL), committed data only."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pypdfium2
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.cli import app
from core.db import make_sessionmaker, transaction
from core.outbox.service import enqueue
from core.settings import Settings, get_settings
from tests.factories import dossier_of, make_case


def test_migrate_and_ledger_verify(cli_runner: CliRunner) -> None:
    assert cli_runner.invoke(app, ["migrate"]).exit_code == 0
    result = cli_runner.invoke(app, ["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith(": ok")


def test_ledger_verify_exits_1_naming_the_item_and_event_of_an_edited_payload(
    cli_runner: CliRunner,
    committing: sessionmaker[Session],
    owner_engine: Engine,
    settings: Settings,
) -> None:
    with transaction(committing) as session:
        item = dossier_of(session, make_case(session, settings))
        code, item_id = item.code, item.id
    # What the table's owner can do (the app's role cannot): switch the trigger off and edit.
    as_owner = make_sessionmaker(owner_engine)
    trigger = "ALTER TABLE custody_events {} TRIGGER custody_events_append_only"
    forge = ("UPDATE custody_events SET details = details || CAST(:extra AS jsonb) "
             "WHERE item_id = :item AND seq = 1")  # fmt: skip
    with transaction(as_owner) as session:
        session.execute(text(trigger.format("DISABLE")))
        original = session.scalar(
            text("SELECT details FROM custody_events WHERE item_id = :item AND seq = 1"),
            {"item": item_id},
        )
        session.execute(text(forge), {"extra": '{"fee": 0}', "item": item_id})
        session.execute(text(trigger.format("ENABLE")))
    try:
        result = cli_runner.invoke(app, ["ledger", "verify"])
    finally:
        with transaction(as_owner) as session:  # the committed ledger is shared: restore it
            session.execute(text(trigger.format("DISABLE")))
            session.execute(
                text("UPDATE custody_events SET details = CAST(:details AS jsonb) "
                     "WHERE item_id = :item AND seq = 1"),
                {"details": json.dumps(original), "item": item_id},
            )  # fmt: skip
            session.execute(text(trigger.format("ENABLE")))
    assert result.exit_code == 1, result.output
    assert f"BROKEN {code} event 1: hash does not match the event's content" in result.output
    # The server's signature of the event no longer matches it either.
    assert f"BROKEN {code} event 1: server signature (key " in result.output
    assert result.output.rstrip().endswith("2 broken")
    assert cli_runner.invoke(app, ["ledger", "verify"]).exit_code == 0


def test_ledger_verify_names_an_appended_event_that_no_key_signed(
    cli_runner: CliRunner,
    committing: sessionmaker[Session],
    owner_engine: Engine,
    settings: Settings,
) -> None:
    """The owner appends a well-formed event naming no phone, with its chain hash right:
    before any head covers it, verify names it by its missing server signature."""
    from tests.mobile_api.phone_keys import append_forged_event

    with transaction(committing) as session:
        item = dossier_of(session, make_case(session, settings))
        code, item_id = item.code, item.id
    as_owner = make_sessionmaker(owner_engine)
    with transaction(as_owner) as session:
        seq = append_forged_event(session, code, "handover_accepted", None)
    try:
        result = cli_runner.invoke(app, ["ledger", "verify"])
    finally:
        with transaction(as_owner) as session:  # the committed ledger is shared: restore it
            trigger = "ALTER TABLE custody_events {} TRIGGER custody_events_append_only"
            session.execute(text(trigger.format("DISABLE")))
            session.execute(text("DELETE FROM custody_events WHERE item_id = :i AND seq = :s"),
                            {"i": item_id, "s": seq})  # fmt: skip
            session.execute(text(trigger.format("ENABLE")))
    assert result.exit_code == 1, result.output
    assert (
        f"BROKEN {code} event {seq}: carries neither a device signature nor a server signature"
        in result.output
    ), result.output
    assert cli_runner.invoke(app, ["ledger", "verify"]).exit_code == 0


def test_ledger_verify_exits_2_with_one_line_when_the_database_is_unreachable(
    cli_runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on port 1: the check cannot run, which must not read as "broken" (1).
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    get_settings.cache_clear()
    result = cli_runner.invoke(app, ["ledger", "verify"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hoso ledger verify: could not run: ")
    assert "Traceback" not in result.output and "BROKEN" not in result.output


def test_labels_print_pdf_zpl_and_errors(
    cli_runner: CliRunner, committing: sessionmaker[Session], settings: Settings, tmp_path: object
) -> None:
    with transaction(committing) as session:
        codes = [dossier_of(session, make_case(session, settings)).code for _ in range(2)]
    out = f"{tmp_path}/labels.pdf"
    result = cli_runner.invoke(app, ["labels", "print", *codes, "--format", "pdf", "--output", out])
    assert result.exit_code == 0, result.output
    assert len(pypdfium2.PdfDocument(out)) == 2
    zpl = cli_runner.invoke(app, ["labels", "print", codes[0], "--format", "zpl"])
    assert zpl.exit_code == 0 and zpl.stdout.count("^XA") == 1
    # The Code 128 field carries exactly the item ID.
    assert re.search(rf"\^BC[^\^]*\^FD{codes[0]}\^FS", zpl.stdout), zpl.stdout
    bad = cli_runner.invoke(app, ["labels", "print", "DH12"])
    assert bad.exit_code == 2 and "13 characters" in bad.output
    html_batch = cli_runner.invoke(app, ["labels", "print", *codes, "--format", "html"])
    assert html_batch.exit_code != 0 and "one label" in html_batch.output


def test_worker_once_drains_a_backlog_larger_than_one_round(
    cli_runner: CliRunner,
    committing: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sms_log = tmp_path / "sms.log"
    monkeypatch.setenv("HOSO_SMS_SENDER", "file")
    monkeypatch.setenv("HOSO_SMS_FILE_PATH", str(sms_log))
    get_settings.cache_clear()
    texts = [f"backlog {uuid.uuid4()}" for _ in range(120)]
    with transaction(committing) as session:
        for text in texts:
            enqueue(session, "sms.send", {"phone": "0912345678", "text": text})
    result = cli_runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    sent = {json.loads(line)["text"] for line in sms_log.read_text(encoding="utf-8").splitlines()}
    assert set(texts) <= sent
