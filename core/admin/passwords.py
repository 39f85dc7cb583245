"""Staff password rules, admin resets, and the forced change at the next sign-in.

A reset sets a temporary password and ``must_change_password``; sign-in (web and phone)
then refuses to open a session until the user has chosen their own with ``change_password``.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from core.admin.errors import AdminInvalidInput
from core.identity.models import ApiToken, User
from core.identity.service import authenticate, hash_password

MIN_LENGTH = 10
MAX_LENGTH = 128
# Passwords guessed first by every spraying tool, and the obvious local ones.
COMMON = frozenset(
    {
        "password", "password1", "password123", "123456789", "1234567890", "12345678910",
        "qwertyuiop", "abc123456", "iloveyou12", "matkhau123", "admin12345", "administrator",
        "hoso123456", "vnpost1234", "buudien123", "1q2w3e4r5t", "123qweasd", "a123456789",
    }
)  # fmt: skip


def check_strength(password: str, *, username: str = "") -> None:
    """Refuse a weak password with a reason a person can act on."""
    if len(password) < MIN_LENGTH:
        raise AdminInvalidInput(
            "password",
            f"Mật khẩu phải có ít nhất {MIN_LENGTH} ký tự.",
            f"password must have at least {MIN_LENGTH} characters",
        )
    if len(password) > MAX_LENGTH:
        raise AdminInvalidInput(
            "password",
            f"Mật khẩu dài tối đa {MAX_LENGTH} ký tự.",
            f"password must have at most {MAX_LENGTH} characters",
        )
    if not any(c.isalpha() for c in password) or not any(not c.isalpha() for c in password):
        raise AdminInvalidInput(
            "password",
            "Mật khẩu phải có cả chữ cái và chữ số (hoặc ký hiệu).",
            "password must mix letters with digits or symbols",
        )
    lowered = password.lower()
    if lowered in COMMON or len(set(lowered)) < 4:
        raise AdminInvalidInput(
            "password",
            "Mật khẩu này quá dễ đoán; hãy chọn mật khẩu khác.",
            "password is too easy to guess; choose another",
        )
    if username and username.lower() in lowered:
        raise AdminInvalidInput(
            "password",
            "Mật khẩu không được chứa tên đăng nhập.",
            "password must not contain the username",
        )


def temporary_password() -> str:
    """A one-time password an admin hands over; it meets the rules and is used once."""
    return "Tmp-" + secrets.token_urlsafe(9)


def revoke_all_tokens(session: Session, user: User, *, now: datetime) -> None:
    """End every web session and phone token of ``user`` at once."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def set_password(session: Session, user: User, password: str, *, must_change: bool) -> None:
    check_strength(password, username=user.username)
    user.password_hash = hash_password(password)
    user.must_change_password = must_change
    session.flush()


def change_password(
    session: Session,
    *,
    username: str,
    current_password: str,
    new_password: str,
    now: datetime,
    client_ip: str | None = None,
) -> User:
    """The user proves the current (often temporary) password and chooses a new one.

    Used after an admin's reset, by the web page and the phone API alike. Wrong current
    passwords count towards the sign-in limits like any failed sign-in.
    """
    user = authenticate(session, username, current_password, now=now, client_ip=client_ip)
    if new_password == current_password:
        raise AdminInvalidInput(
            "new_password",
            "Mật khẩu mới phải khác mật khẩu hiện tại.",
            "the new password must differ from the current one",
        )
    try:
        check_strength(new_password, username=user.username)
    except AdminInvalidInput as weak:
        raise AdminInvalidInput("new_password", weak.detail_vi, weak.detail) from None
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.updated_at = now
    session.flush()
    return user
