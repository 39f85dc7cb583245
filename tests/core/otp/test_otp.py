from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, RateLimited
from core.otp.models import OtpChallenge
from core.otp.service import MAX_GUESSES, PER_PHONE_PER_HOUR, issue_code, verify_code
from core.settings import Settings
from tests.factories import sent_code

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
PHONE = "0912000111"


def test_code_is_sent_through_the_outbox_and_works_once(db: Session, settings: Settings) -> None:
    issue_code(db, settings, phone=PHONE, purpose="sign_in", now=NOW)
    code = sent_code(db, PHONE)
    stored = db.scalars(select(OtpChallenge).where(OtpChallenge.phone == PHONE)).one()
    assert code not in stored.code_hash

    first = verify_code(db, settings, phone=PHONE, purpose="sign_in", code=code, now=NOW)
    assert first.ok and first.challenge is not None
    again = verify_code(db, settings, phone=PHONE, purpose="sign_in", code=code, now=NOW)
    assert not again.ok


def test_wrong_guesses_are_counted_and_kill_the_code(db: Session, settings: Settings) -> None:
    issue_code(db, settings, phone=PHONE, purpose="sign_in", now=NOW)
    code = sent_code(db, PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(MAX_GUESSES):
        check = verify_code(db, settings, phone=PHONE, purpose="sign_in", code=wrong, now=NOW)
        assert not check.ok
    late = verify_code(db, settings, phone=PHONE, purpose="sign_in", code=code, now=NOW)
    assert not late.ok and "request a new one" in late.reason


def test_expired_code_and_wrong_purpose_are_refused(db: Session, settings: Settings) -> None:
    issue_code(db, settings, phone=PHONE, purpose="delivery", now=NOW, case_id=None)
    code = sent_code(db, PHONE)
    assert not verify_code(db, settings, phone=PHONE, purpose="sign_in", code=code, now=NOW).ok
    later = NOW + timedelta(minutes=6)
    assert not verify_code(db, settings, phone=PHONE, purpose="delivery", code=code, now=later).ok


def test_malformed_code_names_the_field(db: Session, settings: Settings) -> None:
    with pytest.raises(InvalidInput) as caught:
        verify_code(db, settings, phone=PHONE, purpose="sign_in", code="12a", now=NOW)
    assert caught.value.field == "code"


def test_sending_is_rate_limited_per_phone_and_per_ip(db: Session, settings: Settings) -> None:
    issue_code(db, settings, phone=PHONE, purpose="sign_in", now=NOW)
    with pytest.raises(RateLimited):  # within a minute of the last one
        issue_code(db, settings, phone=PHONE, purpose="sign_in", now=NOW + timedelta(seconds=30))
    for minute in range(1, PER_PHONE_PER_HOUR):
        issue_code(
            db, settings, phone=PHONE, purpose="sign_in", now=NOW + timedelta(minutes=minute)
        )
    with pytest.raises(RateLimited) as caught:
        issue_code(db, settings, phone=PHONE, purpose="sign_in", now=NOW + timedelta(minutes=30))
    assert caught.value.field == "phone"

    for n in range(20):
        issue_code(
            db, settings, phone=f"09130{n:05d}", purpose="sign_in", now=NOW, client_ip="10.0.0.9"
        )
    with pytest.raises(RateLimited):
        issue_code(
            db, settings, phone="0914000000", purpose="sign_in", now=NOW, client_ip="10.0.0.9"
        )
