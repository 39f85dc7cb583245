"""``hoso money …``: the day's reconciliation and statement import (the banks' keys:
``core.bankdesk.cli``, registered on the same group by ``core.cli``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cli_support import DataDir, database_for, settings_for
from core.db import transaction
from core.errors import DomainError
from core.places.models import PostOffice

money_app = typer.Typer(help="Money: reconciliation, bank statements, bank keys.",
                        no_args_is_help=True)  # fmt: skip


def _post_office(session: Session, value: str) -> PostOffice:
    """A post office by its code (as people say it) or its number."""
    found = session.scalar(select(PostOffice).where(PostOffice.code == value))
    if found is None and value.isdigit():
        found = session.get(PostOffice, int(value))
    if found is None:
        typer.echo(f"error: post_office: no post office {value!r}", err=True)
        raise typer.Exit(2)
    return found


def _amount(value: int) -> str:
    return f"{value:,}".replace(",", ".") + " ₫"


@money_app.command("reconcile")
def reconcile_command(
    day: Annotated[str, typer.Option("--date", help="The day, YYYY-MM-DD (Vietnam time).")],
    post_office: Annotated[str, typer.Option("--post-office", help="Code or number.")],
    data_dir: DataDir = None,
) -> None:
    """Print the day's reconciliation of one post office. Exit 1 when a check fails (and say
    which, with the figures), 0 when the day balances (open exceptions are listed)."""
    from core.money.reconcile import reconcile
    from core.money.reconcile_files import rows

    try:
        when = date.fromisoformat(day)
    except ValueError as exc:
        typer.echo(f"error: date: {day!r} is not YYYY-MM-DD", err=True)
        raise typer.Exit(2) from exc
    settings = settings_for(data_dir)
    with transaction(database_for(settings)[1]) as session:
        office = _post_office(session, post_office)
        report = reconcile(session, day=when, post_office_id=office.id)
        lines = rows(report)
    typer.echo(f"Đối soát / Reconciliation {when:%d/%m/%Y} — {report.post_office_name}")
    for section, item, amount, note in lines:
        figure = _amount(int(amount)) if amount and "Số biên lai" not in item else amount
        typer.echo(f"  {section:<40} {item:<60} {figure:>16}  {note}".rstrip())
    for failure in report.failures():
        typer.echo(f"MISMATCH {failure.name}: {failure.label_en}: expected "
                   f"{failure.expected_vnd}, found {failure.actual_vnd} "
                   f"{failure.detail}")  # fmt: skip
    if not report.balanced:
        typer.echo("does not balance", err=True)
        raise typer.Exit(1)
    typer.echo(f"balances; {len(report.exceptions)} exception(s) open")


@money_app.command("import-statement")
def import_statement_command(
    file: Annotated[Path, typer.Argument(help="The bank's CSV or .xlsx export.")],
    user: Annotated[str, typer.Option("--as", help="The importing staff user's username.")],
    post_office: Annotated[str | None, typer.Option("--post-office")] = None,
    data_dir: DataDir = None,
) -> None:
    """Import a statement as a staff user would from the page (the same checks and queue)."""
    from core.identity.models import User
    from core.money.bank.service import import_statement

    settings = settings_for(data_dir)
    try:
        with transaction(database_for(settings)[1]) as session:
            staff = session.scalar(select(User).where(User.username == user))
            if staff is None:
                typer.echo(f"error: as: no user {user!r}", err=True)
                raise typer.Exit(2)
            chosen = _post_office(session, post_office).id if post_office else None
            result = import_statement(session, data=file.read_bytes(), filename=file.name,
                                      user=staff, at=datetime.now(UTC),
                                      post_office_id=chosen)  # fmt: skip
            counts = result.counts()
            errors = [f"line {e.line} {e.column or ''}: {e.reason_en}" for e in result.errors]
    except DomainError as exc:
        typer.echo(f"error: {exc.field}: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    if result.already_imported:
        typer.echo(f"already imported as statement #{result.statement.id}: nothing changed")
        return
    typer.echo(f"statement #{result.statement.id}: {len(result.new)} new line(s), "
               f"{result.known} already known; {counts}")  # fmt: skip
    for error in errors:
        typer.echo(f"unreadable {error}", err=True)
