"""Tests run on real PostgreSQL, built by running the migrations; each test is rolled back.

As in production, migrations run as an owner role and every test connects as the app role
(``database_url``), which owns nothing: the whole suite proves the app role's grants are
enough. ``database_urls.owner`` is there for tests about the roles themselves.

``HOSO_TEST_DATABASE_URL`` points at a server to use (a fresh database is created on it);
otherwise an embedded PostgreSQL (pgserver) is started in a temporary folder, so a machine
with only Python needs nothing else.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.db import DatabaseUrls, make_sessionmaker, scratch_database_with_roles
from core.migrate import migrate_schema
from core.places.service import load_admin_units
from core.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[1]
# The checkout's data dir, where settings point when HOSO_DATA_DIR is unset (the demo's
# database, signed heads, the SMS log). A head a test wrote there once made a later
# `hoso ledger verify` in this checkout (the verify bench's) fail on a key it did not trust.
CHECKOUT_DATA_DIR = ROOT / ".hoso-data"
# So the whole run, and every process it starts with its environment, writes in a folder of
# its own, set before any settings are read (the SMS log's default is in it too).
TEST_DATA_DIR = Path(tempfile.mkdtemp(prefix="hoso-test-data-"))
os.environ["HOSO_DATA_DIR"] = str(TEST_DATA_DIR)
atexit.register(shutil.rmtree, TEST_DATA_DIR, ignore_errors=True)

# Every event is signed with the server's key when recorded (core/custody/server_signing.py).
# Without a configured key it is derived from the secret, which tests set differently (the
# CLI's runner uses the tests' secret, other code the default): one key for the whole run,
# inherited by the servers tests start, so events any of them committed to the shared test
# database verify with it.
os.environ.setdefault(
    "HOSO_EVENT_SIGNING_KEY",
    "PRIVATE+KEY+hoso.test/events+d77135d5+AVQnusldSGn/gOzGZWkkSG3nwsd7BPgHe3VEo7Xnu7Cz",
)
get_settings.cache_clear()


def data_dir_state(folder: Path) -> dict[str, tuple[int, int]]:
    """What is at the top of ``folder``: each entry's size and modification time (nothing
    when the folder is absent). Top level only: an embedded PostgreSQL below it is large."""
    if not folder.is_dir():
        return {}
    with os.scandir(folder) as entries:
        return {e.name: (e.stat().st_size, e.stat().st_mtime_ns) for e in entries}


def data_dir_changes(folder: Path, before: dict[str, tuple[int, int]]) -> list[str]:
    """The entries of ``folder`` added, removed or written since ``before``."""
    after = data_dir_state(folder)
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


def _untouched_message(changed: list[str]) -> str:
    return (
        f"written into the checkout's data dir {CHECKOUT_DATA_DIR}: {', '.join(changed)}. Tests "
        "write in their own folder (tmp_path, or the run's HOSO_DATA_DIR); a process started "
        "without the run's environment falls back to the checkout's. (A `hoso demo` running "
        "from this checkout at the same time writes there too.)"
    )


@pytest.fixture(autouse=True)
def _checkout_data_dir_untouched() -> Iterator[None]:
    """Fails the test (at its teardown) that wrote into the checkout's data dir, naming it."""
    before = data_dir_state(CHECKOUT_DATA_DIR)
    yield
    if changed := data_dir_changes(CHECKOUT_DATA_DIR, before):
        pytest.fail(_untouched_message(changed), pytrace=False)


_AT_START = data_dir_state(CHECKOUT_DATA_DIR)  # before the first test, as this file loads


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """What a module's or the session's fixtures wrote outside any one test fails the run."""
    if changed := data_dir_changes(CHECKOUT_DATA_DIR, _AT_START):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("")  # the progress line may still be open
            reporter.write_sep("=", "FAILED after the run", red=True)
            reporter.write_line(_untouched_message(changed), red=True)


@pytest.fixture(scope="session")
def database_urls() -> Iterator[DatabaseUrls]:
    server = os.environ.get("HOSO_TEST_DATABASE_URL")
    with scratch_database_with_roles(server, "hoso_test_") as urls:
        migrate_schema(urls)
        engine = create_engine(urls.app)
        with make_sessionmaker(engine).begin() as session:
            load_admin_units(session)
        engine.dispose()
        yield urls


@pytest.fixture(scope="session")
def database_url(database_urls: DatabaseUrls) -> str:
    """The app role's URL: what every test and every app under test connects with."""
    return database_urls.app


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_engine(database_url, pool_size=10)
    yield eng
    eng.dispose()


def _rolled_back_session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", autoflush=False,
                      expire_on_commit=False)  # fmt: skip
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back at the end, even what the code under test commits."""
    yield from _rolled_back_session(engine)


@pytest.fixture(scope="session")
def owner_engine(database_urls: DatabaseUrls) -> Iterator[Engine]:
    """The migrations' role, which owns the tables: for tests of what only it can do."""
    assert database_urls.owner is not None
    eng = create_engine(database_urls.owner, pool_size=2)
    yield eng
    eng.dispose()


@pytest.fixture
def owner_db(owner_engine: Engine) -> Iterator[Session]:
    """Like ``db``, connected as the owner role; rolled back at the end."""
    yield from _rolled_back_session(owner_engine)


@pytest.fixture
def committing(engine: Engine) -> sessionmaker[Session]:
    """Real commits, for tests of concurrency. Data persists until the test database is dropped."""
    return make_sessionmaker(engine)


@pytest.fixture
def cli_runner(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[CliRunner]:
    """``hoso`` as a person runs it against the test database: its settings from the
    environment, signed heads in the test's own file (never the checkout's data dir), and the
    tests' secret, so heads other tests signed in the shared database verify with its key."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("HOSO_LEDGER_HEADS_FILE", str(tmp_path / "ledger-heads.jsonl"))
    monkeypatch.setenv("HOSO_SECRET_KEY", "test-secret")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Signed ledger heads go to the test's own folder, never into the checkout's data dir.
    return Settings(environment="test", secret_key="test-secret", database_url=None,
                    ledger_heads_file=tmp_path / "ledger-heads.jsonl")  # fmt: skip


# -- browser (Debian's chromium via Playwright); one instance for the whole run --------------

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("HOSO_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    """One Playwright driver per run (two sync drivers cannot share a thread)."""
    if chromium_path() is None:
        pytest.skip(
            "Chromium not installed: run `apt-get install chromium` (Debian) or set HOSO_CHROMIUM"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


def launch_chromium(driver: Any, extra_args: list[str] | None = None) -> Any:
    return driver.chromium.launch(
        executable_path=chromium_path(), args=[*CHROMIUM_FLAGS, *(extra_args or [])]
    )


@pytest.fixture(scope="session")
def browser(playwright_driver: Any) -> Iterator[Any]:
    instance = launch_chromium(playwright_driver)
    yield instance
    instance.close()
