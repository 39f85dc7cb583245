"""The OpenAPI document tells the truth, and no input makes the API answer 500 (issue 13).

schemathesis generates requests from the app's own OpenAPI document and sends them in-process
to the real app on the migrated test database, each one as every kind of caller: anonymous, a
citizen, a courier, a dispatcher, a desk officer and an admin (a bearer token and the same token
as the session cookie, so the cookie-only dispatcher JSON is reached too). Each answer must not
be a server error and must match what the document declares for its status: the declared
status codes, and the declared body (the ``Error`` shape for every 4xx).

Bounded for ``make test``: a fixed seed, derandomized, a few examples per operation. All the
requests run inside one outer transaction that is rolled back at the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from api.app import create_app
from core.identity.service import issue_token
from core.settings import Settings
from tests.factories import make_office, make_post_office, make_user

EXAMPLES_PER_OPERATION = 3
ROLES = ("citizen", "courier", "dispatcher", "desk_officer", "admin")

# Operations left out, each because calling it would spoil the rest of the run rather than
# because it could fail: the run's callers are signed in once for all operations.
EXCLUDED = (
    # Ends the calling courier's session: every later call of that courier would be a 401.
    ("POST", "/mobile/v1/auth/logout"),
    # The same for a citizen's session (it revokes the bearer token or cookie it is sent).
    ("POST", "/api/v1/citizen/sign-out"),
    # Revoke a device, or every device of a user: the same, for the tokens bound to it.
    ("POST", "/mobile/v1/devices/{device_id}/revoke"),
    ("POST", "/api/v1/admin/users/{user_id}/devices/{device_id}/revoke"),
    # Plans a whole day with the route solver (seconds of CPU per call, by design: the
    # dispatcher's button); its input checks are tested in tests/api/test_dispatch.py.
    ("POST", "/api/v1/dispatch/plan"),
)


@pytest.fixture(scope="module")
def callers_and_app(engine: Engine, database_url: str) -> Iterator[tuple[dict[str, str], Any]]:
    # Every call of the run comes from the one test-client address: the public limits are
    # raised far enough that a 429 never hides what an operation answers.
    settings = Settings(environment="test", secret_key="test-secret", database_url=None,
                        public_rate_limit_scale=1000.0)  # fmt: skip
    connection = engine.connect()
    outer = connection.begin()
    bound = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                         autoflush=False, expire_on_commit=False)  # fmt: skip
    now = datetime.now(UTC)
    with bound() as db:
        post_office, office = make_post_office(db), make_office(db)
        homes: dict[str, dict[str, int]] = {
            "courier": {"post_office_id": post_office.id},
            "dispatcher": {"post_office_id": post_office.id},
            "desk_officer": {"office_id": office.id},
        }
        tokens = {
            role: issue_token(
                db, settings, make_user(db, role, **homes.get(role, {})), now=now
            ).token
            for role in ROLES
        }
        db.commit()
    app = create_app(settings, url=database_url)
    app.state.sessionmaker = bound
    try:
        yield tokens, app
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture(scope="module")
def api_schema(callers_and_app: tuple[dict[str, str], Any]) -> Any:
    _, app = callers_and_app
    schema: Any = schemathesis.openapi.from_asgi("/openapi.json", app)
    for method, path in EXCLUDED:
        schema = schema.exclude(method=method, path=path)
    return schema


# schemathesis' own pytest integration does not run under pytest 9 (it reads a private
# attribute pytest removed), so the operations are walked here with its strategies.
def test_every_operation_answers_as_declared_to_every_caller(
    api_schema: Any, callers_and_app: tuple[dict[str, str], Any]
) -> None:
    tokens, _ = callers_and_app
    callers: list[dict[str, str]] = [{}] + [
        {"Authorization": f"Bearer {token}", "Cookie": f"hoso_session={token}"}
        for token in tokens.values()
    ]
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance]
    failures: list[str] = []
    cases = 0
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis.settings(
                max_examples=EXAMPLES_PER_OPERATION,
                # The same cases on every run (hypothesis' fixed seed), no example database.
                derandomize=True,
                database=None,
                # Six real requests per case, on a loaded machine: time is no failure here.
                deadline=None,
                suppress_health_check=list(hypothesis.HealthCheck),
                # Generate only: shrinking a failure would multiply the run's time; the
                # failure is reported as found, with its curl line.
                phases=[hypothesis.Phase.generate],
            )
            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case[Any]) -> None:
                nonlocal cases
                cases += 1
                for headers in callers:
                    if headers:
                        # The operation's own credential parameters are generated too (the
                        # anonymous call sends them as generated); a signed-in caller's own
                        # token must not be overridden by them.
                        _drop_generated_credentials(case)
                    try:
                        answer = case.call_and_validate(checks=checks, headers=headers)
                        statuses[answer.status_code] += 1
                    except (AssertionError, FailureGroup) as failure:
                        failures.append(f"{case.operation.label}: {_summary(failure)}")

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                # No input of this operation can break its schema (a lone string in the
                # path): nothing negative to send.
                assert mode is GenerationMode.NEGATIVE, operation.label
    calls = cases * len(callers)
    print(f"{len(operations)} operations, {cases} cases, {calls} calls; answers by status:",
          dict(sorted(statuses.items())))  # fmt: skip
    distinct = sorted(set(failures))
    assert not failures, "\n".join(distinct) + f"\n({len(failures)} failures)"


def _summary(failure: BaseException) -> str:
    if isinstance(failure, FailureGroup):
        return "; ".join(f"{f.title} ({f.message.splitlines()[0] if f.message else ''})"
                         for f in failure.exceptions)  # fmt: skip
    return str(failure).splitlines()[0]


def test_every_signed_operation_declares_its_refusals_with_the_error_body(
    database_url: str,
) -> None:
    settings = Settings(environment="test", secret_key="test-secret", database_url=None)
    document = create_app(settings, url=database_url).openapi()
    error = {"$ref": "#/components/schemas/Error"}
    signed = [
        (path, operation)
        for path, operations in document["paths"].items()
        for operation in operations.values()
        if operation.get("security")
    ]
    assert len(signed) > 50
    for path, operation in signed:
        for status in ("401", "403", "404", "429"):
            declared = operation["responses"].get(status)
            assert declared is not None, (path, status)
            assert declared["content"]["application/json"]["schema"] == error, (path, status)


def _drop_generated_credentials(case: schemathesis.Case[Any]) -> None:
    if case.headers:
        case.headers.pop("Authorization", None)  # a case-insensitive dict
    if case.cookies:
        case.cookies = {k: v for k, v in case.cookies.items() if k != "hoso_session"}
