"""Pages in a real browser: hoso served by uvicorn on a free port, Debian's chromium driving it.

The server runs in a thread against the test database, so a test prepares its data with the
``committing`` fixture (the server cannot see a rolled-back transaction). Screenshots go to
``test-artifacts/screens/`` for a person to look at.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from core.settings import Settings
from edge.deps import get_now

SCREENS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
# A mid-range Android phone, the couriers' and most citizens' device.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "vi-VN",
    "timezone_id": "Asia/Ho_Chi_Minh",
}


@pytest.fixture(scope="session")
def live_settings() -> Settings:
    return Settings(environment="test", secret_key="test-secret", database_url=None)


@contextmanager
def serving(app: FastAPI, *, start_within_s: float = 30) -> Iterator[str]:
    """``app`` on 127.0.0.1:<free port> in a thread, for the browser to load; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + start_within_s
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the test server did not start within {start_within_s:.0f} s")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_app(database_url: str, live_settings: Settings) -> FastAPI:
    """The app ``live_server`` serves, for a test that moves its clock (``server_clock``)."""
    return create_app(live_settings, url=database_url)


@pytest.fixture(scope="session")
def live_server(live_app: FastAPI) -> Iterator[str]:
    """The whole app on 127.0.0.1:<free port>, for the browser to load."""
    with serving(live_app, start_within_s=20) as base:
        yield base


@contextmanager
def server_clock(app: FastAPI, at: datetime) -> Iterator[Callable[[], datetime]]:
    """The server's clock (``edge.deps.get_now``) moved to ``at`` and running on from there:
    the real clock shifted by a fixed offset, so time still moves forward and requests keep
    their order. Yields that clock, for what the test does through the services meanwhile;
    the server is back on the real clock afterwards (the server is shared by the session)."""
    offset = at - datetime.now(UTC)

    def now() -> datetime:
        return datetime.now(UTC) + offset

    async def shifted_now() -> datetime:
        return now()

    before = app.dependency_overrides.get(get_now)
    app.dependency_overrides[get_now] = shifted_now
    try:
        yield now
    finally:
        if before is None:
            del app.dependency_overrides[get_now]
        else:
            app.dependency_overrides[get_now] = before


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browser context (own cookies and storage) and its page."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot() -> Any:
    SCREENS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
