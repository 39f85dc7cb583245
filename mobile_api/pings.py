"""Location pings from the courier's phone, and the latest fix for a dispatcher's live view."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from core.access import require_post_office
from core.courier.pings import Fix, latest_fix, record_pings
from core.errors import NotFound
from core.identity.models import User
from edge.deps import NowDep
from mobile_api.deps import CurrentCourier, SessionDep, Supervisor
from mobile_api.schemas import PingBatchIn, PingBatchOut

router = APIRouter(prefix="/mobile/v1", tags=["mobile"])


@router.post("/pings", response_model=PingBatchOut)
def post_pings(
    body: PingBatchIn, caller: CurrentCourier, session: SessionDep, now: NowDep
) -> PingBatchOut:
    """Up to 500 GPS fixes the phone collected (send every minute or two while on a round;
    resend a batch freely: a fix already stored is skipped)."""
    fixes = [Fix(**ping.model_dump()) for ping in body.pings]
    stored = record_pings(session, caller.user.id, caller.device_id, fixes, now=now)
    return PingBatchOut(stored=stored, duplicates=len(fixes) - stored)


class PositionOut(BaseModel):
    courier_id: int
    fixed_at: datetime
    lat: float
    lon: float
    accuracy_m: float
    speed_mps: float | None
    heading_deg: float | None


@router.get("/couriers/{courier_id}/position", response_model=PositionOut)
def courier_position(courier_id: int, caller: Supervisor, session: SessionDep) -> PositionOut:
    """The courier's latest fix, for a dispatcher of their post office (live ETA, map)."""
    courier = session.get(User, courier_id)
    if courier is None or courier.role != "courier":
        raise NotFound(f"no courier {courier_id}", field="courier_id")
    require_post_office(caller.user, courier.post_office_id, "courier", field="courier_id")
    fix = latest_fix(session, courier_id)
    if fix is None:
        raise NotFound("no position received from this courier yet", field="courier_id")
    return PositionOut(
        courier_id=courier_id,
        fixed_at=fix.fixed_at,
        lat=fix.lat,
        lon=fix.lon,
        accuracy_m=fix.accuracy_m,
        speed_mps=fix.speed_mps,
        heading_deg=fix.heading_deg,
    )
