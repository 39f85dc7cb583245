"""Issue and check one-time codes, with the limits that keep SMS from being an attack surface.

A code is six random digits, stored only as a keyed hash, valid for a few minutes, good for
one use and a handful of wrong guesses. Sending is rate-limited per phone (and per client IP
when the caller knows it) so nobody can flood a citizen's phone or our SMS bill.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, RateLimited
from core.identity.service import keyed_hash
from core.otp.models import OTP_PURPOSES, OtpChallenge
from core.outbox.citizen import send_to_citizen
from core.settings import Settings

CODE_DIGITS = 6
TTL = timedelta(minutes=5)
MAX_GUESSES = 5
RESEND_GAP = timedelta(seconds=60)
PER_PHONE_PER_HOUR = 5
PER_IP_PER_HOUR = 20

_MESSAGES = {
    "sign_in": "Mã đăng nhập hoso của bạn là {code}, hiệu lực 5 phút. Không chia sẻ mã này.",
    "delivery": (
        "Mã nhận kết quả hồ sơ của bạn là {code}. Chỉ đọc mã cho bưu tá khi đã nhận được "
        "kết quả. Hiệu lực 5 phút."
    ),
}


@dataclass(frozen=True)
class IssuedCode:
    challenge_id: int
    expires_at: datetime


def _hash(settings: Settings, phone: str, code: str) -> str:
    return keyed_hash(settings, f"{phone}:{code}", purpose="otp")


def issue_code(
    session: Session,
    settings: Settings,
    *,
    phone: str,
    purpose: str,
    now: datetime,
    case_id: int | None = None,
    client_ip: str | None = None,
) -> IssuedCode:
    """Create a challenge and queue its SMS in the same transaction (the outbox sends it)."""
    if purpose not in OTP_PURPOSES:
        raise InvalidInput(f"unknown purpose {purpose!r}", field="purpose")
    hour_ago = now - timedelta(hours=1)
    recent = session.execute(
        select(func.count(), func.max(OtpChallenge.created_at)).where(
            OtpChallenge.phone == phone, OtpChallenge.created_at > hour_ago
        )
    ).one()
    if recent[0] >= PER_PHONE_PER_HOUR:
        raise RateLimited("too many codes sent to this phone; try again later", field="phone")
    if recent[1] is not None and now - recent[1] < RESEND_GAP:
        raise RateLimited("a code was sent less than a minute ago", field="phone")
    if client_ip is not None:
        from_ip = session.scalar(
            select(func.count()).where(
                OtpChallenge.requested_ip == client_ip, OtpChallenge.created_at > hour_ago
            )
        )
        if (from_ip or 0) >= PER_IP_PER_HOUR:
            raise RateLimited("too many codes requested from this address", field="phone")

    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    challenge = OtpChallenge(
        purpose=purpose,
        phone=phone,
        case_id=case_id,
        code_hash=_hash(settings, phone, code),
        requested_ip=client_ip,
        created_at=now,
        expires_at=now + TTL,
    )
    session.add(challenge)
    session.flush()
    text = _MESSAGES[purpose].format(code=code)
    # "secret": the outbox removes the text once it is sent, so the table holds no live code.
    send_to_citizen(session, phone=phone, kind=f"otp_{purpose}", text=text,
                    params={"otp": code}, secret=True)  # fmt: skip
    return IssuedCode(challenge_id=challenge.id, expires_at=challenge.expires_at)


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of checking a code. ``ok`` False carries the reason, naming the field."""

    ok: bool
    reason: str = ""
    challenge: OtpChallenge | None = None
    # The key of the text a person reads for ``reason`` (edge/texts), and its params.
    text_key: str | None = None
    params: dict[str, int] = field(default_factory=dict)


def verify_code(
    session: Session,
    settings: Settings,
    *,
    phone: str,
    purpose: str,
    code: str,
    now: datetime,
    case_id: int | None = None,
) -> CodeCheck:
    """Consume the latest live challenge for this phone if ``code`` matches it.

    Only the most recent unexpired challenge counts, and each wrong guess is counted against
    it; after ``MAX_GUESSES`` it is dead and a new code must be requested. A wrong code is a
    result, not an exception, because the guess count must be committed: the caller commits
    and then answers with the reason (an exception would roll the count back and allow
    unlimited guessing).
    """
    code = code.strip()
    if len(code) != CODE_DIGITS or not code.isdigit():
        raise InvalidInput(
            f"the code must be {CODE_DIGITS} digits",
            field="code",
            reason="otp.digits",
            params={"digits": CODE_DIGITS},
        )
    query = (
        select(OtpChallenge)
        .where(
            OtpChallenge.phone == phone,
            OtpChallenge.purpose == purpose,
            OtpChallenge.consumed_at.is_(None),
            OtpChallenge.expires_at > now,
        )
        .order_by(OtpChallenge.created_at.desc(), OtpChallenge.id.desc())
        .limit(1)
        .with_for_update()
    )
    if case_id is not None:
        query = query.where(OtpChallenge.case_id == case_id)
    challenge = session.scalar(query)
    if challenge is None or challenge.attempts >= MAX_GUESSES:
        return CodeCheck(
            ok=False,
            reason="no valid code for this phone; request a new one",
            text_key="otp.none_valid",
        )
    if not hmac.compare_digest(challenge.code_hash, _hash(settings, phone, code)):
        challenge.attempts += 1
        session.flush()
        left = MAX_GUESSES - challenge.attempts
        return CodeCheck(
            ok=False,
            reason=f"the code is not correct ({left} tries left)",
            text_key="otp.wrong",
            params={"left": left},
        )
    challenge.consumed_at = now
    session.flush()
    return CodeCheck(ok=True, challenge=challenge)
