"""What every citizen-message channel shares: the payload's fields and the provider's phone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from core.outbox.service import PermanentFailure


def required(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PermanentFailure(f"the message has no {name}")
    return value


def request_id(payload: Mapping[str, Any]) -> str:
    """The message's idempotency key, fixed when it was enqueued and sent on every attempt,
    so a provider that dedupes on it delivers a retried message once."""
    value = payload.get("request_id")
    return str(value) if value else ""


def provider_phone(phone: str, style: Literal["84", "+84", "0"]) -> str:
    """0912345678 as the provider wants it: 84912345678, +84912345678 or 0912345678."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits.startswith("84") and len(digits) == 11:
        national = digits[2:]
    elif digits.startswith("0") and len(digits) == 10:
        national = digits[1:]
    else:
        raise PermanentFailure(f"not a Vietnamese mobile number: {phone!r}")
    return {"84": "84", "+84": "+84", "0": "0"}[style] + national


def json_path(document: Any, path: str) -> Any:
    """``a.b.0.c`` into a parsed JSON answer; None where the path leads nowhere."""
    node = document
    for part in path.split("."):
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.lstrip("-").isdigit():
            index = int(part)
            node = node[index] if -len(node) <= index < len(node) else None
        else:
            return None
    return node
