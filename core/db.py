"""Engine, sessions and the choice of database.

Every process picks its database the same way: ``DATABASE_URL`` when set, else an embedded
PostgreSQL (the ``pgserver`` package) living in ``data_dir``. That is what lets
``hoso ledger verify --data-dir D`` check exactly what ``hoso demo --data-dir D`` serves.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
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


_embedded_servers: dict[Path, Any] = {}


def embedded_database_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL in ``data_dir / "pg"`` and return its URL."""
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pg"
    server = _embedded_servers.get(pgdata)
    if server is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

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


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return to_sqlalchemy_url(settings.database_url)
    return embedded_database_url(settings.data_dir)


@contextmanager
def scratch_database(server_url: str | None, prefix: str) -> Iterator[str]:
    """A new, empty database for a test run or a bench, dropped afterwards.

    On the server of ``server_url`` (any database URL of it), or when that is None on an
    embedded PostgreSQL started in a temporary folder and removed at the end, so a machine
    with only Python needs nothing else. Dropping first closes whatever still holds the
    database open: a killed server's connections, a pool someone forgot to dispose.
    """
    folder = embedded = None
    if server_url is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver
        folder = Path(tempfile.mkdtemp(prefix="hoso-scratch-pg-"))
        embedded = pgserver.get_server(folder / "pg", cleanup_mode="stop")  # type: ignore[attr-defined]
        server_url = embedded.get_uri()
    admin = create_engine(to_sqlalchemy_url(server_url), isolation_level="AUTOCOMMIT")
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin.url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()
        if embedded is not None:
            embedded.cleanup()
            shutil.rmtree(folder, ignore_errors=True)  # type: ignore[arg-type]


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
