"""The one hierarchy of domain errors. Services raise these; each HTTP edge maps them once.

Every error carries an English ``detail`` (what the CLI, the logs and API clients have always
read) and, for the people who read it on a page or a phone, a stable ``reason`` code with the
``params`` its text needs. The texts themselves live at the edge, one catalogue per language
(``edge/texts/vi.py``, ``edge/texts/en.py``); core never holds a sentence for a page. So:

    raise NotFound(f"no item {code}", field="item_id", reason="item.unknown",
                   params={"item": code})

and add ``"item.unknown"`` to both catalogues (the edge's docstring says how). An error raised
without a reason still works: English readers get its ``detail``, Vietnamese readers the
general text of its kind, never an English sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labels.errors import (
    CheckDigitMismatch,
    InvalidCccd,
    InvalidCode,
    InvalidDossierCode,
    InvalidItemId,
)


class DomainError(Exception):
    """Base class. ``field`` names the input at fault when there is one; ``reason`` is the
    stable key of the text a person reads; ``params`` fill that text's placeholders."""

    code = "error"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        reason: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.reason = reason
        self.params: dict[str, Any] = dict(params or {})


class InvalidInput(DomainError):
    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class Forbidden(DomainError):
    code = "forbidden"


class Unauthorized(DomainError):
    code = "unauthorized"


class RateLimited(DomainError):
    code = "rate_limited"


def code_refusal(exc: InvalidCode, field: str) -> InvalidInput:
    """A code that did not parse (item ID, dossier code, ID card), as the refusal every input
    path raises: the labels library's English message as ``detail``, a reason by its kind."""
    if isinstance(exc, CheckDigitMismatch):
        return InvalidInput(
            str(exc), field=field, reason="code.check_digit", params={"code": exc.code}
        )
    if isinstance(exc, InvalidItemId):
        return InvalidInput(str(exc), field=field, reason="code.item_id")
    if isinstance(exc, InvalidDossierCode):
        return InvalidInput(str(exc), field=field, reason="code.dossier_code")
    if isinstance(exc, InvalidCccd):
        return InvalidInput(str(exc), field=field, reason="code.cccd")
    return InvalidInput(str(exc), field=field, reason="code.malformed")
