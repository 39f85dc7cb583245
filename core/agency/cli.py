"""``hoso agency …``: set up agency systems and their keys; list and replay dead webhooks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.cli_support import DataDir, database_for, settings_for
from core.db import transaction
from core.settings import Settings

agency_app = typer.Typer(help="Agency systems: keys, webhooks, replay.", no_args_is_help=True)


def _factory(data_dir: Path | None) -> tuple[Settings, sessionmaker[Session]]:
    settings = settings_for(data_dir)
    return settings, database_for(settings)[1]


@agency_app.command("add-system")
def add_system(
    code: Annotated[str, typer.Argument(help="Short stable code, e.g. motcua-bacninh.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    kind: Annotated[str, typer.Option(help="provincial_one_stop or national_portal.")],
    province: Annotated[str | None, typer.Option(help="2-digit province code.")] = None,
    webhook_url: Annotated[str | None, typer.Option(help="Where status webhooks go.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Register a system and issue its first key (the secret is shown once)."""
    from core.agency.service import create_system, issue_key
    from core.errors import DomainError

    settings, factory = _factory(data_dir)
    try:
        with transaction(factory) as session:
            system = create_system(session, code=code, name=name, kind=kind,
                                   province_code=province, webhook_url=webhook_url)  # fmt: skip
            key = issue_key(session, settings, system, now=datetime.now(UTC))
    except DomainError as exc:
        typer.echo(f"error: {exc.field}: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"system {code} created")
    typer.echo(f"key id: {key.key_id}")
    typer.echo(f"secret: {key.secret}  (shown once; only its hash is kept)")


@agency_app.command("issue-key")
def issue_key_command(code: str, data_dir: DataDir = None) -> None:
    """Issue another key for a system (to rotate: issue, switch the client, revoke the old)."""
    from core.agency.models import AgencySystem
    from core.agency.service import issue_key

    settings, factory = _factory(data_dir)
    with transaction(factory) as session:
        system = session.scalar(select(AgencySystem).where(AgencySystem.code == code))
        if system is None:
            typer.echo(f"error: no system {code}", err=True)
            raise typer.Exit(2)
        key = issue_key(session, settings, system, now=datetime.now(UTC))
    typer.echo(f"key id: {key.key_id}")
    typer.echo(f"secret: {key.secret}  (shown once; only its hash is kept)")


@agency_app.command("revoke-key")
def revoke_key_command(key_id: str, data_dir: DataDir = None) -> None:
    from core.agency.service import revoke_key
    from core.errors import DomainError

    _, factory = _factory(data_dir)
    try:
        with transaction(factory) as session:
            revoke_key(session, key_id, now=datetime.now(UTC))
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"revoked {key_id}")


@agency_app.command("dead-webhooks")
def dead_webhooks_command(data_dir: DataDir = None) -> None:
    """List status webhooks that gave up (id, system, attempts, last error)."""
    from core.agency.webhooks import dead_webhooks

    _, factory = _factory(data_dir)
    with transaction(factory) as session:
        dead = dead_webhooks(session)
        for m in dead:
            typer.echo(f"{m.id}\t{m.payload.get('system')}\t{m.attempts}\t{m.last_error}")
    typer.echo(f"{len(dead)} dead webhook(s)")


@agency_app.command("replay-webhook")
def replay_webhook_command(
    message_ids: Annotated[list[int], typer.Argument(help="Outbox ids from dead-webhooks.")],
    data_dir: DataDir = None,
) -> None:
    """Queue dead-lettered webhooks again; the worker sends them on its next poll."""
    from core.agency.webhooks import replay_webhook
    from core.errors import DomainError

    _, factory = _factory(data_dir)
    try:
        with transaction(factory) as session:
            for message_id in message_ids:
                replay_webhook(session, message_id, now=datetime.now(UTC))
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"queued {len(message_ids)} webhook(s) again")
