"""The app's exception handlers: domain errors in the shared JSON shape (``edge.errors``), sign-in
and role refusals as pages, request validation errors naming the field."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from api.web import LoginRequired, WrongRole, login_redirect, render
from core.errors import DomainError
from edge.errors import error_response


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(LoginRequired)
    async def _login(_: Request, exc: LoginRequired) -> RedirectResponse:
        return login_redirect(exc)

    @app.exception_handler(WrongRole)
    async def _wrong_role(request: Request, exc: WrongRole) -> HTMLResponse:
        return render(request, "forbidden.html", {"roles": exc.roles}, status_code=403)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Name the first offending field plainly; keep the full list for API clients.
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path"))
        return JSONResponse(
            status_code=422,
            content={
                "error": "invalid_input",
                "detail": f"{field}: {first['msg']}" if field else str(first["msg"]),
                "field": field or None,
                "errors": [
                    {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                    for e in errors
                ],
            },
        )
