"""``hoso money …`` against the test database (committed data; a post office of its own)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.cli import app
from core.db import transaction
from core.money import record_payment
from core.settings import Settings, get_settings
from tests.core.money.bank_helpers import statement_csv
from tests.core.money.helpers import AT, TOTAL_BOTH, priced_case
from tests.factories import make_post_office, make_user


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    return CliRunner()


def test_reconcile_exits_1_naming_what_does_not_balance(
    runner: CliRunner, committing: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    with transaction(committing) as session:
        po = make_post_office(session)
        dispatcher = make_user(session, "dispatcher", post_office_id=po.id)
        case = priced_case(session, settings, method="vietqr", post_office=po)
        code, username = po.code, dispatcher.username
        case_id = case.id
    statement = tmp_path / "vcb.csv"
    statement.write_bytes(statement_csv([("CLI-1", 75_000, "khong ro ai")]))
    imported = runner.invoke(app, ["money", "import-statement", str(statement), "--as", username])
    assert imported.exit_code == 0, imported.output
    assert "1 new line(s)" in imported.output
    again = runner.invoke(app, ["money", "import-statement", str(statement), "--as", username])
    assert "nothing changed" in again.output

    day = AT.date().isoformat()
    balanced = runner.invoke(app, ["money", "reconcile", "--date", day, "--post-office", code])
    assert balanced.exit_code == 0, balanced.output
    assert "balances; 1 exception(s) open" in balanced.output

    # A VietQR payment typed in by hand, which no bank line carries.
    with transaction(committing) as session:
        record_payment(session, case_id=case_id, method="vietqr", amount_vnd=TOTAL_BOTH, at=AT,
                       actor_user_id=None, payer="Trần Thị Hoa", reference="typed",
                       idempotency_key=f"cli-typed-{case_id}")  # fmt: skip
    broken = runner.invoke(app, ["money", "reconcile", "--date", day, "--post-office", code])
    assert broken.exit_code == 1
    mismatch = "MISMATCH vietqr_in_bank: Every VietQR payment is on a bank line: expected 0"
    assert f"{mismatch}, found {TOTAL_BOTH}" in broken.output

    unknown = runner.invoke(app, ["money", "reconcile", "--date", day, "--post-office", "NOPE"])
    assert unknown.exit_code == 2
    bad_day = runner.invoke(app, ["money", "reconcile", "--date", "03/12", "--post-office", code])
    assert bad_day.exit_code == 2
