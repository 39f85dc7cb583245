"""HMAC-SHA256 request signatures, the same both ways (agency → hoso, hoso → agency webhooks).

The signed text is five lines joined by ``\\n``::

    HOSO-HMAC-SHA256
    <METHOD>                 upper case, e.g. POST
    <path>                   with the query string if any, e.g. /api/agency/v1/results
    <timestamp>              Unix seconds, as sent in X-Hoso-Timestamp
    <nonce>                  as sent in X-Hoso-Nonce (16 to 128 characters [A-Za-z0-9_-])
    <sha256 of the body>     lower-case hex; of the empty string for an empty body

and the signature is the lower-case hex HMAC-SHA256 of that text under the key's secret,
sent as ``X-Hoso-Signature``. docs/agency-api.md has a worked example that a test checks.

The secret for a key id is derived, not stored: HMAC of the key id under the server secret.
The agency is told it once; we keep only its SHA-256, to notice if the server secret changed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from core.errors import Unauthorized
from core.identity.service import keyed_hash
from core.settings import Settings

SCHEME = "HOSO-HMAC-SHA256"
KEY_HEADER = "X-Hoso-Key"
TIMESTAMP_HEADER = "X-Hoso-Timestamp"
NONCE_HEADER = "X-Hoso-Nonce"
SIGNATURE_HEADER = "X-Hoso-Signature"
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def derived_secret(settings: Settings, key_id: str) -> str:
    return keyed_hash(settings, key_id, purpose="agency-signing")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def string_to_sign(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join((SCHEME, method.upper(), path, timestamp, nonce, sha256_hex(body)))


def signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    text = string_to_sign(method, path, timestamp, nonce, body)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class SignedHeaders:
    key_id: str
    timestamp: str
    nonce: str
    signature: str

    def as_dict(self) -> dict[str, str]:
        return {
            KEY_HEADER: self.key_id,
            TIMESTAMP_HEADER: self.timestamp,
            NONCE_HEADER: self.nonce,
            SIGNATURE_HEADER: self.signature,
        }


def sign_request(
    key_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes,
    *,
    timestamp: int,
    nonce: str | None = None,
) -> SignedHeaders:
    """The four headers for one request (what an agency client, or our webhook sender, does)."""
    nonce = nonce or new_nonce()
    stamp = str(timestamp)
    return SignedHeaders(key_id, stamp, nonce, signature(secret, method, path, stamp, nonce, body))


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (plain dicts and HTTP header maps alike)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


@dataclass(frozen=True)
class SignedRequest:
    """What a signature covers, as it arrived (an agency system's or a bank's call)."""

    method: str
    path: str  # with the query string, as the client signed it
    headers: Mapping[str, str]
    body: bytes


def read_signed_headers(
    request: SignedRequest, *, window_seconds: int, now: datetime
) -> SignedHeaders:
    """The four headers, present and well formed, and the timestamp within the window;
    else ``Unauthorized`` naming the header. The key and the signature are the caller's."""
    values = {}
    for name in (KEY_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER):
        value = header(request.headers, name)
        if not value:
            raise Unauthorized(f"the {name} header is missing", field=name)
        values[name] = value.strip()
    signed = SignedHeaders(values[KEY_HEADER], values[TIMESTAMP_HEADER], values[NONCE_HEADER],
                           values[SIGNATURE_HEADER])  # fmt: skip
    if not NONCE_PATTERN.match(signed.nonce):
        raise Unauthorized(
            "the nonce must be 16-128 characters A-Z a-z 0-9 _ -", field=NONCE_HEADER
        )
    # isdigit() alone takes "²" and other digits int() refuses; and 400 digits are no time.
    stamp = signed.timestamp
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
        raise Unauthorized("the timestamp must be Unix seconds", field=TIMESTAMP_HEADER)
    skew = abs(now.timestamp() - int(stamp))
    if skew > window_seconds:
        raise Unauthorized(
            f"the timestamp is {int(skew)} s from the server clock; at most "
            f"{window_seconds} s is accepted",
            field=TIMESTAMP_HEADER,
        )
    return signed


def checked_signature(
    secret: str, secret_sha256: str, request: SignedRequest, signed: SignedHeaders
) -> str:
    """The request's signature under the key's (derived) secret, if it is the one sent."""
    if sha256_hex(secret.encode()) != secret_sha256:
        # The server secret changed since the key was issued: every key must be reissued.
        raise Unauthorized("this key no longer matches the server secret", field=KEY_HEADER)
    expected = signature(
        secret, request.method, request.path, signed.timestamp, signed.nonce, request.body
    )
    if not matches(expected, signed.signature):
        raise Unauthorized("the signature does not match the request", field=SIGNATURE_HEADER)
    return expected
