"""The OpenAPI document says how to authenticate: bearer token, session cookie or the agency
HMAC headers, and each operation names the ones it takes."""

from __future__ import annotations

from typing import Any

from api.app import create_app
from core.settings import Settings
from tests.api.test_matrix import Objects, calls

AGENCY = {"agencyKey", "agencyTimestamp", "agencyNonce", "agencySignature"}


def _openapi() -> dict[str, Any]:
    settings = Settings(environment="test", secret_key="test-secret", database_url=None)
    # No request is made: the engine is never connected.
    schema: dict[str, Any] = create_app(settings, url="postgresql://unused@localhost/x").openapi()
    return schema


def test_the_security_schemes_are_declared() -> None:
    schemes = _openapi()["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {**schemes["bearerToken"], "type": "http", "scheme": "bearer"}
    assert schemes["sessionCookie"]["type"] == "apiKey"
    assert (schemes["sessionCookie"]["in"], schemes["sessionCookie"]["name"]) == (
        "cookie",
        "hoso_session",
    )
    headers = {schemes[name]["name"] for name in AGENCY if schemes[name]["in"] == "header"}
    assert headers == {"X-Hoso-Key", "X-Hoso-Timestamp", "X-Hoso-Nonce", "X-Hoso-Signature"}


def _security(schema: dict[str, Any], method: str, path: str) -> list[dict[str, list[str]]]:
    found: list[dict[str, list[str]]] = schema["paths"][path][method.lower()].get("security", [])
    return found


def test_each_operation_names_its_scheme_exactly_when_strangers_are_refused() -> None:
    """Read against the role matrix: an operation that answers 401 to an anonymous caller
    declares how to sign in; one open to everyone declares nothing."""
    schema = _openapi()
    declared = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    for (method, path), call in calls(Objects()).items():
        if (method, path) not in declared:
            continue  # an HTML route: not in the OpenAPI document
        security = _security(schema, method, path)
        if call.expected["anon"] == 401:
            assert security, f"{method} {path} refuses strangers but names no scheme"
        else:
            assert not security, f"{method} {path} is open but names {security}"


def test_the_schemes_match_each_part_of_the_api() -> None:
    schema = _openapi()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            names = [set(requirement) for requirement in operation.get("security", [])]
            if path.startswith("/api/agency/"):
                assert names == [AGENCY], path  # all four headers together
            elif path.startswith("/mobile/v1/") and names:
                assert names == [{"bearerToken"}], path
            elif path.startswith("/api/v1/dispatch/"):
                assert names == [{"sessionCookie"}], path
            elif path.startswith(("/print/", "/api/v1/my/", "/api/v1/admin/")):
                assert names == [{"bearerToken"}, {"sessionCookie"}], (method, path)
