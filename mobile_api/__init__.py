"""The courier API (``/mobile/v1``): device-bound sign-in, scan sync, door-step journeys."""

from mobile_api.endpoints import router

__all__ = ["router"]
