from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.errors import InvalidInput, RateLimited, Unauthorized
from core.identity import service as identity_service
from core.identity.models import ApiToken, Device, SignInFailure
from core.identity.service import (
    MAX_FAILURES_PER_ACCOUNT,
    MAX_FAILURES_PER_ADDRESS,
    SIGN_IN_WINDOW,
    authenticate,
    create_user,
    issue_token,
    revoke_token,
    user_for_token,
)
from core.settings import DEV_SECRET, Settings
from tests.factories import make_post_office, make_user


def test_passwords_are_argon2_hashed_and_checked(db: Session) -> None:
    user = make_user(db, "dispatcher", password="mật khẩu dài")
    assert user.password_hash and user.password_hash.startswith("$argon2")
    assert "mật khẩu" not in user.password_hash
    now = datetime.now(UTC)
    assert authenticate(db, user.username, "mật khẩu dài", now=now).id == user.id
    with pytest.raises(Unauthorized):
        authenticate(db, user.username, "wrong password", now=now)
    with pytest.raises(Unauthorized):
        authenticate(db, "nobody-at-all", "wrong password", now=now)


def test_guessing_a_password_is_throttled_per_account_and_per_address(db: Session) -> None:
    user = make_user(db, "courier", password="mật khẩu dài")
    start = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    for minute in range(MAX_FAILURES_PER_ACCOUNT):
        with pytest.raises(Unauthorized):
            at = start + timedelta(minutes=minute)
            authenticate(db, user.username, f"guess {minute}", now=at, client_ip=f"10.0.0.{minute}")
    # Even the right password waits now, from any address.
    later = start + timedelta(minutes=MAX_FAILURES_PER_ACCOUNT)
    with pytest.raises(RateLimited) as throttled:
        authenticate(db, user.username, "mật khẩu dài", now=later, client_ip="10.9.9.9")
    assert throttled.value.field == "username"
    # Once the first failures leave the window, it works again.
    again = start + SIGN_IN_WINDOW + timedelta(seconds=1)
    assert authenticate(db, user.username, "mật khẩu dài", now=again).id == user.id

    # One address spraying many names is stopped across names, not other addresses.
    for n in range(MAX_FAILURES_PER_ADDRESS):
        with pytest.raises(Unauthorized):
            authenticate(db, f"name-{n}", "123456", now=later, client_ip="203.0.113.7")
    colleague = make_user(db, "courier", password="mật khẩu khác")
    with pytest.raises(RateLimited) as sprayed:
        authenticate(db, colleague.username, "mật khẩu khác", now=later, client_ip="203.0.113.7")
    assert "address" in sprayed.value.detail
    elsewhere = "198.51.100.2"
    assert authenticate(db, colleague.username, "mật khẩu khác", now=later, client_ip=elsewhere)


def test_roles_need_their_place(db: Session) -> None:
    with pytest.raises(InvalidInput) as courier:
        create_user(db, username="c-no-post", full_name="x", role="courier", password="12345678")
    assert courier.value.field == "post_office_id"
    with pytest.raises(InvalidInput) as role:
        create_user(db, username="r", full_name="x", role="pilot", password="12345678")
    assert role.value.field == "role"


def test_tokens_are_stored_hashed_expire_and_revoke(db: Session, settings: Settings) -> None:
    user = make_user(db, "courier", post_office_id=make_post_office(db).id)
    now = datetime.now(UTC)
    issued = issue_token(db, settings, user, now=now, ttl=timedelta(hours=1))
    stored = db.scalars(select(ApiToken.token_hash).where(ApiToken.user_id == user.id)).all()
    assert issued.token not in stored and len(stored) == 1
    assert user_for_token(db, settings, issued.token, now=now).id == user.id
    with pytest.raises(Unauthorized, match="expired"):
        user_for_token(db, settings, issued.token, now=now + timedelta(hours=2))
    revoke_token(db, settings, issued.token, now=now)
    with pytest.raises(Unauthorized, match="revoked"):
        user_for_token(db, settings, issued.token, now=now)


def test_revoking_the_device_kills_its_tokens(db: Session, settings: Settings) -> None:
    user = make_user(db, "courier")
    device = Device(user_id=user.id, device_uid="phone-1", name="Điện thoại")
    db.add(device)
    db.flush()
    now = datetime.now(UTC)
    issued = issue_token(db, settings, user, now=now, device=device)
    device.revoked_at = now
    db.flush()
    with pytest.raises(Unauthorized, match="device revoked"):
        user_for_token(db, settings, issued.token, now=now)


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValueError, match="HOSO_SECRET_KEY"):
        Settings(environment="production", secret_key=DEV_SECRET)
    assert Settings(environment="production", secret_key="s3cret-from-vault").secret_key


def test_parallel_guesses_cannot_overrun_the_account_limit(
    committing: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(committing) as session:
        user = make_user(session, "courier", password="mật khẩu dài")
        username = user.username
    now = datetime.now(UTC)
    with transaction(committing) as session:
        for _ in range(MAX_FAILURES_PER_ACCOUNT - 1):
            session.add(SignInFailure(username=username, client_ip=None, failed_at=now))
    # A slow password check (argon2 is meant to be slow) keeps every guess between its count
    # and its insert long enough for the others to count too, unless they take turns.
    real_verify = identity_service.verify_password

    def slow_verify(stored: str | None, password: str) -> bool:
        time.sleep(0.3)
        return real_verify(stored, password)

    monkeypatch.setattr(identity_service, "verify_password", slow_verify)
    start = threading.Barrier(5)
    outcomes: list[str] = []

    def guess(n: int) -> None:
        start.wait()
        try:
            with transaction(committing) as session:
                try:
                    authenticate(session, username, f"guess {n}", now=now)
                except Unauthorized:
                    outcomes.append("wrong")
        except RateLimited:
            outcomes.append("throttled")

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One guess takes the last place under the limit; the other four wait for it, then see
    # the limit reached.
    assert sorted(outcomes) == ["throttled"] * 4 + ["wrong"]
    with transaction(committing) as session:
        count = session.scalar(select(func.count()).where(SignInFailure.username == username))
    assert count == MAX_FAILURES_PER_ACCOUNT
