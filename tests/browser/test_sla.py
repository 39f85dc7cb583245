"""The province supervisor's dashboard and its "late now" list in a real browser."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.admin.users import Binding
from core.db import transaction
from tests.core.admin.helpers import STRONG, staff
from tests.core.sla.helpers import DAY, build_day


def test_supervisor_dashboard_and_late_now(
    live_server: str,
    browser: Any,
    committing: sessionmaker[Session],
    settings: Any,
    screenshot: Any,
) -> None:
    with transaction(committing) as session:
        world = build_day(session, settings)
        boss = staff(session, "province_supervisor", Binding(province_code="24"),
                     full_name="Phạm Thị Giám Sát")  # fmt: skip
        username, post_office_id = boss.username, world.post_office.id
        undelivered = list(world.undelivered)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")  # fmt: skip
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login?next=/sla")
        page.fill("#username", username)
        page.fill("#password", STRONG)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/sla")
        assert "Bắc Ninh" in page.locator("#sla-place").inner_text()
        week = f"range=custom&start={DAY.isoformat()}&end={(DAY + timedelta(days=6)).isoformat()}"
        page.goto(f"{live_server}/sla?level=province&id=24&{week}")
        assert page.locator("#measure-pickup_on_time svg").count() == 1
        assert page.locator("#sla-by-post_office").get_by_text("Bưu cục Ngày Mẫu").count() >= 1
        screenshot(page, "sla_supervisor_province")
        # Down to the hand-built post office: 7 of 10 pickups on time, and the two dossiers
        # the courier still holds past 24 hours in the late list, each linking to its item.
        page.click(f"#sla-by-post_office a[href*='id={post_office_id}&']")
        page.wait_for_url(f"**/sla?level=post_office&id={post_office_id}*")
        tile = page.locator("#measure-pickup_on_time").inner_text()
        assert "70.0%" in tile and "7 / 10" in tile
        late = page.locator("#sla-late")
        for code in undelivered:
            assert late.locator(f"a[href='/t/{code}']").count() == 1
        assert "Lê Văn Bưu" in late.inner_text()
        screenshot(page, "sla_supervisor_post_office_late_now")
        page.click(f"#sla-late a[href='/t/{undelivered[0]}']")
        page.wait_for_url(f"**/t/{undelivered[0]}")
        page.goto(f"{live_server}/sla?level=post_office&id={post_office_id}&{week}&lang=en")
        assert "Late now" in page.locator("#sla-late h2").inner_text()
        page.emulate_media(media="print")
        screenshot(page, "sla_supervisor_print_en")
    finally:
        context.close()
