"""The app's exception handlers: domain errors in the shared JSON shape (``edge.errors``), sign-in
and role refusals as pages, request validation errors naming the field."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy.exc import DataError

from api.web import LoginRequired, WrongRole, login_redirect, render
from core.errors import DomainError
from core.inputs import INT4_MAX
from edge.errors import caller_lang, error_response
from edge.texts import Lang
from edge.texts import text as catalogue_text


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return error_response(exc, caller_lang(request))

    @app.exception_handler(LoginRequired)
    async def _login(_: Request, exc: LoginRequired) -> RedirectResponse:
        return login_redirect(exc)

    @app.exception_handler(WrongRole)
    async def _wrong_role(request: Request, exc: WrongRole) -> HTMLResponse:
        return render(request, "forbidden.html", {"roles": exc.roles}, status_code=403)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # The last line of defence: a value PostgreSQL refuses (an ID past its integer, a
        # date past its range) that no schema caught. The request's transaction is rolled
        # back by then, so nothing changed; the caller hears which input it was.
        field = _oversized_param(request)
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"
        detail = f"{field or 'a value'} cannot be stored: {reason}"
        return JSONResponse(
            status_code=422,
            content={
                "error": "invalid_input",
                "detail": detail,
                "field": field,
                "message": _field_message(caller_lang(request), field, detail),
            },
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Name the first offending field plainly; keep the full list for API clients.
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path"))
        if first.get("type") == "json_invalid" or (
            not field and tuple(first["loc"])[:1] == ("body",)
        ):
            # Malformed JSON's location is a character offset, and a body of the wrong
            # type has none: either way the body is at fault.
            field = "body"
        detail = f"{field}: {first['msg']}" if field else str(first["msg"])
        return JSONResponse(
            status_code=422,
            content={
                "error": "invalid_input",
                "detail": detail,
                "field": field or None,
                "message": _field_message(caller_lang(request), field, detail),
                "errors": [
                    {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                    for e in errors
                ],
            },
        )


def _field_message(lang: Lang, field: str | None, detail: str) -> str:
    """A schema's refusal for a person: pydantic's sentence is English, so a Vietnamese
    reader gets the catalogue's text naming the field instead."""
    if lang == "en":
        return detail
    reason = "input.invalid_field" if field else None
    return catalogue_text(reason, {"field": field}, lang, fallbacks=("kind.invalid_input",))


def _oversized_param(request: Request) -> str | None:
    """The path or query parameter holding a number no row ID can be, if one does."""
    params = [*request.path_params.items(), *request.query_params.items()]
    for name, value in params:
        text = str(value).lstrip("-")
        if text.isascii() and text.isdigit() and int(text) > INT4_MAX:
            return str(name)
    return None


# What every error answers, as the OpenAPI document declares it (in place of FastAPI's
# HTTPValidationError, which this app never sends).
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error", "detail", "field"],
    "properties": {
        "error": {"type": "string", "description": "e.g. invalid_input, not_found"},
        "detail": {"type": "string", "description": "What is wrong, for a person to read"},
        "field": {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "description": "The input at fault, when there is one",
        },
        "message": {
            "type": "string",
            "description": "What is wrong, for a person to read, in the language asked for "
            "(?lang=vi|en, else Accept-Language; Vietnamese by default)",
        },
        "errors": {
            "type": "array",
            "description": "422 from schema validation: every problem found",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def declare_error_shape(app: FastAPI) -> None:
    """Make the app's OpenAPI document declare the real 422 body (``Error``)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_error_shape(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _with_error_shape(schema: dict[str, Any]) -> dict[str, Any]:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ERROR_SCHEMA

    def swap(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("$ref") == _FASTAPI_422:
                return {"$ref": "#/components/schemas/Error"}
            return {key: swap(value) for key, value in node.items()}
        if isinstance(node, list):
            return [swap(value) for value in node]
        return node

    swapped: dict[str, Any] = swap(schema)
    # Errors declared with a description alone carry the same body.
    for operations in swapped.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if str(status).startswith("4") and "content" not in response:
                    response["content"] = {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    }
    return swapped
