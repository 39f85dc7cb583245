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
