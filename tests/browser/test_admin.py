"""The admin area in a real browser: the first admin comes from the CLI, then creates a ward
office's desk officer and two couriers, resets the desk officer's password, and the desk
officer is made to choose a new one at sign-in before reaching the desk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.cli import app as hoso
from core.db import transaction
from core.identity.models import User
from core.settings import get_settings
from tests.core.admin.helpers import BAC_NINH, office_in, post_office_in
from tests.factories import unique

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "vi-VN",
           "timezone_id": "Asia/Ho_Chi_Minh"}  # fmt: skip
ADMIN_PASSWORD = "Quan-tri-Bac-Ninh-1"


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    yield page
    context.close()


def _create_user(page: Any, *, username: str, full_name: str, role: str, place: str,
                 place_field: str, must_change: bool) -> None:  # fmt: skip
    page.click("#new-user")
    page.fill("#username", username)
    page.fill("#full_name", full_name)
    page.select_option("#role", role)
    # Only the choice that fits the role is shown (admin.js); the others stay hidden.
    assert page.locator(f"#{place_field}").is_visible()
    page.select_option(f"#{place_field}", place)
    page.fill("#password", "Mat-khau-dau-1")
    page.fill("#password_again", "Mat-khau-dau-1")
    if not must_change:
        page.uncheck("input[name=must_change_password]")
    page.click("button[type=submit]")
    page.wait_for_selector(".notice")
    assert "Đã tạo người dùng." in page.inner_text(".notice")
    page.click("text=← Người dùng")


def test_admin_creates_staff_and_a_reset_user_sets_a_new_password(
    live_server: str,
    desktop: Any,
    committing: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    screenshot: Any,
) -> None:
    with transaction(committing) as session:
        ward = office_in(session, BAC_NINH)
        ward.name_vi = "Trung tâm Phục vụ hành chính công phường Võ Cường"
        ward_id = str(ward.id)
        post_id = str(post_office_in(session, BAC_NINH).id)
    admin_name, desk_name = unique("quantri").lower(), unique("motcua").lower()
    couriers = [unique("buuta").lower() for _ in range(2)]

    # The first admin, as a province's IT team creates it: the CLI, password on stdin.
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    args = ["admin", "create-user", "--username", admin_name, "--role", "admin",
            "--full-name", "Quản trị viên tỉnh", "--password-stdin"]  # fmt: skip
    created = CliRunner().invoke(hoso, args, input=ADMIN_PASSWORD + "\n")
    assert created.exit_code == 0, created.output

    page = desktop
    page.goto(f"{live_server}/login")
    page.fill("#username", admin_name)
    page.fill("#password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/admin/users")
    screenshot(page, "admin_users_empty_search")

    # A refusal first: a weak password is named beside its field, nobody is created.
    page.click("#new-user")
    page.fill("#username", desk_name)
    page.fill("#full_name", "Lê Thị Một Cửa")
    page.select_option("#role", "desk_officer")
    page.select_option("#office_id", ward_id)
    page.fill("#password", "ngan")
    page.fill("#password_again", "ngan")
    page.click("button[type=submit]")
    error = page.locator('.field-error[data-field="password"]')
    assert "ít nhất 10 ký tự" in error.inner_text()
    screenshot(page, "admin_create_user_refused")
    page.click("text=← Người dùng")

    _create_user(page, username=desk_name, full_name="Lê Thị Một Cửa", role="desk_officer",
                 place=ward_id, place_field="office_id", must_change=False)  # fmt: skip
    for index, name in enumerate(couriers, start=1):
        _create_user(page, username=name, full_name=f"Bưu tá số {index}", role="courier",
                     place=post_id, place_field="post_office_id", must_change=True)  # fmt: skip
    # The filters: couriers of the post office (by role and post office in the form).
    page.select_option("#f-role", "courier")
    page.select_option("#f-post", post_id)
    page.click(".filters button")
    page.wait_for_url("**/admin/users?*role=courier*")
    listed = page.locator("table.users tbody tr").all_inner_texts()
    assert len(listed) == 2 and all("Bưu tá" in row for row in listed)
    screenshot(page, "admin_users_couriers")

    # Reset the desk officer's password; the temporary one is shown once.
    page.goto(f"{live_server}/admin/users?q={desk_name}")
    page.click(f'tr[data-username="{desk_name}"] a')
    page.click("#reset-password")
    temporary = page.inner_text("#temporary-password").strip()
    assert temporary
    screenshot(page, "admin_password_reset")
    page.goto(f"{live_server}/admin/audit")
    actions = page.locator("table.audit tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)"
    )
    assert actions[:4] == ["user.reset_password", "user.create", "user.create", "user.create"]
    assert temporary not in page.content()
    screenshot(page, "admin_audit_log")
    page.click("button.link")  # sign out

    # The desk officer signs in with the temporary password and must choose a new one.
    page.goto(f"{live_server}/login")
    page.fill("#username", desk_name)
    page.fill("#password", temporary)
    page.click("button[type=submit]")
    page.wait_for_selector("#new_password")
    assert "Đặt mật khẩu mới" in page.inner_text("h1")
    page.fill("#current_password", temporary)
    page.fill("#new_password", "Mot-cua-Vo-Cuong-7")
    page.fill("#new_password_again", "Mot-cua-Vo-Cuong-7")
    screenshot(page, "admin_forced_password_change")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/desk")
    screenshot(page, "admin_desk_officer_after_new_password")
    with transaction(committing) as session:
        desk = session.scalar(select(User).where(User.username == desk_name))
        assert desk is not None and not desk.must_change_password
        assert str(desk.office_id) == ward_id
