"""The JSON answer for a domain error: ``{"error": ..., "detail": ..., "field": ...}``, with
the HTTP status its kind maps to. Each edge's exception handler and every handler that
answers an error without raising (a scan batch's refused event) build it here."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthorized,
)

_STATUS = (
    (InvalidInput, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Forbidden, 403),
    (Unauthorized, 401),
    (RateLimited, 429),
)


def status_for(error: DomainError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


def error_response(exc: DomainError) -> JSONResponse:
    """The JSON answer for a domain error, for a handler that answers one without raising."""
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return JSONResponse(
        status_code=status_for(exc),
        content={"error": exc.code, "detail": exc.detail, "field": exc.field},
        headers=headers,
    )
