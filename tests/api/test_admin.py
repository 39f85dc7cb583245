"""The admin area over HTTP: the JSON API under /api/v1/admin and the pages under /admin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.admin.users import Binding
from core.identity.models import Device, User
from core.identity.service import issue_token
from core.settings import Settings
from tests.core.admin.helpers import BAC_NINH, HA_NOI, STRONG, office_in, post_office_in, staff
from tests.factories import unique

NOW = datetime.now(UTC)


def _bearer(db: Session, settings: Settings, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(db, settings, user, now=NOW).token}"}


def _users(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(User)) or 0


def test_admin_api_creates_edits_lists_resets_and_deactivates(
    client: TestClient, db: Session, settings: Settings
) -> None:
    admin = _bearer(db, settings, staff(db, "admin", Binding()))
    office, post = office_in(db, BAC_NINH), post_office_in(db, BAC_NINH)
    name = unique("motcua").lower()
    created = client.post("/api/v1/admin/users", headers=admin, json={
        "username": name, "full_name": "Đỗ Thị Một Cửa", "role": "desk_officer",
        "password": STRONG, "office_id": office.id})  # fmt: skip
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["office_id"] == office.id and body["must_change_password"] is True
    assert "password" not in body and "password_hash" not in body
    user_id = body["id"]

    moved = client.patch(f"/api/v1/admin/users/{user_id}", headers=admin,
                         json={"role": "counter_clerk", "post_office_id": post.id})  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert (moved.json()["role"], moved.json()["office_id"]) == ("counter_clerk", None)

    listed = client.get("/api/v1/admin/users", headers=admin,
                        params={"role": "counter_clerk", "post_office_id": post.id})  # fmt: skip
    assert [u["username"] for u in listed.json()] == [name]

    reset = client.post(f"/api/v1/admin/users/{user_id}/reset-password", headers=admin, json={})
    assert reset.status_code == 200
    temporary = reset.json()["temporary_password"]
    assert temporary and reset.json()["user"]["must_change_password"] is True

    off = client.post(f"/api/v1/admin/users/{user_id}/deactivate", headers=admin)
    assert off.status_code == 200 and off.json()["active"] is False

    audit = client.get("/api/v1/admin/audit", headers=admin, params={"target": name})
    assert audit.status_code == 200
    assert [e["action"] for e in audit.json()] == [
        "user.deactivate", "user.reset_password", "user.edit", "user.create"]  # fmt: skip
    assert temporary not in audit.text and STRONG not in audit.text


def test_admin_api_refusals_have_the_error_shape_and_change_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    admin = _bearer(db, settings, staff(db, "admin", Binding()))
    post = post_office_in(db, BAC_NINH)
    base = {"username": unique("x").lower(), "full_name": "X", "role": "courier",
            "password": STRONG, "post_office_id": post.id}  # fmt: skip
    office = office_in(db, BAC_NINH)
    # A refused request rolls back to the last commit: keep the set-up out of its reach.
    db.commit()
    before = _users(db)
    for overrides, status, field in (
        ({"role": "wizard"}, 422, "role"),
        ({"post_office_id": None, "office_id": office.id}, 422, "office_id"),
        ({"password": "short"}, 422, "password"),
        ({"password": "x", "extra": 1}, 422, "extra"),
    ):
        answer = client.post("/api/v1/admin/users", headers=admin, json={**base, **overrides})
        assert answer.status_code == status, answer.text
        assert answer.json()["field"] == field and answer.json()["error"] == "invalid_input"
        assert answer.json()["detail"]
    staff(db, "courier", Binding(post_office_id=post.id), username="trung.ten")
    db.commit()
    taken = client.post(
        "/api/v1/admin/users", headers=admin, json={**base, "username": "trung.ten"}
    )
    assert (taken.status_code, taken.json()["field"]) == (409, "username")
    assert _users(db) == before + 1  # only the fixture's own courier
    missing = client.get("/api/v1/admin/users/999999", headers=admin)
    assert (missing.status_code, missing.json()["field"]) == (404, "user_id")


def test_who_may_use_the_admin_api(client: TestClient, db: Session, settings: Settings) -> None:
    own, other = post_office_in(db, BAC_NINH), post_office_in(db, HA_NOI)
    supervisor = _bearer(db, settings, staff(db, "province_supervisor",
                                             Binding(province_code=BAC_NINH)))  # fmt: skip
    dispatcher = _bearer(db, settings, staff(db, "dispatcher", Binding(post_office_id=own.id)))
    outsider = staff(db, "courier", Binding(post_office_id=other.id))
    db.commit()
    assert client.get("/api/v1/admin/users").status_code == 401
    assert client.get("/api/v1/admin/users", headers=dispatcher).status_code == 403
    refused = client.post(f"/api/v1/admin/users/{outsider.id}/deactivate", headers=supervisor)
    assert refused.status_code == 403 and refused.json()["field"] == "post_office_id"
    db.refresh(outsider)
    assert outsider.active
    created = client.post("/api/v1/admin/users", headers=supervisor, json={
        "username": unique("bt").lower(), "full_name": "Bưu Tá", "role": "courier",
        "password": STRONG, "post_office_id": other.id})  # fmt: skip
    assert created.status_code == 403 and created.json()["field"] == "post_office_id"
    assert client.get("/api/v1/admin/audit", headers=supervisor).status_code == 403


def test_devices_listed_and_revoked(client: TestClient, db: Session, settings: Settings) -> None:
    admin = _bearer(db, settings, staff(db, "admin", Binding()))
    courier = staff(db, "courier", Binding(post_office_id=post_office_in(db, BAC_NINH).id))
    device = Device(user_id=courier.id, device_uid="i-9", name="Redmi 13", platform="android",
                    registered_at=NOW)  # fmt: skip
    db.add(device)
    db.flush()
    phone = issue_token(db, settings, courier, now=NOW, device=device).token
    db.commit()
    assert client.get("/mobile/v1/me", headers={"Authorization": f"Bearer {phone}"}).is_success
    listed = client.get(f"/api/v1/admin/users/{courier.id}/devices", headers=admin)
    assert [d["name"] for d in listed.json()] == ["Redmi 13"]
    revoked = client.post(f"/api/v1/admin/users/{courier.id}/devices/{device.id}/revoke",
                          headers=admin)  # fmt: skip
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    after = client.get("/mobile/v1/me", headers={"Authorization": f"Bearer {phone}"})
    assert after.status_code == 401


def _sign_in(client: TestClient, username: str, password: str) -> Any:
    return client.post("/login", data={"username": username, "password": password},
                       follow_redirects=False)  # fmt: skip


def test_pages_create_a_user_and_show_refusals_beside_the_field(
    client: TestClient, db: Session
) -> None:
    admin = staff(db, "admin", Binding())
    office = office_in(db, BAC_NINH)
    assert _sign_in(client, admin.username, STRONG).headers["location"] == "/admin"
    page = client.get("/admin/users/new")
    assert page.status_code == 200 and "Thêm người dùng" in page.text
    form = {"username": unique("mc").lower(), "full_name": "Ngô Văn D", "role": "desk_officer",
            "office_id": str(office.id), "post_office_id": "", "province_code": "",
            "password": STRONG, "password_again": STRONG}  # fmt: skip
    weak = client.post(
        "/admin/users/new", data={**form, "password": "ngan", "password_again": "ngan"}
    )
    assert weak.status_code == 422
    assert 'data-field="password"' in weak.text and "ít nhất 10 ký tự" in weak.text
    wrong = client.post("/admin/users/new", data={**form, "office_id": "", "post_office_id": "1"})
    assert wrong.status_code == 422 and 'data-field="post_office_id"' in wrong.text
    done = client.post("/admin/users/new", data=form, follow_redirects=False)
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    assert "Đã tạo người dùng." in shown.text and "Ngô Văn D" in shown.text
    english = client.get(done.headers["location"] + "&lang=en")
    assert "User created." in english.text and "Desk officer" in english.text
    listed = client.get("/admin/users", params={"q": form["username"]})
    assert f'data-username="{form["username"]}"' in listed.text
    audit = client.get("/admin/audit", params={"target": form["username"], "lang": "vi"})
    assert audit.status_code == 200 and "Tạo người dùng" in audit.text


def test_a_reset_user_sets_a_new_password_before_any_session(
    client: TestClient, db: Session
) -> None:
    admin = staff(db, "admin", Binding())
    courier = staff(db, "courier", Binding(post_office_id=post_office_in(db, BAC_NINH).id))
    _sign_in(client, admin.username, STRONG)
    reset = client.post(f"/admin/users/{courier.id}/reset-password",
                        data={"temporary_password": ""})  # fmt: skip
    assert reset.status_code == 200
    temporary = reset.text.split('id="temporary-password">')[1].split("<")[0]
    client.post("/logout")
    asked = _sign_in(client, courier.username, temporary)
    assert asked.status_code == 200 and "Đặt mật khẩu mới" in asked.text
    assert "hoso_session" not in asked.cookies
    form = {"username": courier.username, "current_password": temporary,
            "new_password": "Moi-cua-toi-99", "new_password_again": "Moi-cua-toi-98"}  # fmt: skip
    differ = client.post("/password", data=form)
    assert differ.status_code == 422 and 'data-field="new_password_again"' in differ.text
    form["new_password_again"] = "Moi-cua-toi-99"
    done = client.post("/password", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.cookies.get("hoso_session")
    db.refresh(courier)
    assert not courier.must_change_password


def test_only_admin_area_roles_open_the_pages(client: TestClient, db: Session) -> None:
    desk = staff(db, "desk_officer", Binding(office_id=office_in(db, BAC_NINH).id))
    db.commit()
    assert client.get("/admin/users", follow_redirects=False).status_code == 303
    _sign_in(client, desk.username, STRONG)
    assert client.get("/admin/users").status_code == 403


def test_the_phone_sign_in_waits_for_a_new_password_after_a_reset(
    client: TestClient, db: Session
) -> None:
    from core.admin.permissions import Operator
    from core.admin.users import reset_password

    courier = staff(db, "courier", Binding(post_office_id=post_office_in(db, BAC_NINH).id))
    reset_password(db, Operator.command_line("t"), courier.id, "Tam-thoi-3141", now=NOW)
    db.commit()
    device = {"install_id": "install-31", "name": "Galaxy A15", "platform": "android"}
    login = {"username": courier.username, "password": "Tam-thoi-3141", "device": device}
    refused = client.post("/mobile/v1/auth/login", json=login)
    assert refused.status_code == 403
    assert (refused.json()["error"], refused.json()["field"]) == ("password_change_required",
                                                                  "password")  # fmt: skip
    change = {"username": courier.username, "current_password": "Tam-thoi-3141",
              "new_password": "Moi-cua-toi-31"}  # fmt: skip
    wrong = client.post("/mobile/v1/auth/password", json={**change, "current_password": "nope"})
    assert wrong.status_code == 401
    assert client.post("/mobile/v1/auth/password", json=change).status_code == 204
    signed = client.post("/mobile/v1/auth/login", json={**login, "password": "Moi-cua-toi-31"})
    assert signed.status_code == 200 and signed.json()["token"]


def test_a_supervisor_sees_only_their_province_on_the_pages(
    client: TestClient, db: Session
) -> None:
    supervisor = staff(db, "province_supervisor", Binding(province_code=BAC_NINH))
    own = staff(db, "courier", Binding(post_office_id=post_office_in(db, BAC_NINH).id))
    other = staff(db, "courier", Binding(post_office_id=post_office_in(db, HA_NOI).id))
    db.commit()
    assert _sign_in(client, supervisor.username, STRONG).headers["location"] == "/admin"
    listed = client.get("/admin/users", params={"role": "courier", "lang": "vi"})
    assert f'data-username="{own.username}"' in listed.text
    assert f'data-username="{other.username}"' not in listed.text
    assert "Nhật ký quản trị" not in listed.text  # the audit log is not in their menu
    outside = client.get(f"/admin/users/{other.id}")
    assert outside.status_code == 403 and "tỉnh khác" in outside.text
    assert client.get("/admin/audit").status_code == 403
    new = client.get("/admin/users/new")
    assert 'value="admin"' not in new.text and 'value="courier"' in new.text
