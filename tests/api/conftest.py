from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.settings import Settings
from edge.deps import get_session, get_unit_of_work


@pytest.fixture
def client(db: Session, settings: Settings, database_url: str) -> Iterator[TestClient]:
    """The real app, its request transactions nested in the test's rolled-back one."""
    app = create_app(settings, url=database_url)

    def session_in_test_transaction() -> Iterator[Session]:
        try:
            yield db
            db.commit()  # releases the test's savepoint only
        except BaseException:
            db.rollback()
            raise

    app.dependency_overrides[get_session] = session_in_test_transaction
    in_test_transaction = contextmanager(session_in_test_transaction)
    app.dependency_overrides[get_unit_of_work] = lambda: in_test_transaction
    with TestClient(app) as test_client:
        yield test_client


class RealTransactions:
    """The app with its own request transactions (commit, roll back, close: ``core.db``),
    all inside one connection's outer transaction that the test rolls back at the end.

    ``client`` overrides nothing the app does per request, so what only shows when the
    request's session is really rolled back and closed shows here (an error page reading a
    detached user, a refused form that committed half its work). ``db`` sees the same
    connection: what a request committed, ``db`` reads.
    """

    def __init__(self, engine: Engine, settings: Settings, database_url: str) -> None:
        self.connection = engine.connect()
        self.outer = self.connection.begin()
        self.db = Session(bind=self.connection, join_transaction_mode="create_savepoint",
                          autoflush=False, expire_on_commit=False)  # fmt: skip
        self.app = create_app(settings, url=database_url)
        self.app.state.sessionmaker = sessionmaker(
            bind=self.connection,
            join_transaction_mode="create_savepoint",
            autoflush=False,
            expire_on_commit=False,
        )
        self.client = TestClient(self.app, follow_redirects=False)

    def close(self) -> None:
        self.client.close()
        self.db.close()
        self.outer.rollback()
        self.connection.close()


@pytest.fixture
def real(engine: Engine, settings: Settings, database_url: str) -> Iterator[RealTransactions]:
    world = RealTransactions(engine, settings, database_url)
    try:
        yield world
    finally:
        world.close()
