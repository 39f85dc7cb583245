"""``hoso report`` (the monthly PDF of a province) and ``hoso sla …`` (roll-ups, targets)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from core.cli_support import DataDir
from core.cli_support import database_for as _database
from core.cli_support import settings_for as _settings
from core.db import transaction
from core.errors import DomainError

sla_app = typer.Typer(help="Service-quality roll-ups and targets.", no_args_is_help=True)


def report(
    month: Annotated[str, typer.Option("--month", help="The month, yyyy-mm (e.g. 2026-11).")],
    province: Annotated[str, typer.Option("--province", help="2-digit province code.")],
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the PDF.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Write the monthly service-quality report of a province as a PDF."""
    from core.sla.monthly import monthly_report_pdf
    from core.sla.rollup import catch_up

    settings = _settings(data_dir)
    _, factory = _database(settings)
    now = datetime.now(UTC)
    target = out or Path(f"bao-cao-chat-luong-{province}-{month}.pdf")
    try:
        with transaction(factory) as session:
            catch_up(session, settings, now=now)
            pdf = monthly_report_pdf(session, settings, province_code=province, month=month,
                                     now=now)  # fmt: skip
    except DomainError as exc:
        typer.echo(f"error: {exc.field}: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    target.write_bytes(pdf)
    typer.echo(f"wrote {target} ({len(pdf)} bytes)")


@sla_app.command("refresh")
def refresh(data_dir: DataDir = None) -> None:
    """Read everything new into the roll-ups now (the worker does it every second)."""
    from core.sla.rollup import catch_up

    settings = _settings(data_dir)
    _, factory = _database(settings)
    with transaction(factory) as session:
        changed = catch_up(session, settings, now=datetime.now(UTC))
    typer.echo(f"{changed} subjects changed")


@sla_app.command("rebuild")
def rebuild(data_dir: DataDir = None) -> None:
    """Forget the roll-ups and recompute them all from the ledger (after a target change)."""
    from core.sla.rollup import catch_up
    from core.sla.rollup import rebuild as forget

    settings = _settings(data_dir)
    _, factory = _database(settings)
    with transaction(factory) as session:
        forget(session)
        changed = catch_up(session, settings, now=datetime.now(UTC))
    typer.echo(f"rebuilt: {changed} subjects")


@sla_app.command("target")
def target(
    name: Annotated[
        str,
        typer.Argument(
            help="pickup_grace, door_to_desk, result_days, desk_handover or complaint_days"
        ),
    ],  # fmt: skip
    value: Annotated[int, typer.Argument(help="In the target's unit (minutes, hours, days).")],
    province: Annotated[str, typer.Option("--province", help="2-digit province code.")],
    office: Annotated[str | None, typer.Option("--office", help="An office's code.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Set a province's (or one office's) own target; the default is in settings."""
    from core.sla.targets import TARGETS, set_target

    settings = _settings(data_dir)
    _, factory = _database(settings)
    try:
        with transaction(factory) as session:
            set_target(session, name=name, province_code=province, office_code=office,
                       value=value, now=datetime.now(UTC))  # fmt: skip
    except DomainError as exc:
        typer.echo(f"error: {exc.field}: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    unit = TARGETS[name][2]
    where = f"office {office}" if office else f"province {province}"
    typer.echo(f"{name} = {value} {unit} for {where} (applies to what is measured from now)")
