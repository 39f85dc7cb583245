"""Server-side page plumbing: sign-in, where it leads, and role-protected pages."""

from __future__ import annotations

from typing import cast

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.web import require_roles, safe_next
from core.identity.models import User
from core.identity.service import MAX_FAILURES_PER_ACCOUNT
from tests.factories import make_user


def test_home_is_vietnamese_with_english_on_request(client: TestClient) -> None:
    vi = client.get("/")
    assert vi.status_code == 200 and '<html lang="vi">' in vi.text and "Tra cứu" in vi.text
    en = client.get("/?lang=en")
    assert '<html lang="en">' in en.text and "Track" in en.text
    assert client.cookies.get("hoso_lang") == "en"


def test_wrong_password_is_refused_and_names_the_problem(client: TestClient, db: Session) -> None:
    user = make_user(db, "dispatcher")
    response = client.post("/login", data={"username": user.username, "password": "nope"})
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.text
    assert "hoso_session" not in response.cookies


def test_repeated_wrong_passwords_make_the_desk_sign_in_wait(
    client: TestClient, db: Session
) -> None:
    user = make_user(db, "desk_officer")
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        wrong = {"username": user.username, "password": "nope"}
        assert client.post("/login", data=wrong).status_code == 401
    right = {"username": user.username, "password": "correct horse battery"}
    waiting = client.post("/login", data=right, follow_redirects=False)
    assert waiting.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in waiting.text
    assert "hoso_session" not in waiting.cookies


def test_sign_in_goes_to_the_role_home_or_a_local_next(client: TestClient, db: Session) -> None:
    user = make_user(db, "dispatcher", password="correct horse battery")
    form = {"username": user.username, "password": "correct horse battery"}
    first = client.post("/login", data=form, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/dispatch"
    assert first.cookies.get("hoso_session")
    off_site = client.post("/login", data={**form, "next": "//evil.example/"},
                           follow_redirects=False)  # fmt: skip
    assert off_site.headers["location"] == "/dispatch"
    assert safe_next("/desk?x=1", "/") == "/desk?x=1"


def test_role_pages_redirect_strangers_and_refuse_other_roles(
    client: TestClient, db: Session
) -> None:
    def only_desk(user: User = Depends(require_roles("desk_officer"))) -> dict[str, str]:  # noqa: B008
        return {"user": user.username}

    app = cast(FastAPI, client.app)
    app.add_api_route("/only-desk", only_desk)

    anonymous = client.get("/only-desk", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/only-desk"

    courier = make_user(db, "courier", password="correct horse battery")
    client.post("/login", data={"username": courier.username, "password": "correct horse battery"})
    assert client.get("/only-desk").status_code == 403

    client.post("/logout")
    desk = make_user(db, "desk_officer", password="correct horse battery")
    client.post("/login", data={"username": desk.username, "password": "correct horse battery"})
    assert client.get("/only-desk").json() == {"user": desk.username}
