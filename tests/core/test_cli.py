"""The hoso command against the test database (DATABASE_URL), committed data only."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pypdfium2
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.cli import app
from core.db import transaction
from core.outbox.service import enqueue
from core.settings import Settings, get_settings
from tests.factories import dossier_of, make_case


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    return CliRunner()


def test_migrate_and_ledger_verify(runner: CliRunner) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith(": ok")


def test_labels_print_pdf_zpl_and_errors(
    runner: CliRunner, committing: sessionmaker[Session], settings: Settings, tmp_path: object
) -> None:
    with transaction(committing) as session:
        codes = [dossier_of(session, make_case(session, settings)).code for _ in range(2)]
    out = f"{tmp_path}/labels.pdf"
    result = runner.invoke(app, ["labels", "print", *codes, "--format", "pdf", "--output", out])
    assert result.exit_code == 0, result.output
    assert len(pypdfium2.PdfDocument(out)) == 2
    zpl = runner.invoke(app, ["labels", "print", codes[0], "--format", "zpl"])
    assert zpl.exit_code == 0 and zpl.stdout.count("^XA") == 1
    # The Code 128 field carries exactly the item ID.
    assert re.search(rf"\^BC[^\^]*\^FD{codes[0]}\^FS", zpl.stdout), zpl.stdout
    bad = runner.invoke(app, ["labels", "print", "DH12"])
    assert bad.exit_code == 2 and "13 characters" in bad.output
    html_batch = runner.invoke(app, ["labels", "print", *codes, "--format", "html"])
    assert html_batch.exit_code != 0 and "one label" in html_batch.output


def test_worker_once_drains_a_backlog_larger_than_one_round(
    runner: CliRunner,
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
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    sent = {json.loads(line)["text"] for line in sms_log.read_text(encoding="utf-8").splitlines()}
    assert set(texts) <= sent
