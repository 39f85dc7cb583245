"""A courier's own service-quality figures on the phone (``GET /mobile/v1/figures``).

The same figures as the courier's level of the /sla dashboard: the roll-ups read by
``core.sla.report.figures``, with the same authorisation (``core.access.sla_reach``: a courier
sees their own figures only; a dispatcher or counter clerk may ask for a courier of their
post office).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from core.access import sla_reach
from core.errors import InvalidInput
from core.sla.report import figures, period_of
from edge.deps import NowDep, SettingsDep
from edge.errors import caller_lang
from mobile_api.deps import AnyCaller, SessionDep
from vntime import VN

router = APIRouter(prefix="/mobile/v1", tags=["mobile"])

# What a courier's own work decides, first; the others follow.
PHONE_MEASURES = (
    "pickup_on_time",
    "first_attempt",
    "satisfaction",
    "rating_response",
    "door_to_desk",
    "result_on_time",
)
PHONE_RANGES = ("today", "week")


class PhoneFigureOut(BaseModel):
    measure: str
    label: str
    total: int
    hits: int
    rate: float | None
    goal: float | None
    meets_goal: bool | None


class PhoneFiguresOut(BaseModel):
    courier_id: int
    range: str
    start: date
    end: date
    figures: list[PhoneFigureOut]


@router.get("/figures", response_model=PhoneFiguresOut)
def my_figures(
    request: Request,
    caller: AnyCaller,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    range: Annotated[str, Query()] = "today",
    courier_id: Annotated[int | None, Query()] = None,
) -> PhoneFiguresOut:
    """The caller's own figures for today or this week (Monday on); ``courier_id`` another
    courier's, for those whom the dashboard lets see them."""
    if range not in PHONE_RANGES:
        raise InvalidInput(
            f"range must be one of {', '.join(PHONE_RANGES)}",
            field="range",
            reason="sla.phone_range",
        )
    ident = caller.user.id if courier_id is None else courier_id
    reach = sla_reach(session, caller.user, "courier", str(ident))
    period = period_of(settings, range_name=range, start=None, end=None,
                       today=now.astimezone(VN).date())  # fmt: skip
    english = caller_lang(request) == "en"
    found = {f.measure.key: f for f in figures(session, reach, period)}
    return PhoneFiguresOut(
        courier_id=ident,
        range=range,
        start=period.start,
        end=period.end,
        figures=[
            PhoneFigureOut(
                measure=key,
                label=found[key].measure.en if english else found[key].measure.vi,
                total=found[key].total,
                hits=found[key].hits,
                rate=found[key].rate,
                goal=found[key].measure.goal,
                meets_goal=found[key].meets_goal,
            )
            for key in PHONE_MEASURES
        ],
    )
