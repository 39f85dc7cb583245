"""The round around the door-step events: delivery codes, returns, the dossier slip."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from core.courier.progress import day_count, record_arrival
from core.courier.rounds import dossier_slip_pdf, due_returns, send_delivery_code
from core.courier.runsheet import run_sheet
from edge.deps import NowDep, SettingsDep
from mobile_api.deps import CurrentCourier, FieldCaller, SessionDep
from mobile_api.schemas import (
    ArrivalIn,
    ArrivalOut,
    CodeSentOut,
    RunSheetOut,
    StopItem,
    StopOut,
)
from vntime import VN

router = APIRouter(prefix="/mobile/v1", tags=["mobile"])


@router.post("/deliveries/{code}/otp", response_model=CodeSentOut, status_code=201)
def request_delivery_code(
    code: str,
    request: Request,
    caller: CurrentCourier,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> CodeSentOut:
    """Text the citizen a one-time code; they read it to the courier, who sends it with
    POST /mobile/v1/deliveries (proof=otp). Rate-limited per phone."""
    sent = send_delivery_code(
        session,
        settings,
        caller.actor,
        code,
        now=now,
        client_ip=request.client.host if request.client else None,
    )
    return CodeSentOut(
        challenge_id=sent.issued.challenge_id,
        expires_at=sent.issued.expires_at,
        phone_masked=sent.phone_masked,
    )


class DueReturnOut(BaseModel):
    code: str
    case_id: int | None
    office_id: int | None
    attempts: int
    return_to: str | None


@router.get("/returns", response_model=list[DueReturnOut])
def returns(
    caller: CurrentCourier, session: SessionDep, settings: SettingsDep
) -> list[DueReturnOut]:
    """Results whose delivery attempts are used up: hand each to ``return_to`` (a hand-off,
    ``handover_offered`` with that ``to_party``; the desk's confirmation closes it)."""
    return [
        DueReturnOut(
            code=r.code,
            case_id=r.case_id,
            office_id=r.office_id,
            attempts=r.attempts,
            return_to=f"office:{r.office_id}" if r.office_id else None,
        )
        for r in due_returns(session, settings, caller.actor)
    ]


@router.get(
    "/cases/{case_id}/slip.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def dossier_slip(
    case_id: int, caller: FieldCaller, session: SessionDep, settings: SettingsDep
) -> Response:
    """The dossier slip (phiếu hồ sơ) of a picked-up dossier, with the signatures uploaded."""
    filename, pdf = dossier_slip_pdf(session, caller.user, case_id, settings)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get("/runsheet", response_model=RunSheetOut)
def runsheet(
    caller: FieldCaller,
    session: SessionDep,
    now: NowDep,
    day: Annotated[date | None, Query(alias="date", description="Default: today (UTC+7)")] = None,
    courier_id: Annotated[int | None, Query(description="A dispatcher reading a courier's")] = None,
) -> RunSheetOut:
    """The day's stops in order, with windows, ETA, place and the items expected at each.
    A citizen's phone number is given in full only on the caller's own stops."""
    # Today by the server's one clock (edge.deps.get_now), as every other page reads it.
    day = day or now.astimezone(VN).date()
    who, stops = run_sheet(session, caller.user, day, courier_id)
    count = day_count(stop.status for stop in stops)
    return RunSheetOut(
        date=day,
        courier_id=who,
        finished=count.finished,
        total=count.total,
        remaining=count.remaining,
        stops=[
            StopOut.model_validate(
                {**asdict(stop), "items": [StopItem(**asdict(i)) for i in stop.items]}
            )
            for stop in stops
        ],
    )


@router.post("/stops/{stop_id}/arrival", response_model=ArrivalOut)
def arrive(
    stop_id: int, body: ArrivalIn, caller: CurrentCourier, session: SessionDep, now: NowDep
) -> ArrivalOut:
    """The courier is at this stop of their run sheet (the "arrived" step). Idempotent: the
    first arrival stands, a resend from the offline queue answers it again (``new`` false)."""
    arrival = record_arrival(session, caller.user, stop_id, body.arrived_at, now=now)
    return ArrivalOut(**asdict(arrival))
