"""``hoso admin …``: staff accounts from the command line, e.g. the first admin of a province.

Passwords are never taken from an argument (they would sit in the shell history and in
``ps``): they are read from a hidden prompt, typed twice, or from standard input when it is
not a terminal (or with ``--password-stdin``), one line.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.admin.permissions import Operator
from core.cli_support import DataDir, database_for, settings_for
from core.db import transaction
from core.errors import DomainError
from core.settings import Settings

admin_app = typer.Typer(help="Staff accounts: create, list, deactivate, reset passwords.",
                        no_args_is_help=True)  # fmt: skip

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (one line); "
                 "the default when standard input is not a terminal."),
]  # fmt: skip


def _factory(data_dir: Path | None) -> tuple[Settings, sessionmaker[Session]]:
    settings = settings_for(data_dir)
    return settings, database_for(settings)[1]


def _operator() -> Operator:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Operator.command_line(who)


def _read_password(from_stdin: bool, what: str = "Password") -> str:
    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            _fail("password", "no password on standard input")
        return line
    password: str = typer.prompt(f"{what} / Mật khẩu", hide_input=True,
                                 confirmation_prompt="Repeat / Nhập lại")  # fmt: skip
    return password


def _fail(field: str | None, detail: str) -> NoReturn:
    typer.echo(f"error: {field}: {detail}" if field else f"error: {detail}", err=True)
    raise typer.Exit(2)


def _lookup_id(session: Session, username: str) -> int:
    from core.identity.models import User

    user_id = session.scalar(select(User.id).where(User.username == username.strip().lower()))
    if user_id is None:
        _fail("username", f"no user {username!r}")
    return user_id


@admin_app.command("create-user")
def create_user_command(
    username: Annotated[str, typer.Option("--username", help="Sign-in name, e.g. nguyenvana.")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="admin, province_supervisor, dispatcher, desk_officer, courier or counter_clerk.",
        ),
    ],
    full_name: Annotated[str | None, typer.Option("--full-name")] = None,
    phone: Annotated[str | None, typer.Option("--phone")] = None,
    office: Annotated[
        str | None, typer.Option("--office", help="Office code (desk officers).")
    ] = None,
    post_office: Annotated[
        str | None,
        typer.Option(
            "--post-office", help="Post office code (dispatchers, couriers, counter clerks)."
        ),
    ] = None,
    province: Annotated[
        str | None, typer.Option("--province", help="2-digit province code (province supervisors).")
    ] = None,
    password_stdin: PasswordStdin = False,
    must_change_password: Annotated[
        bool, typer.Option(help="Ask for a new password at the first sign-in.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create a staff user; the password is prompted for (twice, hidden) or read from stdin."""
    from core.admin.users import Binding, create_staff_user
    from core.places.models import Office, PostOffice

    password = _read_password(password_stdin)
    _, factory = _factory(data_dir)
    operator = _operator()
    try:
        with transaction(factory) as session:
            office_id = post_office_id = None
            if office is not None:
                office_id = session.scalar(select(Office.id).where(Office.code == office))
                if office_id is None:
                    _fail("office", f"no office with code {office!r}")
            if post_office is not None:
                post_office_id = session.scalar(
                    select(PostOffice.id).where(PostOffice.code == post_office)
                )
                if post_office_id is None:
                    _fail("post_office", f"no post office with code {post_office!r}")
            user = create_staff_user(
                session,
                operator,
                username=username,
                full_name=full_name or username,
                role=role,
                password=password,
                phone=phone,
                binding=Binding(
                    office_id=office_id, post_office_id=post_office_id, province_code=province
                ),  # fmt: skip
                must_change_password=must_change_password,
                now=datetime.now(UTC),
            )
            created = (user.id, user.username, user.role)
    except DomainError as exc:
        _fail(exc.field, exc.detail)
    typer.echo(f"created user {created[1]} (id {created[0]}, role {created[2]})")


@admin_app.command("list-users")
def list_users_command(
    role: Annotated[str | None, typer.Option("--role")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive", show_default=False)] = None,
    search: Annotated[str | None, typer.Option("--search", help="Part of a name or phone.")] = None,
    province: Annotated[str | None, typer.Option("--province")] = None,
    data_dir: DataDir = None,
) -> None:
    """List users: username, role, binding, province, active."""
    from core.admin.users import UserFilter, list_users

    _, factory = _factory(data_dir)
    operator = _operator()
    try:
        with transaction(factory) as session:
            rows = list_users(session, operator, UserFilter(role=role, active=active, text=search,
                                                              province_code=province))  # fmt: skip
            lines = []
            for row in rows:
                user = row.user
                place = row.office_name or row.post_office_name or ""
                state = "active" if user.active else "inactive"
                if user.must_change_password:
                    state += ", must change password"
                lines.append(f"{user.id}\t{user.username}\t{user.role}\t{row.province_code or '-'}"
                             f"\t{place}\t{state}")  # fmt: skip
    except DomainError as exc:
        _fail(exc.field, exc.detail)
    typer.echo("id\tusername\trole\tprovince\toffice/post office\tstate")
    for line in lines:
        typer.echo(line)
    typer.echo(f"{len(lines)} user(s)")


def _set_active(username: str, active: bool, data_dir: Path | None) -> None:
    from core.admin.users import set_active

    _, factory = _factory(data_dir)
    operator = _operator()
    try:
        with transaction(factory) as session:
            set_active(session, operator, _lookup_id(session, username), active,
                       now=datetime.now(UTC))  # fmt: skip
    except DomainError as exc:
        _fail(exc.field, exc.detail)
    typer.echo(f"{'reactivated' if active else 'deactivated'} {username}")


@admin_app.command("deactivate")
def deactivate_command(
    username: Annotated[str, typer.Argument()], data_dir: DataDir = None
) -> None:
    """Deactivate a user: sign-in refused, every session and phone token ended."""
    _set_active(username, False, data_dir)


@admin_app.command("reactivate")
def reactivate_command(
    username: Annotated[str, typer.Argument()], data_dir: DataDir = None
) -> None:
    """Let a deactivated user sign in again."""
    _set_active(username, True, data_dir)


@admin_app.command("reset-password")
def reset_password_command(
    username: Annotated[str, typer.Argument()],
    password_stdin: PasswordStdin = False,
    data_dir: DataDir = None,
) -> None:
    """Set a temporary password (prompted or from stdin); the user must replace it at sign-in."""
    from core.admin.users import reset_password

    password = _read_password(password_stdin, "Temporary password")
    _, factory = _factory(data_dir)
    operator = _operator()
    try:
        with transaction(factory) as session:
            reset_password(session, operator, _lookup_id(session, username), password,
                           now=datetime.now(UTC))  # fmt: skip
    except DomainError as exc:
        _fail(exc.field, exc.detail)
    typer.echo(f"password reset for {username}; they must set a new one at their next sign-in")
