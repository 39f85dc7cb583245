"""``hoso ledger checkpoint | verify --checkpoint | keygen | public-key`` and the worker's
heads, against the committed test database."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.cli import app
from core.custody.note import Checkpoint, Signer, Verifier
from core.db import transaction
from core.settings import Settings
from tests.factories import dossier_of, make_case


def test_checkpoint_then_verify_against_the_head_file_and_a_forged_head(
    cli_runner: CliRunner, committing: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    with transaction(committing) as session:
        dossier_of(session, make_case(session, settings))
    made = cli_runner.invoke(app, ["ledger", "checkpoint"])
    assert made.exit_code == 0, made.output
    note = made.output
    assert note.startswith("hoso.local/custody-ledger\n") and "\n\n\u2014 " in note
    heads = (tmp_path / "ledger-heads.jsonl").read_text().splitlines()
    assert json.loads(heads[-1])["note"] == note  # appended outside the database
    ok = cli_runner.invoke(app, ["ledger", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "signed heads from" in ok.output and ": ok" in ok.output

    single = tmp_path / "head.txt"
    single.write_text(note)
    assert cli_runner.invoke(app, ["ledger", "verify", "--checkpoint", str(single)]).exit_code == 0

    # A head signed by someone else's key, or a head whose root was edited, is refused.
    size = int(note.split("\n")[1])
    forged = Signer.generate("hoso.local/custody-ledger").sign(
        Checkpoint("hoso.local/custody-ledger", size, b"\x01" * 32).text()
    )
    single.write_text(forged)
    bad = cli_runner.invoke(app, ["ledger", "verify", "--checkpoint", str(single)])
    assert bad.exit_code == 1 and "no signature by a trusted key" in bad.output, bad.output
    lines = note.split("\n")
    lines[2] = "A" + lines[2][1:] if lines[2][0] != "A" else "B" + lines[2][1:]
    single.write_text("\n".join(lines))
    bad = cli_runner.invoke(app, ["ledger", "verify", "--checkpoint", str(single)])
    assert bad.exit_code == 1 and "is not valid" in bad.output, bad.output

    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert cli_runner.invoke(app, ["ledger", "verify", "--checkpoint", str(empty)]).exit_code == 2


def test_keygen_and_public_key(cli_runner: CliRunner) -> None:
    made = cli_runner.invoke(app, ["ledger", "keygen", "--name", "tinh.example/ledger"])
    assert made.exit_code == 0, made.output
    secret, public = made.output.split()
    assert Signer.parse(secret).verifier == Verifier.parse(public)
    shown = cli_runner.invoke(app, ["ledger", "public-key"])
    assert shown.exit_code == 0 and Verifier.parse(shown.output.split()[0])
