"""The banks' keys for the signed notification endpoint, and checking a signed notification.

A bank signs exactly as an agency system does (``core.agency.signing``: the same five-line
text, HMAC-SHA256, the same four headers, the same five-minute window and spent nonces), so
one worked example in docs/agency-api.md serves both. The keys are separate from the agency
keys (``bk_`` prefix, their own table): a bank's key can notify a payment and nothing else,
and an agency's key can never notify a payment.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.agency.signing import (
    KEY_HEADER,
    SignedRequest,
    checked_signature,
    read_signed_headers,
    sha256_hex,
)
from core.errors import InvalidInput, NotFound, Unauthorized
from core.identity.service import keyed_hash
from core.money.bank.models import BankNotificationKey
from core.places.models import Province
from core.settings import Settings


def derived_secret(settings: Settings, key_id: str) -> str:
    return keyed_hash(settings, key_id, purpose="bank-signing")


@dataclass(frozen=True)
class IssuedBankKey:
    """Shown once to whoever sets the bank up; only a hash of the secret is kept."""

    key_id: str
    secret: str


def issue_key(
    session: Session,
    settings: Settings,
    *,
    bank: str,
    account_no: str,
    province_code: str,
    now: datetime,
) -> IssuedBankKey:
    if not bank.strip() or len(bank) > 32:
        raise InvalidInput("name the bank (at most 32 characters)", field="bank")
    digits = account_no.strip()
    if not (digits.isascii() and digits.isdigit() and 6 <= len(digits) <= 19):
        raise InvalidInput("an account number is 6 to 19 digits", field="account_no")
    if session.get(Province, province_code) is None:
        raise InvalidInput(f"no province {province_code}", field="province_code")
    key_id = f"bk_{secrets.token_hex(12)}"
    secret = derived_secret(settings, key_id)
    session.add(
        BankNotificationKey(
            key_id=key_id, secret_sha256=sha256_hex(secret.encode()), bank=bank.strip(),
            account_no=digits, province_code=province_code, created_at=now,
        )
    )  # fmt: skip
    session.flush()
    return IssuedBankKey(key_id, secret)


def revoke_key(session: Session, key_id: str, *, now: datetime) -> None:
    key = session.scalar(select(BankNotificationKey).where(BankNotificationKey.key_id == key_id))
    if key is None:
        raise NotFound(f"no bank key {key_id}", field="key_id")
    key.revoked_at = now
    session.flush()


@dataclass(frozen=True)
class VerifiedBank:
    key: BankNotificationKey
    nonce: str
    signature: str


def verify_request(
    session: Session, settings: Settings, request: SignedRequest, *, now: datetime
) -> VerifiedBank:
    """Key, timestamp window and signature, as for the agency API. The nonce is spent apart
    (``core.agency.nonces.spend_nonce``)."""
    signed = read_signed_headers(
        request, window_seconds=settings.agency_signature_window_seconds, now=now
    )
    key = session.scalar(
        select(BankNotificationKey).where(BankNotificationKey.key_id == signed.key_id)
    )
    if key is None:
        raise Unauthorized("unknown key", field=KEY_HEADER)
    if key.revoked_at is not None:
        raise Unauthorized("this key is revoked", field=KEY_HEADER)
    secret = derived_secret(settings, signed.key_id)
    expected = checked_signature(secret, key.secret_sha256, request, signed)
    return VerifiedBank(key=key, nonce=signed.nonce, signature=expected)
