"""The one hierarchy of domain errors. Services raise these; each HTTP edge maps them once."""

from __future__ import annotations


class DomainError(Exception):
    """Base class. ``field`` names the input at fault when there is one."""

    code = "error"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


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
