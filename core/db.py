"""Engine, sessions and the choice of database.

Every process picks its database the same way: ``DATABASE_URL`` when set, else an embedded
PostgreSQL (the ``pgserver`` package) living in ``data_dir``. That is what lets
``hoso ledger verify --data-dir D`` check exactly what ``hoso demo --data-dir D`` serves.

Two roles, so the database protects the ledger from the app itself: the *owner* runs the
migrations and owns every table; the *app* role (``DATABASE_URL``) only has the rights
``core.migrate.grant_app_role`` gives it, which on ``custody_events`` are SELECT and INSERT.
Not owning the table, it cannot disable the append-only trigger; not being a superuser, it
cannot ``SET session_replication_role = replica`` to slip past it either.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from core.settings import Settings

log = logging.getLogger(__name__)

# Stable constraint names make Alembic migrations reviewable and reversible.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@dataclass(frozen=True)
class DatabaseUrls:
    """Where the app connects (``app``) and where migrations run (``owner``), both SQLAlchemy
    URLs. ``owner`` is None when only ``DATABASE_URL`` is configured: then the app's own role
    must have migrated, and ``hoso doctor`` says it owns the ledger."""

    app: str
    owner: str | None

    @property
    def migration(self) -> str:
        return self.owner or self.app


class EmbeddedDatabaseMissing(RuntimeError):
    """DATABASE_URL is unset and the embedded server (the ``demo`` extra) is not installed:
    the production image leaves it out."""


_embedded_servers: dict[Path, Any] = {}
_embedded_urls: dict[Path, DatabaseUrls] = {}

# The embedded server's database and roles, made at its first start (provision_roles).
EMBEDDED_DATABASE = "hoso"
EMBEDDED_OWNER_ROLE = "hoso_owner"
EMBEDDED_APP_ROLE = "hoso_app"


def role_of(url: str) -> str:
    return make_url(url).username or ""


def embedded_database_url(data_dir: Path) -> str:
    """The embedded server's URL for the app role (see embedded_database_urls)."""
    return embedded_database_urls(data_dir).app


def embedded_database_urls(data_dir: Path) -> DatabaseUrls:
    """Start (or reuse) the embedded PostgreSQL in ``data_dir / "pg"``; its database ``hoso``
    belongs to ``hoso_owner`` and the app connects as ``hoso_app``, as in production."""
    key = data_dir.expanduser().resolve()
    urls = _embedded_urls.get(key)
    if urls is None:
        superuser = _embedded_superuser_url(data_dir)
        provision_roles(superuser, EMBEDDED_DATABASE, EMBEDDED_OWNER_ROLE, EMBEDDED_APP_ROLE)
        base = make_url(superuser).set(database=EMBEDDED_DATABASE, password=None)
        urls = _embedded_urls[key] = DatabaseUrls(
            app=base.set(username=EMBEDDED_APP_ROLE).render_as_string(hide_password=False),
            owner=base.set(username=EMBEDDED_OWNER_ROLE).render_as_string(hide_password=False),
        )
    return urls


def _embedded_superuser_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL in ``data_dir / "pg"``; its superuser's URL."""
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pg"
    server = _embedded_servers.get(pgdata)
    if server is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                import pgserver
            except ImportError as exc:
                raise EmbeddedDatabaseMissing() from exc

            # cleanup_mode=None: the server outlives this process, so a second command
            # (``hoso ledger verify``) attaches to the one ``hoso demo`` started.
            server = pgserver.get_server(pgdata, cleanup_mode=None)  # type: ignore[attr-defined]
        _embedded_servers[pgdata] = server
        log.info("db.embedded_started", extra={"pgdata": str(pgdata)})
    uri: str = server.get_uri()
    return to_sqlalchemy_url(uri)


def to_sqlalchemy_url(url: str) -> str:
    """Force the psycopg 3 driver whatever scheme the URL came with."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got {url.split(':', 1)[0]}://")


def database_urls(settings: Settings) -> DatabaseUrls:
    if settings.database_url:
        owner = settings.database_owner_url
        return DatabaseUrls(
            app=to_sqlalchemy_url(settings.database_url),
            owner=to_sqlalchemy_url(owner) if owner else None,
        )
    return embedded_database_urls(settings.data_dir)


def database_url(settings: Settings) -> str:
    """The app's connection (never the owner's)."""
    return database_urls(settings).app


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def provision_roles(superuser_url: str, database: str, owner: str, app: str) -> None:
    """Create (if missing) the owner and app roles and ``database`` owned by the owner.

    Idempotent: the embedded server runs it at every start. Roles get no password: the
    embedded server only listens on its socket with trust authentication, and test servers
    are trusted the same way; production makes its roles with passwords (docker/initdb).
    """
    admin = create_engine(to_sqlalchemy_url(superuser_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for role in (owner, app):
                exists = conn.execute(
                    text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
                ).first()
                if exists is None:
                    conn.execute(
                        text(
                            f"CREATE ROLE {_quote(role)} LOGIN NOSUPERUSER NOCREATEDB "
                            "NOCREATEROLE NOREPLICATION NOBYPASSRLS"
                        )
                    )
            has_db = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}
            ).first()
            if has_db is None:
                conn.execute(text(f"CREATE DATABASE {_quote(database)} OWNER {_quote(owner)}"))
            conn.execute(text(f"REVOKE ALL ON DATABASE {_quote(database)} FROM PUBLIC"))
            conn.execute(
                text(f"GRANT CONNECT, TEMPORARY ON DATABASE {_quote(database)} TO {_quote(app)}")
            )
    finally:
        admin.dispose()
    inside = create_engine(
        make_url(to_sqlalchemy_url(superuser_url)).set(database=database),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with inside.connect() as conn:
            # Before PostgreSQL 15 every role may create tables in ``public``: the app could
            # then own tables of its own. The owner owns the schema; the app only uses it.
            conn.execute(text(f"ALTER SCHEMA public OWNER TO {_quote(owner)}"))
            conn.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
            conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {_quote(app)}"))
    finally:
        inside.dispose()


def drop_roles(superuser_url: str, *roles: str) -> None:
    admin = create_engine(to_sqlalchemy_url(superuser_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for role in roles:
                conn.execute(text(f"DROP ROLE IF EXISTS {_quote(role)}"))
    finally:
        admin.dispose()


@contextmanager
def _scratch_server(server_url: str | None) -> Iterator[str]:
    """``server_url``, or when that is None an embedded PostgreSQL started in a temporary
    folder and removed at the end, so a machine with only Python needs nothing else."""
    if server_url is not None:
        yield server_url
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    folder = Path(tempfile.mkdtemp(prefix="hoso-scratch-pg-"))
    embedded = pgserver.get_server(folder / "pg", cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        yield str(embedded.get_uri())
    finally:
        embedded.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def scratch_database(server_url: str | None, prefix: str) -> Iterator[str]:
    """A new, empty database for a test run or a bench, dropped afterwards.

    On the server of ``server_url`` (any database URL of it; see _scratch_server when None).
    Dropping first closes whatever still holds the database open: a killed server's
    connections, a pool someone forgot to dispose.
    """
    with _scratch_server(server_url) as superuser_url:
        name = f"{prefix}{uuid.uuid4().hex[:10]}"
        _run_as_admin(superuser_url, f"CREATE DATABASE {_quote(name)}")
        try:
            yield (
                make_url(to_sqlalchemy_url(superuser_url))
                .set(database=name)
                .render_as_string(hide_password=False)
            )
        finally:
            _drop_database(superuser_url, name)


@contextmanager
def scratch_database_with_roles(server_url: str | None, prefix: str) -> Iterator[DatabaseUrls]:
    """A scratch database owned by a scratch owner role, with a scratch app role, all dropped
    afterwards: the two-role arrangement of production, for the tests.

    Role names carry the database's random suffix: roles belong to the whole server, which
    several test runs may share.
    """
    with _scratch_server(server_url) as superuser_url:
        name = f"{prefix}{uuid.uuid4().hex[:10]}"
        owner, app = f"{name}_owner", f"{name}_app"
        try:
            provision_roles(superuser_url, name, owner, app)
            base = make_url(to_sqlalchemy_url(superuser_url)).set(database=name, password=None)
            yield DatabaseUrls(
                app=base.set(username=app).render_as_string(hide_password=False),
                owner=base.set(username=owner).render_as_string(hide_password=False),
            )
        finally:
            _drop_database(superuser_url, name)
            drop_roles(superuser_url, owner, app)


def _run_as_admin(superuser_url: str, statement: str) -> None:
    admin = create_engine(to_sqlalchemy_url(superuser_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


def _drop_database(superuser_url: str, name: str) -> None:
    admin = create_engine(to_sqlalchemy_url(superuser_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f"DROP DATABASE IF EXISTS {_quote(name)}"))
    finally:
        admin.dispose()


def make_engine(url: str, **kwargs: Any) -> Engine:
    return create_engine(url, pool_pre_ping=True, future=True, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work owned by the caller (an edge: request, job or CLI command)."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
