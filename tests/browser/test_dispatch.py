"""The dispatcher page in a real browser: map drawn without tiles, a stop moved, plan updated."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.dispatch.day import today_in_vietnam
from core.dispatch.models import RouteStop
from core.dispatch.service import plan_day
from core.settings import Settings
from tests.core.dispatch.checks import saved_plan_violations
from tests.factories import make_case, make_office, make_post_office, make_user, unique
from vntime import VN

pytestmark = pytest.mark.browser
DESKTOP = {"viewport": {"width": 1440, "height": 900}, "locale": "vi-VN",
           "timezone_id": "Asia/Ho_Chi_Minh"}  # fmt: skip


@pytest.fixture
def desktop(browser: Any, live_server: str) -> Iterator[Any]:
    """A desktop-sized page that can reach only the test server (no network in tests)."""
    context = browser.new_context(**DESKTOP)

    def local_only(route: Any) -> None:
        if route.request.url.startswith(live_server):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", local_only)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def unreachable_tiles(live_settings: Settings) -> Iterator[None]:
    """Tiles configured but unreachable: the routes must still be drawn."""
    before = live_settings.map_tile_url
    live_settings.map_tile_url = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
    yield
    live_settings.map_tile_url = before


def test_dispatcher_sees_the_map_moves_a_stop_and_the_plan_updates(
    live_server: str,
    desktop: Any,
    committing: sessionmaker[Session],
    settings: Settings,
    screenshot: Any,
    unreachable_tiles: None,
) -> None:
    day = today_in_vietnam(datetime.now(VN)) + timedelta(days=1)
    username = unique("dieuphoi")
    rng = random.Random(4)
    with transaction(committing) as session:
        post = make_post_office(session, name="Bưu cục thử nghiệm Kinh Bắc")
        offices = [make_office(session), make_office(session, lat=21.205, lon=106.045)]
        couriers = [
            make_user(session, "courier", post_office_id=post.id, full_name=name)
            for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường")
        ]
        make_user(session, "dispatcher", post_office_id=post.id, username=username,
                  full_name="Điều phối viên thử", password="correct horse battery")  # fmt: skip
        for i, hour in enumerate((8, 8, 9, 10, 10, 13, 14, 15, 15)):
            start = datetime(day.year, day.month, day.day, hour, tzinfo=VN)
            make_case(session, settings, post_office=post, office=offices[i % 2],
                      service_option="send", pickup_window_start=start,
                      pickup_window_end=start + timedelta(hours=2),
                      lat=21.18 + rng.uniform(-0.03, 0.03),
                      lon=106.07 + rng.uniform(-0.03, 0.03),
                      contact_name=f"Khách hàng {i + 1}")  # fmt: skip
        plan_day(session, settings, post_office_id=post.id, day=day, now=datetime.now(VN),
                 time_limit_s=0.5)  # fmt: skip
        post_id = post.id
        courier_ids = [c.id for c in couriers]

    page = desktop
    page.goto(f"{live_server}/login?next=/dispatch?date={day.isoformat()}")
    page.fill("#username", username)
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_selector("#map svg path.route")
    assert page.locator("h1").inner_text().startswith("Điều phối")
    routes = page.locator("#map svg path.route")
    assert routes.count() >= 1
    assert page.locator("#map svg path.stop-marker").count() == 18
    assert page.locator("#map svg path.depot-marker").count() == 1
    screenshot(page, "dispatch_map_before_move")

    # Move the first planned stop of a courier who has one to another courier.
    source = page.locator("section.courier:has(li.stop)").first
    source_id = int(source.get_attribute("data-courier-id"))
    stop = source.locator("li.stop").first
    stop_id = int(stop.get_attribute("data-stop-id"))
    target_id = next(c for c in courier_ids if c != source_id)
    stop.locator("select.move-to").select_option(str(target_id))
    with page.expect_navigation():
        stop.locator("button.move").click()
    page.wait_for_selector("#map svg path.route")

    moved = page.locator(f'section.courier[data-courier-id="{target_id}"] '
                         f'li.stop[data-stop-id="{stop_id}"]')  # fmt: skip
    assert moved.count() == 1
    assert "khóa" in moved.inner_text()
    assert page.locator(f'section.courier[data-courier-id="{target_id}"] path').count() == 0
    assert page.locator(f"#map svg path.route-courier-{target_id}").count() == 1
    screenshot(page, "dispatch_map_after_move")

    with transaction(committing) as session:
        row = session.get(RouteStop, stop_id)
        assert row is not None and row.courier_id == target_id and row.locked
        pair = session.get(RouteStop, row.paired_stop_id)
        assert pair is not None and pair.courier_id == target_id
        assert saved_plan_violations(session, settings, post_id, day) == []
