"""Passwords, API tokens and the actor a token stands for."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.custody.parties import Actor, party
from core.errors import InvalidInput, NotFound, RateLimited, Unauthorized
from core.identity.models import ROLES, ApiToken, Device, SignInFailure, User
from core.settings import Settings

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise InvalidInput("password must have at least 8 characters", field="password")
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def keyed_hash(settings: Settings, value: str, *, purpose: str) -> str:
    """HMAC-SHA256 under the server secret, separated by purpose (token, cccd, otp…)."""
    key = hashlib.sha256(f"{purpose}:{settings.secret_key}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def create_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    role: str,
    password: str | None = None,
    phone: str | None = None,
    post_office_id: int | None = None,
    office_id: int | None = None,
) -> User:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    if role == "courier" and post_office_id is None:
        raise InvalidInput("a courier belongs to a post office", field="post_office_id")
    if role == "desk_officer" and office_id is None:
        raise InvalidInput("a desk officer belongs to an office", field="office_id")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise InvalidInput(f"username {username!r} is taken", field="username")
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        phone=phone,
        password_hash=hash_password(password) if password else None,
        post_office_id=post_office_id,
        office_id=office_id,
    )
    session.add(user)
    session.flush()
    return user


# Failed password sign-ins allowed in a sliding window: per account name (from anywhere),
# and per client address (across names). Past either, sign-in is refused, even with the right
# password, until old failures leave the window: guessing a courier's password from a stolen
# phone's login screen, or spraying one password over many names, stalls.
SIGN_IN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 10
MAX_FAILURES_PER_ADDRESS = 30


def authenticate(
    session: Session, username: str, password: str, *, now: datetime, client_ip: str | None = None
) -> User:
    """The user with this password, or Unauthorized; a failure is recorded in the session.

    A caller that answers a failure without raising (so the transaction commits) makes it
    count towards the limits; one that lets Unauthorized roll back makes it not count.
    """
    _refuse_when_throttled(session, username, client_ip, now)
    user = session.scalar(select(User).where(User.username == username))
    # Verify against a dummy hash when the user is unknown so timing does not reveal names.
    stored = user.password_hash if user else _dummy_hash()
    if not verify_password(stored, password) or user is None or not user.active:
        # Failures older than the window count for nothing: the table holds minutes, not a
        # history (it stays small even while someone sprays guesses).
        expired = SignInFailure.failed_at <= now - SIGN_IN_WINDOW
        session.execute(delete(SignInFailure).where(expired))
        session.add(SignInFailure(username=username[:150], client_ip=client_ip, failed_at=now))
        session.flush()
        raise Unauthorized(
            "wrong username or password", field="password", reason="auth.wrong_credentials"
        )
    return user


def _refuse_when_throttled(
    session: Session, username: str, client_ip: str | None, now: datetime
) -> None:
    # Attempts on one account name take turns (until the transaction ends): parallel guesses
    # would otherwise all count the same failures and all get through.
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext("sign-in:" + username[:150]))))
    since = now - SIGN_IN_WINDOW
    recent = SignInFailure.failed_at > since
    by_name = session.scalar(
        select(func.count()).where(SignInFailure.username == username[:150], recent)
    )
    if (by_name or 0) >= MAX_FAILURES_PER_ACCOUNT:
        raise RateLimited(
            "too many failed sign-ins for this account; wait 15 minutes or ask a dispatcher",
            field="username",
            reason="auth.throttled_account",
        )
    if client_ip is not None:
        by_address = session.scalar(
            select(func.count()).where(SignInFailure.client_ip == client_ip, recent)
        )
        if (by_address or 0) >= MAX_FAILURES_PER_ADDRESS:
            raise RateLimited(
                "too many failed sign-ins from this address; wait 15 minutes",
                field="username",
                reason="auth.throttled_address",
            )


@cache
def _dummy_hash() -> str:
    # Made on first use, not at import: argon2 is deliberately slow and every process
    # (CLI, worker, web) imports this module.
    return _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def issue_token(
    session: Session,
    settings: Settings,
    user: User,
    *,
    now: datetime,
    device: Device | None = None,
    ttl: timedelta | None = None,
) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    expires_at = now + (ttl or timedelta(hours=settings.api_token_ttl_hours))
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=keyed_hash(settings, token, purpose="api-token"),
            device_id=device.id if device else None,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return IssuedToken(token=token, expires_at=expires_at)


@dataclass(frozen=True)
class TokenHolder:
    """Who a valid token speaks for, and the phone it is bound to (None for a browser)."""

    user: User
    device_id: int | None


def holder_of_token(
    session: Session, settings: Settings, token: str, *, now: datetime
) -> TokenHolder:
    """The user behind an unrevoked, unexpired token on an unrevoked device.

    One query (token, user and device joined): every phone request starts here.
    """
    row = session.execute(
        select(ApiToken, User, Device.revoked_at)
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(Device, Device.id == ApiToken.device_id)
        .where(ApiToken.token_hash == keyed_hash(settings, token, purpose="api-token"))
    ).first()
    if row is None:
        raise Unauthorized("unknown token", field="authorization", reason="auth.signed_out")
    api_token, user, device_revoked_at = row
    if api_token.revoked_at is not None:
        raise Unauthorized("token revoked", field="authorization", reason="auth.signed_out")
    if api_token.expires_at <= now:
        raise Unauthorized("token expired", field="authorization", reason="auth.expired")
    if api_token.device_id is not None and device_revoked_at is not None:
        raise Unauthorized("device revoked", field="authorization", reason="auth.device_revoked")
    if not user.active:
        raise Unauthorized(
            "account disabled", field="authorization", reason="auth.account_disabled"
        )
    return TokenHolder(user=user, device_id=api_token.device_id)


def user_for_token(session: Session, settings: Settings, token: str, *, now: datetime) -> User:
    return holder_of_token(session, settings, token, now=now).user


def revoke_token(session: Session, settings: Settings, token: str, *, now: datetime) -> None:
    api_token = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == keyed_hash(settings, token, purpose="api-token")
        )
    )
    if api_token is None:
        raise NotFound("unknown token", field="token")
    api_token.revoked_at = now
    session.flush()


def actor_for(user: User, device_id: int | None = None) -> Actor:
    """The party a user acts for: couriers for themselves, staff for their office."""
    match user.role:
        case "courier":
            acting = party("courier", user.id)
        case "desk_officer":
            assert user.office_id is not None
            acting = party("office", user.office_id)
        case "dispatcher" | "counter_clerk":
            # A counter clerk works at the post office's counter, for the post office.
            assert user.post_office_id is not None
            acting = party("post_office", user.post_office_id)
        case "citizen":
            acting = party("citizen", f"user-{user.id}")
        case _:
            acting = party("admin", user.id)
    return Actor(
        user_id=user.id,
        role=user.role,
        party=acting,
        device_id=device_id,
        post_office_id=user.post_office_id,
    )
