"""Public tracking: anyone with the ID printed on the label; personal data masked."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.tracking_cache import tracking_cache
from core.courier.eta import CourierEta
from core.errors import code_refusal
from edge.deps import NowDep, SessionDep
from labels.errors import InvalidCode
from labels.s10 import validate_item_id

router = APIRouter(prefix="/api/v1/tracking", tags=["tracking"])


class TimelineEntryRead(BaseModel):
    seq: int
    kind: str
    label_vi: str
    label_en: str
    occurred_at: datetime
    holder_vi: str
    holder_en: str
    upu_code: str | None
    corrected: bool
    place_vi: str = Field(default="", description="A transit step: where the bag goes or arrived")
    place_en: str = ""


class LegRead(BaseModel):
    item_code: str
    kind: str
    status: str
    status_vi: str
    status_en: str


class EtaRead(BaseModel):
    """When the courier is expected at the door today. Times only: the courier's position
    is used to compute ``live_eta`` and never shown."""

    courier_first_name: str
    stop_kind: str
    status: str = Field(description="planned, or arrived (the courier is at the door)")
    planned_eta: datetime | None = Field(
        description="The plan's ETA moved by how late the courier runs; never in the past"
    )
    en_route: bool = Field(description="Every stop before this one is finished")
    live_eta: datetime | None = Field(
        description="From the courier's last position, when en route and the fix is fresh"
    )
    stops_before: int = Field(description="Unfinished stops before this one")


def eta_read(eta: CourierEta | None) -> EtaRead | None:
    return EtaRead(**asdict(eta)) if eta is not None else None


class TrackingRead(BaseModel):
    item_id: str
    kind: str
    status: str
    status_vi: str
    status_en: str
    holder_vi: str
    holder_en: str
    handover_pending: bool
    office_name: str | None
    area_vi: str | None
    contact_phone_masked: str | None
    pickup_window_start: datetime | None
    pickup_window_end: datetime | None
    agency_dossier_code: str | None
    appointment_date: date | None
    legs: list[LegRead]
    timeline: list[TimelineEntryRead]
    eta: EtaRead | None = Field(default=None, description="A courier due at the door today")


def parse_item_id(raw: str) -> str:
    try:
        return validate_item_id(raw)
    except InvalidCode as exc:
        raise code_refusal(exc, "item_id") from exc


@router.get("/{item_id}", response_model=TrackingRead)
def get_tracking(item_id: str, session: SessionDep, now: NowDep) -> TrackingRead:
    """Status and timeline of one item (and the other leg of its case), and the courier's
    ETA when one is due at the door today. Never older than a scan (api/tracking_cache.py)."""
    public = tracking_cache.read(session, parse_item_id(item_id), now=now)
    view = public.view
    return TrackingRead(
        item_id=view.item_code,
        kind=view.kind,
        status=view.status,
        status_vi=view.status_vi,
        status_en=view.status_en,
        holder_vi=view.holder_vi,
        holder_en=view.holder_en,
        handover_pending=view.handover_pending,
        office_name=view.office_name,
        area_vi=view.area_vi,
        contact_phone_masked=view.contact_phone_masked,
        pickup_window_start=view.pickup_window_start,
        pickup_window_end=view.pickup_window_end,
        agency_dossier_code=view.agency_dossier_code,
        appointment_date=view.appointment_date,
        legs=[LegRead(**leg.__dict__) for leg in view.legs],
        timeline=[
            TimelineEntryRead(
                seq=e.seq, kind=e.kind, label_vi=e.label_vi, label_en=e.label_en,
                occurred_at=e.occurred_at, holder_vi=e.holder_vi, holder_en=e.holder_en,
                upu_code=e.upu_code, corrected=e.corrected, place_vi=e.place_vi,
                place_en=e.place_en,
            )
            for e in view.timeline
        ],
        eta=eta_read(public.eta),
    )  # fmt: skip
