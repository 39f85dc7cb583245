"""Running Alembic from code, so every command and the tests build the schema one way.

Migrations run as the owner role; afterwards the app role (``DATABASE_URL``) is granted what
the app needs and no more (see core.db for why there are two roles).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from core.db import DatabaseUrls, role_of

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

# Tables the app may only read and append to: the custody ledger, the admin audit log and the
# money ledger, the ledger's Merkle tree and signed heads, receive-only claims and recorded
# dossier codes. Every other table of the schema the app reads and writes (projections,
# outbox, sessions, ...).
APPEND_ONLY_TABLES = (
    "custody_events",
    "admin_audit_log",
    "money_accounts",
    "money_transactions",
    "money_postings",
    "money_receipts",
    "money_cash_ups",
    "bank_lines",
    "bank_line_decisions",
    "ledger_leaves",
    "ledger_tree_nodes",
    "ledger_checkpoints",
    "receive_requests",
    "dossier_code_records",
    "digitised_copy_accesses",
    "event_device_signatures",
    "event_server_signatures",
    "server_signing_keys",
    "server_signing_epoch",
)
# Alembic's bookkeeping: the app reads it (``hoso doctor`` checks the schema is current).
READ_ONLY_TABLES = ("alembic_version",)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config is an INI file: a literal % in a URL must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    # "heads": branches made in parallel apply together until a merge revision joins them.
    command.upgrade(alembic_config(url), revision)


def migrate_schema(urls: DatabaseUrls) -> None:
    """Upgrade as the owner, then grant the app role its rights (when it is another role)."""
    upgrade(urls.migration)
    if urls.owner is not None and role_of(urls.owner) != role_of(urls.app):
        grant_app_role(urls.owner, role_of(urls.app))


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def grant_app_role(owner_url: str, app_role: str) -> None:
    """Give ``app_role`` exactly what the app needs, as the owner; idempotent.

    Tables a later migration creates are covered twice: by the owner's default privileges
    (granted the moment the table exists) and by this function, which ``hoso migrate`` runs
    after every upgrade. A later append-only table must be added to APPEND_ONLY_TABLES.
    """
    app = _quote(app_role)
    engine = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {app}"))
            every_table = "ALL TABLES IN SCHEMA public"
            conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {every_table} TO {app}"))
            conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}"))
            conn.execute(
                text(
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}"
                )
            )
            conn.execute(
                text(
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
                    f"GRANT USAGE, SELECT ON SEQUENCES TO {app}"
                )
            )
            existing = set(
                conn.scalars(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                ).all()
            )
            for table in APPEND_ONLY_TABLES:
                if table in existing:
                    conn.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {app}"))
            for table in READ_ONLY_TABLES:
                if table in existing:
                    conn.execute(
                        text(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {table} FROM {app}")
                    )
    finally:
        engine.dispose()


def schema_is_current(url: str) -> bool:
    """True when the database is at every head of the migrations (any role that can read)."""
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            # Read directly: alembic's MigrationContext narrates itself at INFO.
            current = set(conn.scalars(text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()
    return current == heads
