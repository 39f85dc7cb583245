"""``hoso admin``: the first admin from the command line, passwords only from stdin or a prompt."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.admin.models import AdminAuditEntry
from core.cli import app
from core.db import transaction
from core.identity.models import User
from core.identity.service import verify_password
from core.settings import get_settings
from tests.core.admin.helpers import BAC_NINH, post_office_in
from tests.factories import unique


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    return CliRunner()


def _user(factory: sessionmaker[Session], username: str) -> User | None:
    with transaction(factory) as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is not None:
            session.expunge(user)
        return user


def test_first_admin_from_stdin_then_list_reset_and_deactivate(
    runner: CliRunner, committing: sessionmaker[Session]
) -> None:
    name = unique("quantri").lower()
    created = runner.invoke(app, ["admin", "create-user", "--username", name, "--role", "admin",
                                  "--full-name", "Quản trị Bắc Ninh", "--password-stdin"],
                            input="Bac-Ninh-2026!\n")  # fmt: skip
    assert created.exit_code == 0, created.output
    assert f"created user {name}" in created.output
    admin = _user(committing, name)
    assert admin is not None and admin.role == "admin" and admin.full_name == "Quản trị Bắc Ninh"
    assert verify_password(admin.password_hash, "Bac-Ninh-2026!")
    assert "Bac-Ninh-2026!" not in created.output

    listed = runner.invoke(app, ["admin", "list-users", "--role", "admin", "--search", name])
    assert listed.exit_code == 0 and f"{admin.id}\t{name}\tadmin" in listed.output
    assert "1 user(s)" in listed.output

    reset = runner.invoke(app, ["admin", "reset-password", name], input="Tam-thoi-5521\n")
    assert reset.exit_code == 0, reset.output
    after_reset = _user(committing, name)
    assert after_reset is not None and after_reset.must_change_password
    assert verify_password(after_reset.password_hash, "Tam-thoi-5521")

    off = runner.invoke(app, ["admin", "deactivate", name])
    assert off.exit_code == 0 and f"deactivated {name}" in off.output
    deactivated = _user(committing, name)
    assert deactivated is not None and not deactivated.active
    on = runner.invoke(app, ["admin", "reactivate", name])
    assert on.exit_code == 0
    with transaction(committing) as session:
        actions = list(session.scalars(
            select(AdminAuditEntry.action).where(AdminAuditEntry.target_label == name)
            .order_by(AdminAuditEntry.id)))  # fmt: skip
        by_name = AdminAuditEntry.target_label == name
        labels = set(session.scalars(select(AdminAuditEntry.actor_label).where(by_name)))
    assert actions == ["user.create", "user.reset_password", "user.deactivate", "user.reactivate"]
    assert all(label.startswith("cli:") for label in labels)


def test_a_courier_by_post_office_code(
    runner: CliRunner, committing: sessionmaker[Session]
) -> None:
    with transaction(committing) as session:
        post_code = post_office_in(session, BAC_NINH).code
    name = unique("buuta").lower()
    args = ["admin", "create-user", "--username", name, "--role", "courier",
            "--post-office", post_code]  # fmt: skip
    result = runner.invoke(app, args, input="Buu-ta-Kinh-Bac-1\n")
    assert result.exit_code == 0, result.output
    courier = _user(committing, name)
    assert courier is not None and courier.post_office_id is not None


@pytest.mark.parametrize(
    ("args", "password", "field"),
    [
        (["--role", "admin"], "short1\n", "password"),
        (["--role", "admin"], "\n", "password"),
        (["--role", "postmaster"], "Bac-Ninh-2026!\n", "role"),
        (["--role", "courier"], "Bac-Ninh-2026!\n", "post_office_id"),
        (["--role", "courier", "--post-office", "NO-SUCH"], "Bac-Ninh-2026!\n", "post_office"),
    ],
)
def test_refusals_name_the_field_and_create_nobody(
    runner: CliRunner, committing: sessionmaker[Session], args: list[str], password: str,
    field: str,
) -> None:  # fmt: skip
    name = unique("tuchoi").lower()
    result = runner.invoke(app, ["admin", "create-user", "--username", name, *args],
                           input=password)  # fmt: skip
    assert result.exit_code == 2
    assert f"error: {field}:" in result.output
    assert _user(committing, name) is None


def test_a_duplicate_username_is_refused(
    runner: CliRunner, committing: sessionmaker[Session]
) -> None:
    name = unique("trung").lower()
    args = ["admin", "create-user", "--username", name, "--role", "admin"]
    assert runner.invoke(app, args, input="Bac-Ninh-2026!\n").exit_code == 0
    again = runner.invoke(app, args, input="Bac-Ninh-2027!\n")
    assert again.exit_code == 2 and "error: username:" in again.output and "taken" in again.output


def test_there_is_no_password_argument(runner: CliRunner) -> None:
    for command in (["create-user", "--username", unique("x").lower(), "--role", "admin"],
                    ["reset-password", "admin"]):  # fmt: skip
        result = runner.invoke(app, ["admin", *command, "--password", "Bac-Ninh-2026!"],
                               input="Bac-Ninh-2026!\n")  # fmt: skip
        assert result.exit_code == 2
        assert "No such option: --password" in result.output
    helped = runner.invoke(app, ["admin", "create-user", "--help"])
    assert "--password-stdin" in helped.output
    assert "--password " not in helped.output.replace("--password-stdin", "")
