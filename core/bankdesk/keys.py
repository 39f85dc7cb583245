"""The banks' keys for the signed notification endpoint, and checking a signed notification.

A bank signs exactly as an agency system does (``core.agency.signing``: the same five-line
text, HMAC-SHA256, the same four headers, the same five-minute window and spent nonces), so
one worked example in docs/agency-api.md serves both. The keys are separate from the agency
keys (``bk_`` prefix, their own table): a bank's key can notify a payment and nothing else,
and an agency's key can never notify a payment.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from core.agency.models import AgencyRequestNonce
from core.agency.signing import (
    KEY_HEADER,
    NONCE_HEADER,
    NONCE_PATTERN,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    header,
    matches,
    sha256_hex,
    signature,
)
from core.db import transaction
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
class SignedRequest:
    """What a signature covers (the agency API's ``SignedRequest``, kept here so the money
    package does not import the agency service)."""

    method: str
    path: str  # with the query string, as the bank signed it
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class VerifiedBank:
    key: BankNotificationKey
    nonce: str
    signature: str


def verify_request(
    session: Session, settings: Settings, request: SignedRequest, *, now: datetime
) -> VerifiedBank:
    """Key, timestamp window and signature, as for the agency API. The nonce is spent apart."""
    values: dict[str, str] = {}
    for name in (KEY_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER):
        value = header(request.headers, name)
        if not value:
            raise Unauthorized(f"the {name} header is missing", field=name)
        values[name] = value.strip()
    key_id, stamp = values[KEY_HEADER], values[TIMESTAMP_HEADER]
    nonce, given = values[NONCE_HEADER], values[SIGNATURE_HEADER]
    if not NONCE_PATTERN.match(nonce):
        raise Unauthorized("the nonce must be 16-128 characters A-Z a-z 0-9 _ -",
                           field=NONCE_HEADER)  # fmt: skip
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
        raise Unauthorized("the timestamp must be Unix seconds", field=TIMESTAMP_HEADER)
    skew = abs(now.timestamp() - int(stamp))
    if skew > settings.agency_signature_window_seconds:
        raise Unauthorized(
            f"the timestamp is {int(skew)} s from the server clock; at most "
            f"{settings.agency_signature_window_seconds} s is accepted",
            field=TIMESTAMP_HEADER,
        )
    key = session.scalar(select(BankNotificationKey).where(BankNotificationKey.key_id == key_id))
    if key is None:
        raise Unauthorized("unknown key", field=KEY_HEADER)
    if key.revoked_at is not None:
        raise Unauthorized("this key is revoked", field=KEY_HEADER)
    secret = derived_secret(settings, key_id)
    if sha256_hex(secret.encode()) != key.secret_sha256:
        raise Unauthorized("this key no longer matches the server secret", field=KEY_HEADER)
    expected = signature(secret, request.method, request.path, stamp, nonce, request.body)
    if not matches(expected, given):
        raise Unauthorized("the signature does not match the request", field=SIGNATURE_HEADER)
    return VerifiedBank(key=key, nonce=nonce, signature=expected)


def spend_nonce(
    factory: sessionmaker[Session], settings: Settings, verified: VerifiedBank, *, now: datetime
) -> None:
    """Remember the nonce in a transaction of its own before the line is handled (the agency
    API's table: key ids never collide, ``bk_`` against ``ak_``), or refuse a replay."""
    with transaction(factory) as session:
        stored = session.execute(
            insert(AgencyRequestNonce)
            .values(
                key_id=verified.key.key_id,
                nonce=verified.nonce,
                signature=verified.signature,
                seen_at=now,
            )  # fmt: skip
            .on_conflict_do_nothing()
            .returning(AgencyRequestNonce.id)
        ).first()
        if stored is None:
            raise Unauthorized("this request was already received (nonce or signature reused)",
                               field=NONCE_HEADER)  # fmt: skip
        horizon = now - timedelta(seconds=2 * settings.agency_signature_window_seconds)
        session.execute(delete(AgencyRequestNonce).where(AgencyRequestNonce.seen_at < horizon))
