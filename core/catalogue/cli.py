"""``hoso catalogue …``: import and export offices, post offices, procedures and price tiers.

The command line acts as the server's administrator (every province, the national
procedures): whoever can run ``hoso`` on the server already holds its database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.cli_support import DataDir, database_for, settings_for
from core.db import transaction

catalogue_app = typer.Typer(
    help="Offices, post offices, procedures and price tiers: import and export (CSV, Excel).",
    no_args_is_help=True,
)

KindArgument = Annotated[
    str, typer.Argument(help="offices, post_offices, procedures or price_tiers.")
]


def _english() -> bool:
    import os

    return os.environ.get("HOSO_LANG", "vi") == "en"


@catalogue_app.command("import")
def import_command(
    kind: KindArgument,
    file: Annotated[
        Path, typer.Argument(help="A .csv (UTF-8) or .xlsx file; see docs/catalogue.md.")
    ],
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check the file and say what would change; change nothing."),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Import a file, all or nothing: one bad row and nothing changes (each bad row is listed)."""
    from core.catalogue.access import CatalogueScope
    from core.catalogue.service import import_file
    from core.errors import DomainError

    if not file.is_file():
        typer.echo(f"error: file: {file} does not exist", err=True)
        raise typer.Exit(2)
    _, factory = database_for(settings_for(data_dir))
    english = _english()
    try:
        with transaction(factory) as session:
            report = import_file(session, kind, file.read_bytes(), CatalogueScope.everything(),
                                 filename=file.name, dry_run=dry_run)  # fmt: skip
    except DomainError as exc:
        typer.echo(f"error: {exc.field}: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    if report.refused:
        typer.echo(
            f"{file.name}: refused, nothing changed ({len(report.errors)} errors)"
            if english else
            f"{file.name}: không nhập, không thay đổi gì ({len(report.errors)} lỗi)",
            err=True,
        )  # fmt: skip
        for error in report.errors:
            reason = error.reason_en if english else error.reason_vi
            where = f"line {error.line}" if english else f"dòng {error.line}"
            column = f", {error.column}" if error.column else ""
            typer.echo(f"  {where}{column}: {reason}", err=True)
        raise typer.Exit(1)
    verb = ("would create" if dry_run else "created") if english else (
        "sẽ thêm" if dry_run else "đã thêm")  # fmt: skip
    typer.echo(
        f"{kind}: {report.rows} {'rows' if english else 'dòng'}; {verb} {len(report.created)}, "
        f"{'updated' if english else 'sửa'} {len(report.updated)}, "
        f"{'unchanged' if english else 'giữ nguyên'} {report.unchanged}"
        + (" (dry run: nothing changed)" if dry_run and english else "")
        + (" (chạy thử: không thay đổi gì)" if dry_run and not english else "")
    )


@catalogue_app.command("export")
def export_command(
    kind: KindArgument,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    file_format: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
    province: Annotated[str | None, typer.Option(help="Only this province (2-digit code).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Export a kind as a file that imports back unchanged."""
    from core.catalogue.access import CatalogueScope
    from core.catalogue.service import export_file
    from core.catalogue.tabular import FORMATS
    from core.errors import DomainError

    if file_format not in FORMATS:
        typer.echo("error: format: csv or xlsx", err=True)
        raise typer.Exit(2)
    _, factory = database_for(settings_for(data_dir))
    try:
        with transaction(factory) as session:
            data = export_file(session, kind, "xlsx" if file_format == "xlsx" else "csv",
                               CatalogueScope.everything(), province)  # fmt: skip
    except DomainError as exc:
        typer.echo(f"error: {exc.field}: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    output.write_bytes(data)
    typer.echo(f"{kind}: {output}")
