"""The courier's phone app, served by hoso itself: an installable PWA at ``/courier``.

Everything it does goes through the courier mobile API (``/mobile/v1``); this router only
serves the shell, the web app manifest and the service worker. The service worker must be
served from ``/courier/`` so that its scope covers the app's pages; it caches the shell and
the scripts so the app opens with no signal, and the app keeps every scan in IndexedDB until
the server has answered for it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from api.web import STATIC_DIR, render
from edge.deps import SettingsDep

router = APIRouter(include_in_schema=False)
APP_DIR = STATIC_DIR / "courier"
# Bumped whenever the cached files change, so phones drop the old copies.
APP_VERSION = "2026-12-03.7"


@router.get("/courier", response_class=HTMLResponse)
@router.get("/courier/", response_class=HTMLResponse)
def courier_app(request: Request, settings: SettingsDep) -> HTMLResponse:
    context = {
        "app_version": APP_VERSION,
        "tile_url": settings.map_tile_url or "",
        "tile_attribution": settings.map_tile_attribution,
    }
    response = render(request, "courier.html", context)
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/courier/sw.js")
def service_worker() -> FileResponse:
    return FileResponse(
        Path(APP_DIR / "sw.js"),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/courier/"},
    )


@router.get("/courier/manifest.webmanifest")
def manifest() -> JSONResponse:
    return JSONResponse(
        {
            "name": "hoso — Bưu tá",
            "short_name": "Bưu tá",
            "description": "Nhận hồ sơ, phát kết quả, bàn giao — ghi nhận cả khi mất sóng.",
            "lang": "vi",
            "start_url": "/courier/",
            "scope": "/courier/",
            "display": "standalone",
            "orientation": "portrait",
            "background_color": "#f6f7f9",
            "theme_color": "#0b5cab",
            "icons": [
                {"src": "/static/courier/icon-192.png", "sizes": "192x192", "type": "image/png"},
                {"src": "/static/courier/icon-512.png", "sizes": "512x512", "type": "image/png"},
            ],
        },
        media_type="application/manifest+json",
    )
