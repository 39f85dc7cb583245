"""The ASGI application: every router, one error handler, one engine per process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import text

from api import tracking
from api.deps import SessionDep
from api.errors import install_error_handlers
from core.db import database_url, make_engine, make_sessionmaker
from core.settings import Settings, get_settings


def create_app(settings: Settings | None = None, url: str | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(url or database_url(settings), pool_size=10, max_overflow=10)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="hoso",
        summary="Hồ sơ thủ tục hành chính qua bưu chính công ích — chain of custody API",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sessionmaker = make_sessionmaker(engine)
    install_error_handlers(app)
    app.include_router(tracking.router)

    @app.get("/healthz", tags=["ops"])
    def healthz(session: SessionDep) -> dict[str, str]:
        session.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok"}

    # The label's QR encodes /t/{item_id}. Until the tracking page exists it answers with the
    # tracking data, so no printed label points at nothing.
    @app.get("/t/{item_id}", include_in_schema=False)
    def track_item(item_id: str) -> RedirectResponse:
        return RedirectResponse(f"/api/v1/tracking/{tracking.parse_item_id(item_id)}", 303)

    @app.get("/t", include_in_schema=False)
    def track_form(id: str) -> RedirectResponse:
        return track_item(id)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home() -> str:
        return _HOME

    return app


_HOME = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>hoso</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto">
<h1>hoso — Hồ sơ qua bưu chính</h1>
<p>Nhận hồ sơ tại nhà, chuyển đến bộ phận một cửa và trả kết quả tận tay.
<br><small>Dossiers picked up at home, carried to one-stop offices,
results brought back.</small></p>
<form action="/t" method="get">
<label>Mã bưu gửi / Item ID
 <input name="id" placeholder="DH 000 000 012 VN"></label>
<button>Tra cứu / Track</button></form>
<p><a href="/docs">API</a> · <a href="/openapi.json">OpenAPI</a>
 · <a href="/healthz">healthz</a></p>
</body></html>"""
