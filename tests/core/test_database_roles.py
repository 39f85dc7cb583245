"""The database protects the ledger from the app itself (reliability report D6).

The suite's own database is built like production's: migrated by an owner role, used by an
app role. These tests try, as the app role, every way the report found around the ledger's
append-only trigger, and check the owner's grants reach tables made by later migrations.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from core.db import (
    DatabaseUrls,
    _embedded_servers,
    _embedded_urls,
    embedded_database_urls,
    role_of,
)
from core.migrate import grant_app_role, migrate_schema, schema_is_current

ATTEMPTS = {
    "update": "UPDATE custody_events SET seq = seq",
    "delete": "DELETE FROM custody_events",
    "truncate": "TRUNCATE custody_events",
    "disable the trigger": "ALTER TABLE custody_events DISABLE TRIGGER custody_events_append_only",
    "disable all triggers": "ALTER TABLE custody_events DISABLE TRIGGER ALL",
    "replicate around it": "SET session_replication_role = replica",
    "take the owner's role": "SET ROLE {owner}",
    "drop the trigger": "DROP TRIGGER custody_events_append_only ON custody_events",
    "create a table": "CREATE TABLE app_owned (id int)",
}


@pytest.mark.parametrize("attempt", list(ATTEMPTS))
def test_the_app_role_cannot_get_around_the_ledger(
    engine: Engine, database_urls: DatabaseUrls, attempt: str
) -> None:
    assert database_urls.owner is not None
    statement = ATTEMPTS[attempt].format(owner=role_of(database_urls.owner))
    with engine.connect() as conn, conn.begin():
        with pytest.raises(DBAPIError) as refused:
            conn.execute(text(statement))
        # Refused by the privilege system (42501), not by the trigger or a missing row.
        assert refused.value.orig is not None
        assert getattr(refused.value.orig, "sqlstate", None) == "42501", str(refused.value)


def test_the_app_role_is_neither_superuser_nor_ledger_owner(
    engine: Engine, database_urls: DatabaseUrls
) -> None:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT current_user, r.rolsuper, r.rolcreaterole, r.rolcreatedb, "
                "pg_get_userbyid(c.relowner) "
                "FROM pg_roles r, pg_class c "
                "WHERE r.rolname = current_user AND c.oid = 'custody_events'::regclass"
            )
        ).one()
    assert row[0] == role_of(database_urls.app)
    assert (row[1], row[2], row[3]) == (False, False, False)
    assert row[4] == role_of(database_urls.owner or "")
    assert row[4] != row[0]


def test_the_app_role_may_read_and_append_to_the_ledger(engine: Engine) -> None:
    with engine.connect() as conn:
        privileges = {
            p: conn.scalar(text("SELECT has_table_privilege('custody_events', :p)"), {"p": p})
            for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER")
        }
    assert privileges == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": False,
        "DELETE": False,
        "TRUNCATE": False,
        "TRIGGER": False,
    }


def test_a_table_from_a_later_migration_is_granted_to_the_app(
    database_urls: DatabaseUrls, engine: Engine
) -> None:
    """Default privileges: a migration that creates a table needs no grant of its own."""
    assert database_urls.owner is not None
    owner = create_engine(database_urls.owner)
    try:
        with owner.begin() as conn:
            conn.execute(text("CREATE TABLE later_table (id serial PRIMARY KEY, note text)"))
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO later_table (note) VALUES ('x')"))
            conn.execute(text("UPDATE later_table SET note = 'y'"))
            assert conn.scalar(text("SELECT note FROM later_table")) == "y"
            conn.execute(text("DELETE FROM later_table"))
    finally:
        with owner.begin() as conn:
            conn.execute(text("DROP TABLE later_table"))
        owner.dispose()


def test_granting_again_is_harmless_and_the_schema_reads_current(
    database_urls: DatabaseUrls, database_url: str
) -> None:
    assert database_urls.owner is not None
    grant_app_role(database_urls.owner, role_of(database_url))
    assert schema_is_current(database_url)


def test_the_embedded_server_of_the_demo_has_the_same_two_roles() -> None:
    # A short folder of our own: the server's socket lives in it, and socket paths are
    # limited to about 100 characters (pytest's tmp_path can be longer).
    tmp_path = Path(tempfile.mkdtemp(prefix="hoso-embedded-"))
    urls = embedded_database_urls(tmp_path)
    try:
        assert (role_of(urls.app), role_of(urls.owner or "")) == ("hoso_app", "hoso_owner")
        migrate_schema(urls)
        assert embedded_database_urls(tmp_path) == urls  # a second command finds the same
        app = create_engine(urls.app)
        try:
            with app.connect() as conn:
                owner, superuser = conn.execute(
                    text(
                        "SELECT pg_get_userbyid(c.relowner), r.rolsuper FROM pg_class c, pg_roles r"
                        " WHERE c.oid = 'custody_events'::regclass AND r.rolname = current_user"
                    )
                ).one()
                assert (owner, superuser) == ("hoso_owner", False)
                with pytest.raises(DBAPIError):
                    conn.execute(text("SET session_replication_role = replica"))
        finally:
            app.dispose()
    finally:
        pgdata = tmp_path.resolve() / "pg"
        server = _embedded_servers.pop(pgdata)
        _embedded_urls.pop(tmp_path.resolve())
        server.cleanup_mode = "delete"  # the demo's server outlives its process; this one not
        server.cleanup()
        shutil.rmtree(tmp_path, ignore_errors=True)
