"""The agency integration API: signed requests from the provincial one-stop system and the
national portal (dossier received, result ready, returned for supplement), and an admin's
replay of dead-lettered status webhooks. docs/agency-api.md is the contract."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.staff import AdminUser
from core.agency.models import AgencySystem
from core.agency.nonces import spend_nonce
from core.agency.service import (
    dossier_received,
    result_ready,
    returned_for_supplement,
    verify_request,
)
from core.agency.signing import SignedRequest
from core.agency.webhooks import dead_webhooks, replay_webhook
from core.cases.models import Case
from core.custody.models import Item
from edge.deps import NowDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/agency/v1", tags=["agency"])
admin_router = APIRouter(prefix="/api/v1/admin/webhooks", tags=["admin"])


async def raw_body(request: Request) -> bytes:
    return await request.body()


def agency_system(
    request: Request,
    body: Annotated[bytes, Depends(raw_body)],
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> AgencySystem:
    """The calling system, once its signature, timestamp and nonce have passed."""
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    verified = verify_request(
        session, settings, SignedRequest(request.method, path, request.headers, body), now=now
    )
    spend_nonce(request.app.state.sessionmaker, settings, key_id=verified.key_id,
                nonce=verified.nonce, signature=verified.signature, now=now)  # fmt: skip
    return verified.system


CallingSystem = Annotated[AgencySystem, Depends(agency_system)]


class DossierReceived(BaseModel):
    item_id: str = Field(description="The dossier item's S10 ID, as on its label.")
    agency_dossier_code: str = Field(description="Mã hồ sơ, V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX.")
    appointment_date: date | None = Field(None, description="Ngày hẹn trả kết quả.")


class CaseRef(BaseModel):
    item_id: str | None = Field(None, description="The dossier or result item's S10 ID.")
    agency_dossier_code: str | None = None


class ReturnedForSupplement(CaseRef):
    reason: str = Field(description="What the citizen must add, as the agency words it.")


class CaseRead(BaseModel):
    case_id: int
    dossier_item_id: str | None
    result_item_id: str | None
    agency_dossier_code: str | None
    appointment_date: date | None


class ResultRead(CaseRead):
    created: bool


def _case_read(session: Session, case: Case) -> CaseRead:
    def code(item_id: int | None) -> str | None:
        item = session.get(Item, item_id) if item_id else None
        return item.code if item else None

    return CaseRead(
        case_id=case.id,
        dossier_item_id=code(case.dossier_item_id),
        result_item_id=code(case.result_item_id),
        agency_dossier_code=case.agency_dossier_code,
        appointment_date=case.appointment_date,
    )


@router.post("/dossiers/received")
def post_dossier_received(
    payload: DossierReceived,
    system: CallingSystem,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> CaseRead:
    case = dossier_received(
        session, settings, system, item_id=payload.item_id,
        agency_dossier_code=payload.agency_dossier_code,
        appointment_date=payload.appointment_date, payload=payload.model_dump(mode="json"),
        now=now,
    )  # fmt: skip
    return _case_read(session, case)


@router.post("/results")
def post_result_ready(
    payload: CaseRef,
    system: CallingSystem,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> ResultRead:
    ready = result_ready(
        session, settings, system, item_id=payload.item_id,
        agency_dossier_code=payload.agency_dossier_code,
        payload=payload.model_dump(mode="json"), now=now,
    )  # fmt: skip
    return ResultRead(**_case_read(session, ready.case).model_dump(), created=ready.created)


@router.post("/dossiers/returned")
def post_returned_for_supplement(
    payload: ReturnedForSupplement,
    system: CallingSystem,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> CaseRead:
    case = returned_for_supplement(
        session, settings, system, item_id=payload.item_id,
        agency_dossier_code=payload.agency_dossier_code, reason=payload.reason,
        payload=payload.model_dump(mode="json"), now=now,
    )  # fmt: skip
    return _case_read(session, case)


class WebhookRead(BaseModel):
    id: int
    status: str
    attempts: int
    last_error: str | None
    system: str | None
    event_id: str | None


@admin_router.get("/dead")
def get_dead_webhooks(_: AdminUser, session: SessionDep) -> list[WebhookRead]:
    return [
        WebhookRead(
            id=m.id, status=m.status, attempts=m.attempts, last_error=m.last_error,
            system=m.payload.get("system"), event_id=m.payload.get("body", {}).get("event_id"),
        )
        for m in dead_webhooks(session)
    ]  # fmt: skip


@admin_router.post("/{message_id}/replay")
def post_replay_webhook(
    message_id: int, _: AdminUser, session: SessionDep, now: NowDep
) -> WebhookRead:
    m = replay_webhook(session, message_id, now=now)
    return WebhookRead(
        id=m.id, status=m.status, attempts=m.attempts, last_error=m.last_error,
        system=m.payload.get("system"), event_id=m.payload.get("body", {}).get("event_id"),
    )  # fmt: skip
