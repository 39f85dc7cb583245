"""Public endpoints, limited per client address (reliability report D3).

Anyone can call these without signing in, and some cost the server real work (the address
parser, the tracking timeline). A token bucket per (endpoint group, address), kept in this
process: enough to stop one address from taking the server for itself. The address is the
one uvicorn reports, which already honours ``HOSO_FORWARDED_ALLOW_IPS`` (the proxies whose
X-Forwarded-For is believed), as the sign-in limits do.

Sign-in is not here: codes have their own per-phone and per-address hourly limits in
``core.otp`` (and each code a few guesses), passwords theirs in ``core.identity``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from edge.texts import scope_lang
from edge.texts import text as catalogue_text


@dataclass(frozen=True)
class Rule:
    group: str
    method: str
    path: re.Pattern[str]
    per_minute: int
    burst: int


RULES = (
    Rule("address_parse", "POST", re.compile(r"^/api/v1/addresses/parse$"), 30, 20),
    Rule("tracking", "GET", re.compile(r"^/(api/v1/tracking|t)/[^/]+$"), 120, 60),
    Rule("quotes", "POST", re.compile(r"^/api/v1/quotes$"), 60, 30),
    Rule(
        "lookups",
        "GET",
        re.compile(r"^/api/v1/(windows|offices|procedures)$"),
        120,
        60,
    ),
)
# Buckets kept before the full ones are forgotten (a full bucket is the same as none).
MAX_BUCKETS = 50_000


@dataclass
class Bucket:
    tokens: float
    stamp: float


@dataclass
class Limiter:
    """Token buckets per (group, address)."""

    clock: Callable[[], float] = time.monotonic
    # Multiplies every rule's rate and burst (``Settings.public_rate_limit_scale``).
    scale: float = 1.0
    buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)

    def wait_for(self, rule: Rule, address: str) -> float:
        """0 when the call may go ahead (and is counted); else seconds until it may."""
        now = self.clock()
        rate = rule.per_minute * self.scale / 60.0
        burst = float(rule.burst) * self.scale
        key = (rule.group, address)
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= MAX_BUCKETS:
                self._forget_full(now)
            bucket = self.buckets[key] = Bucket(tokens=burst, stamp=now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate

    def _forget_full(self, now: float) -> None:
        # Buckets idle long enough to have refilled carry no information.
        idle = max(rule.burst for rule in RULES) / min(r.per_minute / 60.0 for r in RULES)
        # (The scale multiplies burst and rate alike: the refill time does not change.)
        for key in [k for k, b in self.buckets.items() if now - b.stamp > idle]:
            del self.buckets[key]
        if len(self.buckets) >= MAX_BUCKETS:
            self.buckets.clear()


def rule_for(method: str, path: str) -> Rule | None:
    for rule in RULES:
        if method == rule.method and rule.path.match(path):
            return rule
    return None


class RateLimit:
    """ASGI middleware: 429 with Retry-After and the error shape past a public limit."""

    def __init__(self, app: ASGIApp, limiter: Limiter | None = None) -> None:
        self.app = app
        self.limiter = limiter or Limiter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = rule_for(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        wait = self.limiter.wait_for(rule, address)
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        body = orjson.dumps(
            {
                "error": "rate_limited",
                "detail": f"too many requests from this address; try again in {retry_after} s",
                "field": None,
                "message": catalogue_text(
                    "request.throttled", {"seconds": retry_after}, scope_lang(scope)
                ),  # fmt: skip
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
