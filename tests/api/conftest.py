from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

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
