"""``hoso money bank-key``: a bank's key for its signed payment notifications. Here, not in
``core.money.cli``: the keys share the agency API's signing (core.agency), which the money
ledger must not import (core.agency reaches the ledger through bookings)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from core.bankdesk.keys import issue_key
from core.cli_support import DataDir, database_for, settings_for
from core.db import transaction
from core.errors import DomainError


def bank_key_command(
    bank: Annotated[str, typer.Option(help="The bank's short name, e.g. Vietcombank.")],
    account: Annotated[str, typer.Option(help="The account number it reports on.")],
    province: Annotated[str, typer.Option(help="2-digit province code of the account.")],
    data_dir: DataDir = None,
) -> None:
    """Issue a key for a bank's signed payment notifications (the secret is shown once)."""
    settings = settings_for(data_dir)
    try:
        with transaction(database_for(settings)[1]) as session:
            key = issue_key(session, settings, bank=bank, account_no=account,
                            province_code=province, now=datetime.now(UTC))  # fmt: skip
    except DomainError as exc:
        typer.echo(f"error: {exc.field}: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"key id: {key.key_id}")
    typer.echo(f"secret: {key.secret}  (shown once; only its hash is kept)")
