"""The words a person reads when something is refused: Vietnamese first, English when asked.

Core raises a ``DomainError`` with an English ``detail`` and a stable ``reason`` code (with the
``params`` the text needs). The edge turns the reason into the reader's language from ONE
catalogue per language: ``edge/texts/vi.py`` and ``edge/texts/en.py``, each a flat
``TEXTS: dict[str, str]`` keyed by reason, ``{name}`` placeholders filled from ``params``.
Pages render ``message(error, lang)``; JSON error bodies keep ``{error, detail, field}`` and
add ``message`` in the language the caller asked for (``?lang=``, then ``Accept-Language``,
then the ``hoso_lang`` cookie; Vietnamese when nothing says).

How to add a text:
1. raise with a reason: ``raise Conflict("...english...", field="x", reason="area.what",
   params={"item": code})``; reasons are ``area.what`` in lower case, and never change once
   shipped (phones and integrations may key on them);
2. add ``"area.what"`` to BOTH ``vi.py`` (with correct diacritics) and ``en.py``;
3. ``tests/edge/test_texts.py`` fails if the two catalogues' keys differ, if a reason written
   in the code has no text, or if a text names a placeholder its raise does not give.

A refusal without a reason (others add errors all the time) still answers: English readers get
its ``detail``; Vietnamese readers get a Vietnamese ``detail_vi`` if the error carries one
(``core.admin.errors``), else the general text of its kind (``kind.<code>``), never English.
A param whose name ends in ``_text`` is itself a reason key, looked up in the same catalogue
(a part of an address, an item status), so a sentence can name a thing in the reader's words.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Any, Literal
from urllib.parse import parse_qs

from core.errors import DomainError
from edge.texts.en import TEXTS as EN_TEXTS
from edge.texts.vi import TEXTS as VI_TEXTS

Lang = Literal["vi", "en"]
# The pages' language switch (``?lang=en`` remembered here); JSON callers may use it too.
LANG_COOKIE = "hoso_lang"
LANGS: tuple[Lang, ...] = ("vi", "en")
CATALOGUES: dict[Lang, dict[str, str]] = {"vi": VI_TEXTS, "en": EN_TEXTS}

log = logging.getLogger(__name__)


def text(
    reason: str | None,
    params: Mapping[str, Any] | None,
    lang: Lang,
    *,
    detail: str | None = None,
    detail_vi: str | None = None,
    fallbacks: tuple[str, ...] = (),
) -> str:
    """The sentence for ``reason`` in ``lang``; without one, the fallbacks the module
    docstring gives, then the first of ``fallbacks`` (general texts) the catalogue has."""
    catalogue = CATALOGUES[lang]
    template = catalogue.get(reason) if reason else None
    if template is not None:
        filled = _fill(template, params or {}, catalogue)
        if filled is not None:
            return filled
        log.warning("texts.bad_params", extra={"reason": reason, "lang": lang})
    elif reason:
        log.warning("texts.missing", extra={"reason": reason, "lang": lang})
    if lang == "en" and detail:
        return detail
    if lang == "vi" and detail_vi:
        return detail_vi
    for key in (*fallbacks, "kind.error"):
        if key in catalogue:
            return catalogue[key]
    raise AssertionError("the catalogue lost kind.error")  # a test keeps it there


def message(error: DomainError, lang: Lang) -> str:
    """What a person reads for ``error``, in ``lang``."""
    return text(
        error.reason,
        error.params,
        lang,
        detail=error.detail,
        detail_vi=getattr(error, "detail_vi", None),
        fallbacks=(f"kind.{error.code}",),
    )


def both(error: DomainError) -> tuple[str, str]:
    """``(vi, en)`` for a template that picks with ``tr(*pair)``."""
    return message(error, "vi"), message(error, "en")


def field_texts(
    messages: Mapping[str, tuple[str, str] | DomainError],
) -> dict[str, tuple[str, str]]:
    """A form's errors by field as ``(vi, en)``: pairs written in core as they are, refusals
    through the catalogue (``core.booking.validation.FieldErrors``)."""
    return {
        name: both(value) if isinstance(value, DomainError) else value
        for name, value in messages.items()
    }


def scan_message(result: Mapping[str, Any], lang: Lang) -> str | None:
    """What a courier reads for one answered scan (``ScanResult.to_json()``): nothing for an
    accepted one; else its reason's text, or the general text of its ``reason_code``."""
    if result.get("outcome") == "accepted":
        return None
    fallbacks: tuple[str, ...] = (f"scan.{result.get('reason_code')}",)
    if result.get("outcome") == "exception":
        fallbacks = ("scan.exception", *fallbacks)
    return text(
        result.get("reason"),
        result.get("params"),
        lang,
        detail=result.get("detail"),
        fallbacks=fallbacks,
    )


def _fill(template: str, params: Mapping[str, Any], catalogue: Mapping[str, str]) -> str | None:
    values = {
        name: catalogue.get(str(value), str(value)) if name.endswith("_text") else value
        for name, value in params.items()
    }
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError):
        return None


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a text needs (for the catalogue test)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def scope_lang(scope: Mapping[str, Any]) -> Lang:
    """``negotiate`` for ASGI middleware that answers before the app (size and rate limits)."""
    headers = {
        k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
    }
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    cookies = SimpleCookie()
    try:
        cookies.load(headers.get("cookie", ""))
    except CookieError:
        pass
    cookie = cookies.get(LANG_COOKIE)
    return negotiate((query.get("lang") or [None])[0], headers.get("accept-language"),
                     cookie.value if cookie else None)  # fmt: skip


def negotiate(query_lang: str | None, accept_language: str | None, cookie: str | None) -> Lang:
    """The language a JSON caller asked for: ``?lang=``, then ``Accept-Language`` (the
    courier app sends its own setting there), then the pages' cookie; Vietnamese otherwise."""
    if query_lang in LANGS:
        return "en" if query_lang == "en" else "vi"
    best: tuple[float, Lang] | None = None
    for part in (accept_language or "").split(",")[:20]:
        tag, _, q = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGS:
            continue
        try:
            weight = float(q.strip()[2:]) if q.strip().startswith("q=") else 1.0
        except ValueError:
            weight = 0.0
        if weight > 0 and (best is None or weight > best[0]):
            best = (weight, "en" if primary == "en" else "vi")
    if best is not None:
        return best[1]
    return "en" if cookie == "en" else "vi"


__all__ = [
    "CATALOGUES",
    "LANG_COOKIE",
    "LANGS",
    "Lang",
    "both",
    "message",
    "negotiate",
    "placeholders",
    "scan_message",
    "scope_lang",
    "text",
]
