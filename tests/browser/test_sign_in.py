"""Staff sign-in in a browser: wrong password named, session cookie, language switch."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import make_user, unique

pytestmark = pytest.mark.browser


def test_sign_in_shows_errors_then_signs_in_and_switches_language(
    live_server: str, phone: Any, committing: sessionmaker[Session], screenshot: Any
) -> None:
    username = unique("admin")
    with committing.begin() as session:
        make_user(session, "admin", username=username, full_name="Nguyễn Thị Quản Trị",
                  password="correct horse battery")  # fmt: skip

    phone.goto(f"{live_server}/login?next=/")
    assert phone.locator("h1").inner_text() == "Đăng nhập"
    phone.fill("#username", username)
    phone.fill("#password", "wrong")
    phone.click("button[type=submit]")
    assert phone.locator("[role=alert]").inner_text() == "Sai tên đăng nhập hoặc mật khẩu."
    screenshot(phone, "sign_in_error")

    phone.fill("#password", "correct horse battery")
    phone.click("button[type=submit]")
    phone.wait_for_url(f"{live_server}/")
    assert "Nguyễn Thị Quản Trị" in phone.locator(".who").inner_text()
    cookie = next(c for c in phone.context.cookies() if c["name"] == "hoso_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    phone.click("a.lang")
    assert phone.locator("h1").inner_text() == "Dossiers by post"
    phone.goto(f"{live_server}/")  # the choice is remembered
    assert phone.locator("html").get_attribute("lang") == "en"
    screenshot(phone, "home_signed_in_en")

    phone.click("text=Sign out")
    phone.wait_for_url(f"{live_server}/")
    assert phone.locator(".who").count() == 0
