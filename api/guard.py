"""Every request's body and query, checked once before any handler sees them.

One mechanism for every edge (reliability report D3, D8, D12, D14), rather than a check per
endpoint that the next endpoint forgets:

- every body has a size limit (a few KB where an unauthenticated caller makes the server
  work, such as the address parser), refused with 413 as soon as it is passed, before it is
  read whole;
- a JSON or form body must be UTF-8 and hold no text a column cannot store (NUL, a lone
  surrogate) nor an integer past PostgreSQL's bigint; the query string and the path too.

Refusals carry the usual ``{error, detail, field}`` and happen before any transaction, so they
change nothing. The scan sync and media uploads read their own bodies with their own limits
(a scan batch is checked event by event: one bad event must not refuse the batch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.inputs import first_bad_value, text_problem
from edge.texts import Lang, scope_lang
from edge.texts import text as catalogue_text

KB = 1024
DEFAULT_LIMIT = 256 * KB
# Path prefixes with their own limit, most specific first. None: the handler reads and limits
# the body itself.
LIMITS: tuple[tuple[str, str, int | None], ...] = (
    ("POST", "/mobile/v1/scans", None),
    ("PUT", "/mobile/v1/media/", None),
    # Dossier pages: core.digitising checks the size against digitise_max_page_bytes.
    ("PUT", "/mobile/v1/dossiers/", None),
    # The counter's scanned pages, a form of many files: the handler reads each up to
    # digitise_max_page_bytes and core.digitising refuses a larger one by name.
    ("POST", "/counter/digitise/", None),
    # Public, and parsing costs ~20 s of CPU per MB: an address fits in a few hundred bytes.
    ("POST", "/api/v1/addresses/parse", 4 * KB),
    ("POST", "/api/v1/bookings", 16 * KB),
    ("POST", "/api/v1/quotes", 4 * KB),
    ("POST", "/api/v1/citizen/", 4 * KB),
    ("POST", "/mobile/v1/auth/", 4 * KB),
    # Read and hashed before the signature is checked: kept small.
    ("POST", "/api/agency/", 64 * KB),
)


def body_limit(method: str, path: str) -> int | None:
    for limit_method, prefix, limit in LIMITS:
        if method == limit_method and path.startswith(prefix):
            return limit
    return DEFAULT_LIMIT


@dataclass(frozen=True)
class Refusal(Exception):
    status: int
    error: str
    detail: str
    field: str | None


def _too_large(limit: int) -> Refusal:
    return Refusal(413, "too_large", f"the body is larger than {limit // KB} KB", "body")


def _invalid(field: str, reason: str) -> Refusal:
    return Refusal(422, "invalid_input", f"{field}: {reason}", field)


def check_query(query_string: bytes) -> None:
    # Percent-escapes that are not UTF-8 decode to lone surrogates, and are refused as such.
    pairs = parse_qsl(
        query_string.decode("latin-1"),
        keep_blank_values=True,
        encoding="utf-8",
        errors="surrogateescape",
    )
    for name, value in pairs:
        for text in (name, value):
            problem = text_problem(text)
            if problem is not None:
                raise _invalid(name if text_problem(name) is None else "query", problem)


def check_body(content_type: str, body: bytes) -> None:
    if not body:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        check_query(body)
        return
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid("body", f"is not UTF-8 (byte {exc.start})") from exc
    parsed: Any
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            # orjson refuses a lone surrogate escape outright; read it to name its field.
            parsed = json.loads(text)
        except ValueError:
            return  # not JSON at all: the handler's own parsing answers that
    bad = first_bad_value(parsed)
    if bad is not None:
        raise _invalid(*bad)


async def _answer(send: Send, refusal: Refusal, lang: Lang) -> None:
    reason = "request.too_large" if refusal.status == 413 else "input.invalid_field"
    message = catalogue_text(reason, {"field": refusal.field}, lang, detail=refusal.detail,
                   fallbacks=(f"kind.{refusal.error}",))  # fmt: skip
    if lang == "en":
        message = refusal.detail  # the precise English the limit was written in
    body = orjson.dumps({"error": refusal.error, "detail": refusal.detail, "field": refusal.field,
                         "message": message})  # fmt: skip
    await send(
        {
            "type": "http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class InputGuard:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            path_problem = text_problem(scope["path"])
            if path_problem is not None:
                raise _invalid("path", path_problem)
            check_query(scope.get("query_string", b""))
            limit = body_limit(scope["method"], scope["path"])
            if limit is None:
                await self.app(scope, receive, send)
                return
            body = await _read(receive, headers.get("content-length"), limit)
            check_body(headers.get("content-type", ""), body)
        except Refusal as refusal:
            await _answer(send, refusal, scope_lang(scope))
            return

        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _read(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The body, refused as soon as it passes ``limit`` (or says it will)."""
    if declared is not None and declared.isascii() and declared.isdigit():
        if len(declared) > 15 or int(declared) > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
