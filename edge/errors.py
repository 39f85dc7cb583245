"""The JSON answer for a domain error: ``{"error": ..., "detail": ..., "field": ...,
"message": ...}``, with the HTTP status its kind maps to. ``detail`` stays the English text
API clients always had; ``message`` is for a person, in the language the caller asked for
(``edge.texts``). Each edge's exception handler and every handler that answers an error
without raising (a scan batch's refused event) build it here."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
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
from edge.texts import LANG_COOKIE, Lang, message, negotiate

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


def caller_lang(request: Request) -> Lang:
    """The language a JSON caller reads: ``?lang=``, ``Accept-Language``, the pages' cookie."""
    return negotiate(
        request.query_params.get("lang"),
        request.headers.get("accept-language"),
        request.cookies.get(LANG_COOKIE),
    )


# A dependency: the caller's language, for an endpoint that answers a refusal itself.
CallerLang = Annotated[Lang, Depends(caller_lang)]


def error_body(exc: DomainError, lang: Lang) -> dict[str, str | None]:
    return {"error": exc.code, "detail": exc.detail, "field": exc.field,
            "message": message(exc, lang)}  # fmt: skip


def error_response(exc: DomainError, lang: Lang = "vi") -> JSONResponse:
    """The JSON answer for a domain error, for a handler that answers one without raising."""
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return JSONResponse(status_code=status_for(exc), content=error_body(exc, lang),
                        headers=headers)  # fmt: skip
