"""Sign-in, devices, the scan sync, and the door-step journeys (pickup, delivery)."""

from __future__ import annotations

import json
from base64 import b64decode
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from core.admin.passwords import change_password
from core.courier import doorstep
from core.courier.devices import devices_visible_to, revoke_device, sign_in
from core.courier.sync import Malformed, sync
from core.custody.commands import DeviceSignature, ScanCommand, ScanResult
from core.errors import InvalidInput, Unauthorized
from core.identity.models import Device, User
from core.identity.service import revoke_token
from core.inputs import first_bad_value
from core.media.service import missing_media
from core.settings import Settings
from edge.deps import NowDep, SettingsDep, UnitOfWork, UnitOfWorkDep
from edge.errors import CallerLang, caller_lang, error_response
from edge.security import BEARER_ONLY
from edge.texts import Lang, scan_message
from mobile_api.deps import (
    AnyCaller,
    Caller,
    CurrentCourier,
    SessionDep,
    Supervisor,
    read_body,
    require_field_role,
    resolve_caller,
)
from mobile_api.schemas import (
    MAX_BATCH,
    AttemptFailedIn,
    DeliveryIn,
    DeviceOut,
    LoginIn,
    LoginOut,
    PasswordChangeIn,
    PickupIn,
    PickupRefusalIn,
    Reason,
    ReasonsOut,
    ScanBatchOut,
    ScanEventIn,
    ScanResultOut,
    SignedEvent,
    UserOut,
    scan_batch_schema,
)

TAG = "mobile"
# 500 events, each at most 8 KB of evidence and 8 KB of details plus its own fields.
MAX_BATCH_BYTES = MAX_BATCH * 20 * 1024
router = APIRouter(prefix="/mobile/v1", tags=[TAG])


# -- sign-in and devices -----------------------------------------------------------------


@router.post(
    "/auth/login",
    response_model=LoginOut,
    responses={
        401: {"description": "Wrong username or password"},
        429: {"description": "Too many failed sign-ins for this account or address"},
    },
)
def login(
    body: LoginIn, request: Request, session: SessionDep, settings: SettingsDep, now: NowDep
) -> LoginOut | JSONResponse:
    """Sign in a courier or dispatcher on one phone; the token works only while that phone
    (device) and the token are not revoked. Failed attempts are limited (see docs)."""
    try:
        signed = sign_in(
            session,
            settings,
            username=body.username,
            password=body.password,
            install_id=body.device.install_id,
            device_name=body.device.name,
            platform=body.device.platform,
            now=now,
            client_ip=request.client.host if request.client else None,
            public_key=body.device.public_key,
            key_algorithm=body.device.key_algorithm,
        )
    except Unauthorized as failure:
        # Answered, not raised: the transaction commits, so the failed attempt counts.
        return error_response(failure, caller_lang(request))
    return LoginOut(
        token=signed.token.token,
        expires_at=signed.token.expires_at,
        device_id=signed.device.id,
        user=_user_out(signed.user),
        key_id=signed.key_id,
    )


@router.post(
    "/auth/password",
    status_code=204,
    responses={401: {"description": "Wrong username or current password"}},
)
def set_new_password(
    body: PasswordChangeIn, request: Request, session: SessionDep, now: NowDep
) -> Response:
    """After an admin's reset (sign-in answers 403 ``password_change_required``): prove the
    temporary password and choose a new one, then sign in with it."""
    try:
        change_password(
            session,
            username=body.username,
            current_password=body.current_password,
            new_password=body.new_password,
            now=now,
            client_ip=request.client.host if request.client else None,
        )
    except Unauthorized as failure:
        # Answered, not raised: the failed attempt commits and counts like a failed sign-in.
        return error_response(failure, caller_lang(request))
    return Response(status_code=204)


@router.post("/auth/logout", status_code=204)
def logout(caller: AnyCaller, session: SessionDep, settings: SettingsDep, now: NowDep) -> None:
    """Revoke the token this request carries (the device stays registered)."""
    revoke_token(session, settings, caller.token, now=now)


@router.get("/me", response_model=UserOut)
def me(caller: AnyCaller) -> UserOut:
    return _user_out(caller.user)


@router.get("/devices", response_model=list[DeviceOut])
def list_devices(caller: Supervisor, session: SessionDep) -> list[DeviceOut]:
    """Phones of the post office's staff (a dispatcher) or of everyone (an admin)."""
    return [_device_out(d, u.username) for d, u in devices_visible_to(session, caller.user)]


@router.post("/devices/{device_id}/revoke", response_model=DeviceOut)
def revoke(device_id: int, caller: Supervisor, session: SessionDep, now: NowDep) -> DeviceOut:
    """A lost or stolen phone: every token bound to it stops working at once."""
    device = revoke_device(session, caller.user, device_id, now=now)
    owner = session.get(User, device.user_id)
    return _device_out(device, owner.username if owner else "")


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        post_office_id=user.post_office_id,
    )


def _device_out(device: Device, username: str) -> DeviceOut:
    return DeviceOut(
        id=device.id,
        user_id=device.user_id,
        username=username,
        name=device.name,
        platform=device.platform,
        registered_at=device.registered_at,
        revoked_at=device.revoked_at,
    )


# -- scan sync -----------------------------------------------------------------------------


def _decoded(body: bytes) -> Any:
    """The batch as JSON. orjson refuses the whole document for one lone surrogate escape
    or one byte that is not UTF-8; such a batch is read again leniently, so the bad text
    lands in its own event (as a surrogate) and only that event is refused."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as strict:
        try:
            return json.loads(body.decode("utf-8", "surrogateescape"))
        except ValueError:
            raise InvalidInput(f"the body is not JSON: {strict}", field="body") from strict


def _batch_events(body: bytes) -> list[Any]:
    """The envelope only; events are validated one by one so one bad event fails alone.

    An envelope that is not JSON, or not ``{"events": [...]}``, is refused whole (422): no
    event can be told apart in it, and a phone's JSON encoder never writes one.
    """
    parsed = _decoded(body)
    if not isinstance(parsed, dict) or not isinstance(parsed.get("events"), list):
        raise InvalidInput('send {"events": [...]}', field="events")
    events: list[Any] = parsed["events"]
    if not 1 <= len(events) <= MAX_BATCH:
        raise InvalidInput(
            f"a batch holds 1 to {MAX_BATCH} events, got {len(events)}", field="events"
        )
    return events


def _echoed(raw_map: dict[Any, Any], key: str) -> str | None:
    """A value of the refused event to repeat in its answer, if it is text that can be."""
    value = raw_map.get(key)
    if not isinstance(value, str) or first_bad_value(value) is not None:
        return None
    return value[:64]


def _malformed(raw: Any, index: int, where: str, message: str) -> Malformed:
    raw_map = raw if isinstance(raw, dict) else {}
    return Malformed(
        client_event_id=_echoed(raw_map, "client_event_id"),
        code=_echoed(raw_map, "code") or "",
        reason_code="malformed_code" if where == "code" else "invalid_input",
        detail=f"events[{index}].{where}: {message}" if where else message,
        field=where or None,
    )


def _parse_event(index: int, raw: Any, now: datetime) -> ScanCommand | Malformed:
    # Text no column can hold is found first, anywhere in the event (keys included), so no
    # later message can carry it into the answer.
    bad = first_bad_value(raw)
    if bad is not None:
        return _malformed(raw, index, bad[0], bad[1])
    try:
        event = ScanEventIn.model_validate(raw, context={"now": now})
    except ValidationError as exc:
        first = exc.errors()[0]
        return _malformed(raw, index, ".".join(str(p) for p in first["loc"]), first["msg"])
    return ScanCommand(
        kind=event.kind,
        code=event.code,
        occurred_at=event.occurred_at,
        client_event_id=event.client_event_id,
        to_party=event.to_party,
        place=event.place,
        lat=event.lat,
        lon=event.lon,
        gps_accuracy_m=event.gps_accuracy_m,
        evidence=event.evidence,
        details=event.details,
        device_signature=_device_signature(event),
    )


def _device_signature(event: SignedEvent) -> DeviceSignature | None:
    """The signature sent with an event (the schema checked its shape), or None."""
    if event.signature is None:
        return None
    return DeviceSignature(key_id=event.key_id or "", signature=b64decode(event.signature))


def result_json(result: ScanResult, lang: Lang) -> dict[str, Any]:
    """One answered event as the phone reads it: the ledger's answer, less the text's params,
    plus ``message``, the courier's words for a refusal (``edge.texts``)."""
    answer = result.to_json()
    answer["message"] = scan_message(answer, lang)
    del answer["params"]
    answer["replayed"] = result.replayed
    return answer


def result_out(result: ScanResult, lang: Lang = "vi") -> ScanResultOut:
    return ScanResultOut.model_validate(result_json(result, lang))


def _media_refs(results: list[ScanResult], commands: list[ScanCommand | Malformed]) -> list[str]:
    refs: list[str] = []
    for result, command in zip(results, commands, strict=True):
        if result.outcome == "rejected" or not isinstance(command, ScanCommand):
            continue
        for mapping in (command.evidence, command.details):
            refs += [v for k, v in mapping.items() if k.endswith("_sha256") and v not in refs]
    return refs


@router.post(
    "/scans",
    response_model=ScanBatchOut,
    # The envelope (not JSON, not {"events": [...]}, 1 to 500 events) is refused whole; each
    # event's own refusal is in its answer, with 200.
    responses={422: {"description": "The batch's envelope is wrong; `field` names it"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": scan_batch_schema()}},
        },
        # The caller is resolved inside the worker call (no dependency), so named here.
        **BEARER_ONLY,
    },
)
async def post_scans(
    request: Request, unit_of_work: UnitOfWorkDep, settings: SettingsDep, now: NowDep
) -> Response:
    """Record up to 500 events the phone made, offline or not. Each gets its own answer;
    send the same batch again as often as needed (see docs/mobile-api.md)."""
    body = await read_body(request, MAX_BATCH_BYTES, field="body", what="the batch")
    authorization = request.headers.get("authorization", "")
    lang = caller_lang(request)
    answer = await run_in_threadpool(
        _sync_batch, unit_of_work, settings, authorization, body, now, lang
    )
    return Response(answer, media_type="application/json")


def _sync_batch(
    unit_of_work: UnitOfWork,
    settings: Settings,
    authorization: str,
    body: bytes,
    now: datetime,
    lang: Lang = "vi",
) -> bytes:
    """The whole batch in one worker-thread call: the caller, the events, the answer, and the
    commit before anything is answered.

    The phones' hottest path skips the per-request dependencies (session, caller) that the
    other endpoints use: FastAPI runs each plain-function dependency in its own thread-pool
    hop, and at a batch of 50 those hops cost a measurable share of the request.
    """
    with unit_of_work() as session:
        caller = require_field_role(resolve_caller(session, settings, authorization, now=now))
        entries = [_parse_event(i, raw, now) for i, raw in enumerate(_batch_events(body))]
        results = sync(session, settings, caller.actor, entries, now=now, device_signed=True)
        missing = missing_media(session, _media_refs(results, entries))
        return batch_answer(results, missing, now, lang)


def batch_answer(
    results: list[ScanResult], missing: list[str], now: datetime, lang: Lang = "vi"
) -> bytes:
    """``ScanBatchOut`` as JSON, written straight from the ledger's answers.

    They are the server's own values, already in the documented shape; building and
    validating a model per result cost about as much as the batch's own event parsing.
    A test holds this to ``ScanBatchOut``.
    """
    answer = {
        "results": [result_json(r, lang) for r in results],
        "accepted": sum(r.outcome == "accepted" for r in results),
        "exceptions": sum(r.outcome == "exception" for r in results),
        "rejected": sum(r.outcome == "rejected" for r in results),
        "missing_media": missing,
        "server_time": now,
    }
    return orjson.dumps(answer, option=orjson.OPT_UTC_Z)


# -- door-step journeys: typed single events on the same path as the sync ------------------

_STATUS_FOR_REASON = {
    "unknown_item": 404,
    "not_authorised": 403,
    "attempts_exhausted": 403,
    "conflict": 409,
    "bag_sealed": 409,
}
_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not this courier's item, or no attempts left"},
    404: {"description": "Unknown item"},
    409: {"description": "Contradicts the item's state: kept as an exception for a dispatcher"},
    422: {"description": "A field is missing or wrong; `field` names it"},
}


def _answer(
    caller: Caller,
    session: Session,
    settings: Settings,
    now: datetime,
    command: ScanCommand,
    lang: Lang = "vi",
) -> ScanResultOut | JSONResponse:
    """Record one event. Refusals are answered, not raised: the transaction still commits,
    so a one-time code guess counts and an exception stays on record for the dispatcher."""
    (result,) = sync(session, settings, caller.actor, [command], now=now, device_signed=True)
    out = result_out(result, lang)
    if result.outcome == "accepted":
        return out
    status = (
        409
        if result.outcome == "exception"
        else _STATUS_FOR_REASON.get(result.reason_code or "", 422)
    )
    return JSONResponse(
        status_code=status,
        content={
            "error": result.reason_code,
            "detail": result.detail,
            "field": result.field,
            "message": out.message,
            "result": out.model_dump(mode="json"),
        },
    )


def _gps(body: Any) -> dict[str, Any]:
    return {"lat": body.lat, "lon": body.lon, "gps_accuracy_m": body.gps_accuracy_m}


def _door_command(
    kind: str, body: Any, *, details: dict[str, Any], evidence: dict[str, Any]
) -> ScanCommand:
    """A door-step form as the scan event the sync path records (and the phone signs:
    the statement of this event as /scans would carry it)."""
    return ScanCommand(
        kind=kind,
        code=body.code,
        occurred_at=body.occurred_at,
        client_event_id=body.client_event_id,
        details=details,
        evidence=evidence,
        device_signature=_device_signature(body),
        **_gps(body),
    )


@router.post("/pickups", response_model=ScanResultOut, responses=_ERROR_RESPONSES)
def pickup(
    body: PickupIn,
    caller: CurrentCourier,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    lang: CallerLang,
) -> ScanResultOut | JSONResponse:
    """Take a dossier at the door: every document of the procedure present in the required
    form, sealed, fees collected, dossier slip signed by both (TT 17/2017 art. 5)."""
    details: dict[str, Any] = {
        "checklist": [entry.model_dump() for entry in body.checklist],
        "seal_number": body.seal_number,
        "fees_collected_vnd": body.fees_collected_vnd,
    }
    if body.payment_method:
        details["payment_method"] = body.payment_method
    if body.cash_difference_reason:
        details["cash_difference_reason"] = body.cash_difference_reason
    if body.note:
        details["note"] = body.note
    evidence = {
        "citizen_signature_sha256": body.citizen_signature_sha256,
        "courier_signature_sha256": body.courier_signature_sha256,
    }
    command = _door_command("picked_up", body, details=details, evidence=evidence)
    return _answer(caller, session, settings, now, command, lang)


@router.post("/pickups/refusals", response_model=ScanResultOut, responses=_ERROR_RESPONSES)
def pickup_refused(
    body: PickupRefusalIn,
    caller: CurrentCourier,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    lang: CallerLang,
) -> ScanResultOut | JSONResponse:
    """The dossier stays with the citizen: why, and what they must add before the next visit."""
    details: dict[str, Any] = {"reason_code": body.reason_code}
    if body.missing_documents is not None:
        details["missing_documents"] = body.missing_documents
    if body.checklist is not None:
        details["checklist"] = [entry.model_dump() for entry in body.checklist]
    if body.note:
        details["note"] = body.note
    evidence = {"photo_sha256": body.photo_sha256} if body.photo_sha256 else {}
    command = _door_command("pickup_refused", body, details=details, evidence=evidence)
    return _answer(caller, session, settings, now, command, lang)


@router.post("/deliveries", response_model=ScanResultOut, responses=_ERROR_RESPONSES)
def deliver(
    body: DeliveryIn,
    caller: CurrentCourier,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    lang: CallerLang,
) -> ScanResultOut | JSONResponse:
    """Hand a result over on proof the server checks: the citizen's one-time code, their chip
    ID card QR, or an authorisation (with its photo); plus signature and photo."""
    evidence: dict[str, Any] = {
        "proof": body.proof,
        "signature_sha256": body.signature_sha256,
        "photo_sha256": body.photo_sha256,
    }
    for name in ("otp_code", "cccd_qr", "recipient_name", "authorisation_photo_sha256"):
        if getattr(body, name) is not None:
            evidence[name] = getattr(body, name)
    details = {"note": body.note} if body.note else {}
    command = _door_command("delivered", body, details=details, evidence=evidence)
    return _answer(caller, session, settings, now, command, lang)


@router.post("/deliveries/attempts", response_model=ScanResultOut, responses=_ERROR_RESPONSES)
def attempt_failed(
    body: AttemptFailedIn,
    caller: CurrentCourier,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    lang: CallerLang,
) -> ScanResultOut | JSONResponse:
    """A failed delivery attempt with its reason. After the configured number of attempts the
    item is due back at the office (see GET /mobile/v1/returns)."""
    details: dict[str, Any] = {"reason_code": body.reason_code}
    if body.note:
        details["note"] = body.note
    evidence = {"photo_sha256": body.photo_sha256} if body.photo_sha256 else {}
    command = _door_command("attempt_failed", body, details=details, evidence=evidence)
    return _answer(caller, session, settings, now, command, lang)


@router.get("/reasons", response_model=ReasonsOut)
def reasons() -> ReasonsOut:
    """Reason codes for a refused pickup, a failed delivery attempt and a cash amount other
    than what was due, labelled vi/en."""

    def listed(table: dict[str, tuple[str, str]]) -> list[Reason]:
        return [Reason(code=c, label_vi=vi, label_en=en) for c, (vi, en) in table.items()]

    return ReasonsOut(
        pickup_refused=listed(doorstep.PICKUP_REFUSAL_REASONS),
        attempt_failed=listed(doorstep.ATTEMPT_FAILURE_REASONS),
        cash_difference=listed(doorstep.CASH_REASONS),
    )


__all__ = ["router"]
