"""The ASGI application: every router, one error handler, one engine per process."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

import mobile_api
from api import (
    agency,
    counter,
    counter_bags,
    counter_digitise,
    counter_queue,
    courier,
    custody,
    desk,
    digitised,
    dispatch,
    ledger,
    messages,
    money,
    pages,
    printing,
    sla,
    tracking,
)
from api.admin import catalogue as admin_catalogue
from api.admin import endpoints as admin_api
from api.admin import pages as admin_pages
from api.bank import endpoints as bank_api
from api.bank import pages as bank_pages
from api.citizens import endpoints as citizen_api
from api.citizens import pages as citizen_pages
from api.errors import declare_error_shape, install_error_handlers
from api.guard import InputGuard
from api.observability import install_observability
from api.ratelimit import Limiter, RateLimit
from api.web import STATIC_DIR
from core.db import database_url, make_engine, make_sessionmaker
from core.settings import Settings, get_settings
from edge.deps import SessionDep
from edge.responses import ERROR_RESPONSES
from edge.security import declare_agency_security


def _freeze_startup_objects() -> None:
    """Move what start-up built (modules, the app, its routes and schemas) out of the cyclic
    garbage collector's reach, once per process.

    Otherwise each full collection walks all of it: measured at 95 ms in the middle of a scan
    batch (one every few dozen batches), the p99 of the scan sync. Once per process, so a
    test run that builds many apps does not pin them all.
    """
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def create_app(settings: Settings | None = None, url: str | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(url or database_url(settings), pool_size=10, max_overflow=10)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        _freeze_startup_objects()
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
    app.openapi = declare_agency_security(app)  # type: ignore[method-assign]
    declare_error_shape(app)
    # The last added runs first: the rate limit refuses before a body is read.
    app.add_middleware(InputGuard)
    app.state.rate_limiter = Limiter(scale=settings.public_rate_limit_scale)
    app.add_middleware(RateLimit, limiter=app.state.rate_limiter)
    install_observability(app, settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(pages.router)
    app.include_router(courier.router)
    app.include_router(tracking.router, responses=ERROR_RESPONSES)
    # The ledger's signed heads, proofs and citizens' receipts (public; docs/ledger.md).
    app.include_router(ledger.router, responses=ERROR_RESPONSES)
    app.include_router(ledger.receipt_router, responses=ERROR_RESPONSES)
    app.include_router(ledger.page_router)
    app.include_router(agency.router, responses=ERROR_RESPONSES)
    app.include_router(agency.admin_router, responses=ERROR_RESPONSES)
    # Digitised dossiers for agency systems (docs/digitising.md).
    app.include_router(digitised.router, responses=ERROR_RESPONSES)
    app.include_router(digitised.file_router, responses=ERROR_RESPONSES)
    app.include_router(printing.router, responses=ERROR_RESPONSES)
    app.include_router(desk.router)
    app.include_router(sla.page_router)
    app.include_router(sla.router, responses=ERROR_RESPONSES)
    app.include_router(sla.citizen_router, responses=ERROR_RESPONSES)
    # Citizens: booking API and pages, and the public tracking page /t/{item_id}.
    app.include_router(citizen_api.router, responses=ERROR_RESPONSES)
    app.include_router(citizen_pages.router)
    app.include_router(mobile_api.router, responses=ERROR_RESPONSES)
    app.include_router(dispatch.page_router)
    app.include_router(dispatch.router, responses=ERROR_RESPONSES)
    # Users administration: pages under /admin, JSON under /api/v1/admin/users and /audit.
    app.include_router(admin_pages.router)
    app.include_router(admin_api.router, responses=ERROR_RESPONSES)
    app.include_router(admin_catalogue.api_router, responses=ERROR_RESPONSES)
    app.include_router(admin_catalogue.page_router)
    # Citizen messages' delivery status for staff (docs/notifications.md).
    app.include_router(messages.router, responses=ERROR_RESPONSES)
    app.include_router(messages.page_router)
    # Money: bank statements and notifications, the queue, reconciliation (docs/money.md).
    app.include_router(bank_api.router, responses=ERROR_RESPONSES)
    app.include_router(bank_api.bank_router, responses=ERROR_RESPONSES)
    app.include_router(bank_pages.page_router)
    app.include_router(money.router, responses=ERROR_RESPONSES)
    app.include_router(money.page_router)
    # The ledger as EPCIS events, corrections and scan exceptions (docs/epcis.md).
    app.include_router(custody.router, responses=ERROR_RESPONSES)
    app.include_router(custody.page_router)
    app.include_router(counter.router)
    app.include_router(counter_queue.router)
    app.include_router(counter_bags.router)
    app.include_router(counter_digitise.router)
    app.include_router(counter_queue.kiosk_router)

    @app.get("/healthz", tags=["ops"])
    def healthz(session: SessionDep) -> dict[str, str]:
        session.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok"}

    return app
