"""Watching the app: a request ID on every log line and error answer, per-route latency,
and ``GET /metrics`` for Prometheus (core.ops.metrics holds the series).

The middleware is plain ASGI, not Starlette's BaseHTTPMiddleware: it sits on the scan path,
and only an error answer's body is ever read (to add the request ID to it).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import time
import uuid

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.ops.metrics import REGISTRY, REQUEST_SECONDS, DatabaseCollector
from core.settings import Settings

log = logging.getLogger("hoso.http")

REQUEST_ID_HEADER = "x-request-id"
# A caller's ID is kept when it is a plain token (a proxy's, a phone's); anything else is
# replaced, so a log line can never be forged through it.
_CALLER_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")  # type: ignore[no-any-return]


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    # Static files and anything unmatched share one label: raw paths would make a series
    # per URL anyone cares to type.
    return "/static" if str(scope.get("path", "")).startswith("/static/") else "unmatched"


class RequestContext:
    """Gives each request an ID (the caller's X-Request-ID or a new one), binds it to every
    log line, returns it as a header and in every JSON error body, times the request per
    route, and writes one ``http.request`` line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = given if _CALLER_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        error_start: Message | None = None
        error_body: list[bytes] = []

        async def send_with_id(message: Message) -> None:
            nonlocal status, error_start
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
                content_type = dict(headers).get(b"content-type", b"")
                if status >= 400 and content_type.startswith(b"application/json"):
                    error_start = message  # held until the body is known, to add the ID
                    return
            elif message["type"] == "http.response.body" and error_start is not None:
                error_body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = _with_request_id(b"".join(error_body), request_id)
                headers = [
                    (k, v) for k, v in error_start["headers"] if k.lower() != b"content-length"
                ]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**error_start, "headers": headers})
                message = {"type": "http.response.body", "body": body}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("http.unhandled_error", extra={"path": scope.get("path")})
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(elapsed)
            log.info(
                "http.request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )
            structlog.contextvars.clear_contextvars()


def _with_request_id(body: bytes, request_id: str) -> bytes:
    try:
        content = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(content, dict):
        return body
    content["request_id"] = request_id
    return orjson.dumps(content)


def metrics_allowed(request: Request, settings: Settings) -> bool:
    """An allowed client address, or the bearer token when one is configured."""
    if settings.metrics_token:
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {settings.metrics_token}".encode()):
            return True
    client = request.client.host if request.client else ""
    for allowed in (a.strip() for a in settings.metrics_allow_ips.split(",")):
        if not allowed:
            continue
        if allowed == "*":
            return True
        try:
            if ipaddress.ip_address(client) in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


def install_observability(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(RequestContext)
    database = CollectorRegistry(auto_describe=True)
    database.register(DatabaseCollector(app.state.sessionmaker))

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        # Runs outside the middleware (Starlette's outermost layer), so the ID goes on here.
        request_id = request_id_of(request) or ""
        return JSONResponse(
            status_code=500,
            content={
                "error": "internal_error",
                "detail": "Lỗi hệ thống; hãy báo mã yêu cầu / internal error; quote the request ID",
                "field": None,
                "request_id": request_id,
            },
            headers={"x-request-id": request_id},
        )

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def metrics(request: Request) -> Response:
        if not metrics_allowed(request, settings):
            return JSONResponse(
                status_code=403,
                content={
                    "error": "forbidden",
                    "detail": "metrics are for the monitoring system (HOSO_METRICS_ALLOW_IPS, "
                    "HOSO_METRICS_TOKEN)",
                    # The caller's credentials are what is refused: an address not on the list
                    # and no (or a wrong) bearer token.
                    "field": "authorization",
                },
            )
        body = generate_latest(REGISTRY) + generate_latest(database)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
