"""``hoso digitised``: delete copies past their retention, check copies against the ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy import select

from core.cli_support import DataDir, database_for, settings_for
from core.db import transaction
from core.digitising.models import DigitisedCopy
from core.digitising.retention import purge_expired
from core.digitising.service import tampering

digitised_app = typer.Typer(help="Digitised dossiers (docs/digitising.md).", no_args_is_help=True)


@digitised_app.command("purge")
def purge(
    data_dir: DataDir = None,
    limit: Annotated[int, typer.Option(min=1, help="Copies per transaction.")] = 200,
) -> None:
    """Delete the copies whose case closed more than HOSO_DIGITISED_RETENTION_DAYS ago, each
    deletion a ledger event. The worker runs it hourly; run it by hand or from cron too."""
    settings = settings_for(data_dir)
    _, factory = database_for(settings)
    total = 0
    while True:
        with transaction(factory) as session:
            deleted = purge_expired(session, settings, now=datetime.now(UTC), limit=limit)
        total += len(deleted)
        for copy in deleted:
            typer.echo(f"deleted the copy of {copy.item_code} (sha256 {copy.pdf_sha256[:16]}…, "
                       f"case closed {copy.case_closed_at:%Y-%m-%d})")  # fmt: skip
        if len(deleted) < limit:
            break
    typer.echo(f"deleted {total} digitised copies")


@digitised_app.command("verify")
def verify(data_dir: DataDir = None) -> None:
    """Hash every stored copy again and compare it with its ledger event; exit 1 on any change."""
    settings = settings_for(data_dir)
    _, factory = database_for(settings)
    bad = checked = 0
    with transaction(factory) as session:
        ids = session.scalars(select(DigitisedCopy.id).where(DigitisedCopy.deleted_at.is_(None)))
        for copy_id in list(ids):
            copy = session.get(DigitisedCopy, copy_id)
            assert copy is not None
            checked += 1
            for problem in tampering(session, copy):
                bad += 1
                typer.echo(f"copy {copy.id} (item {copy.item_id}): {problem}")
            session.expunge(copy)  # one copy's bytes in memory at a time
    typer.echo(f"checked {checked} digitised copies: {bad} problems")
    if bad:
        raise typer.Exit(1)
