"""``hoso portal``: the status sync to the national public service portal."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from core.cli_support import DataDir, database_for, settings_for
from core.db import transaction

portal_app = typer.Typer(help="Status sync to the national public service portal.",
                         no_args_is_help=True)  # fmt: skip


@portal_app.command("reconcile")
def reconcile(
    day: Annotated[str, typer.Option("--date", help="The day, YYYY-MM-DD (Vietnam time).")],
    data_dir: DataDir = None,
) -> None:
    """Compare the status changes the ledger implies for a day with what was sent to the
    portal and acknowledged; list every gap. Exit 0: none; 1: gaps; 2: could not run."""
    from core.portal.reconcile import reconcile_day

    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(f"{day!r} is not a date YYYY-MM-DD", param_hint="--date") from None
    _, factory = database_for(settings_for(data_dir))
    with transaction(factory) as session:
        report = reconcile_day(session, wanted)
    for gap in report.gaps:
        typer.echo(gap)
    share = 100.0 * report.acknowledged / report.expected if report.expected else 100.0
    typer.echo(f"{wanted:%d/%m/%Y}: {report.expected} status changes, {report.acknowledged} "
               f"sent and acknowledged ({share:.1f}%), {len(report.gaps)} gaps")  # fmt: skip
    raise typer.Exit(0 if report.ok else 1)
