"""The courier API (``/mobile/v1``): device-bound sign-in, scan sync, door-step journeys."""

from fastapi import APIRouter

from mobile_api import digitising, endpoints, figures, handovers, media, pings, rounds

router = APIRouter()
router.include_router(endpoints.router)
router.include_router(rounds.router)
router.include_router(media.router)
router.include_router(handovers.router)
router.include_router(pings.router)
router.include_router(digitising.router)
router.include_router(figures.router)

__all__ = ["router"]
