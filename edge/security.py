"""How callers prove who they are, as the OpenAPI document declares it.

Three ways in, each an OpenAPI security scheme:

- ``bearerToken``: ``Authorization: Bearer <token>``, the courier app's and scripts' tokens
  (``/mobile/v1``, ``/print``, a citizen's API client);
- ``sessionCookie``: the ``hoso_session`` cookie of a signed-in browser (pages, the
  dispatcher's JSON, print files opened from the desk);
- the agency HMAC headers, four ``apiKey`` schemes that go together: ``X-Hoso-Key``,
  ``X-Hoso-Timestamp``, ``X-Hoso-Nonce`` and ``X-Hoso-Signature`` (docs/agency-api.md).

The bearer and cookie schemes are FastAPI security dependencies: an authentication dependency
that lists them makes every operation using it name them. They never refuse by themselves
(``auto_error=False``); the dependency that reads the token decides, with the error shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.security import APIKeyCookie, HTTPBearer

from core.agency.signing import KEY_HEADER, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER

SESSION_COOKIE = "hoso_session"
AGENCY_PREFIX = "/api/agency/v1"
# Banks sign their payment notifications the same way (core.bankdesk.keys).
BANK_PREFIX = "/api/bank/v1"

bearer_token = HTTPBearer(
    scheme_name="bearerToken",
    description="A token from POST /mobile/v1/auth/login (staff) or "
    "POST /api/v1/citizen/sign-in (citizens).",
    auto_error=False,
)
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="sessionCookie",
    description="The session of a browser signed in at /login or /citizen/sign-in.",
    auto_error=False,
)

BEARER_ONLY: dict[str, Any] = {"security": [{"bearerToken": []}]}

_AGENCY_SCHEMES = {
    "agencyKey": (KEY_HEADER, "The agency system's key ID."),
    "agencyTimestamp": (TIMESTAMP_HEADER, "Unix seconds; within 5 minutes of the server."),
    "agencyNonce": (NONCE_HEADER, "16 to 128 characters [A-Za-z0-9_-], never reused."),
    "agencySignature": (SIGNATURE_HEADER, "HMAC-SHA256 of the request (docs/agency-api.md)."),
}


def declare_agency_security(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` with the agency HMAC schemes, required together on agency operations.

    OpenAPI writes "all of these" as one requirement object with four keys; FastAPI's
    security dependencies can only add alternatives, so this step adds them to the schema.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        for name, (header, description) in _AGENCY_SCHEMES.items():
            schemes[name] = {
                "type": "apiKey",
                "in": "header",
                "name": header,
                "description": description,
            }
        together: dict[str, list[str]] = {name: [] for name in _AGENCY_SCHEMES}
        for path, item in schema.get("paths", {}).items():
            if path.startswith((AGENCY_PREFIX + "/", BANK_PREFIX + "/")):
                for operation in item.values():
                    operation["security"] = [together]
        return schema

    return openapi
