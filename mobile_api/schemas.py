"""The courier API's contract: what phones send and what they get back.

Separate from the ORM models and from the desk and citizen schemas, since each contract
changes on its own. Field descriptions land in the OpenAPI document phone developers read.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    field_validator,
)

from core.courier.sync import MAX_CLOCK_LEAD
from core.custody.parties import RECEIVER_PATTERN, parse_receiver
from core.custody.transitions import TRANSITIONS
from core.errors import InvalidInput
from core.inputs import EARLIEST, Count, Moment, Text, first_bad_value
from core.media.service import SHA256_PATTERN, is_sha256

MAX_BATCH = 500
SHA256 = SHA256_PATTERN
PARTY = RECEIVER_PATTERN
_MAX_JSON = 8 * 1024
_KINDS: list[JsonValue] = [*sorted(k for k, rule in TRANSITIONS.items() if not rule.service_only)]


def _receiver(value: str) -> str:
    try:
        parse_receiver(value, field="to_party")
    except InvalidInput as exc:
        raise ValueError(exc.detail) from exc
    return value


# The pattern is documented; ``_receiver`` checks it with a plainer message and the ID's bound.
Receiver = Annotated[
    str, AfterValidator(_receiver), Field(max_length=40, json_schema_extra={"pattern": PARTY})
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DeviceIn(_In):
    install_id: str = Field(
        min_length=8, max_length=128, description="Stable ID the app generates once per install"
    )
    name: str = Field(min_length=1, max_length=80, description="e.g. 'Samsung A15 của Lan'")
    platform: Literal["android", "ios", "web"]
    public_key: str | None = Field(
        default=None,
        max_length=400,
        description="The phone's signing key, SubjectPublicKeyInfo (DER) in base64 "
        "(WebCrypto exportKey('spki')); the app then signs every scan (docs/ledger.md)",
    )
    key_algorithm: Literal["ES256", "Ed25519"] | None = Field(
        default=None, description="ES256 (ECDSA P-256, SHA-256) or Ed25519"
    )


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    device: DeviceIn


class PasswordChangeIn(_In):
    """After an admin's reset: the temporary password and the new one."""

    username: str = Field(min_length=1, max_length=64)
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    post_office_id: int | None


class LoginOut(BaseModel):
    token: str = Field(description="Send as 'Authorization: Bearer <token>'")
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    device_id: int
    user: UserOut
    key_id: str | None = Field(
        default=None, description="The registered key's id: sent with every signed event"
    )


class DeviceOut(BaseModel):
    id: int
    user_id: int
    username: str
    name: str
    platform: str | None
    registered_at: datetime
    revoked_at: datetime | None


class Gps(_In):
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    gps_accuracy_m: float | None = Field(default=None, ge=0, le=100_000)


def _check_refs(value: dict[str, Any], where: str) -> dict[str, Any]:
    bad = first_bad_value(value, where)
    if bad is not None:
        raise ValueError(f"{bad[0]} {bad[1]}")
    if len(orjson.dumps(value)) > _MAX_JSON:
        raise ValueError(f"{where} is larger than {_MAX_JSON // 1024} KB")
    for key, ref in value.items():
        if key.endswith("_sha256") and not is_sha256(ref):
            raise ValueError(f"{key} must be a SHA-256: 64 lowercase hex digits")
    return value


class SignedEvent(_In):
    """The device's signature of the event (docs/ledger.md, "Device-signed scans")."""

    key_id: str | None = Field(
        default=None, pattern="^[0-9a-f]{16}$", description="The id sign-in gave the key"
    )
    signature: str | None = Field(
        default=None,
        pattern="^[A-Za-z0-9+/]{86}==$",
        description="The 64-byte signature in base64: ES256 as r ∥ s (IEEE P1363), or Ed25519",
    )


class ScanEventIn(Gps, SignedEvent):
    """One event as the phone recorded it. Flat on purpose: the batch is validated event by
    event, and a bad event is answered on its own without failing the others."""

    client_event_id: uuid.UUID = Field(
        description="UUID the phone makes when the event happens; the idempotency key"
    )
    kind: str = Field(description="Event kind", json_schema_extra={"enum": _KINDS})
    code: Text = Field(
        min_length=1, max_length=32, description="Item (S10) or bag code as scanned or typed"
    )
    occurred_at: Moment = Field(
        description="Device time with its UTC offset (at most ±14:00), e.g. "
        "2026-11-22T09:15:03+07:00; from 2020 to one day past the server's clock"
    )
    to_party: Receiver | None = Field(
        default=None,
        description="Receiver of a hand-off: office:ID, post_office:ID or courier:ID of the "
        "item's province",
    )
    place: Text | None = Field(default=None, max_length=200)
    evidence: dict[str, Any] = Field(
        default_factory=dict,
        description="Proof and media references: keys ending in _sha256 name uploaded files",
    )
    details: dict[str, Any] = Field(default_factory=dict, description="Kind-specific details")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in TRANSITIONS:
            raise ValueError(f"unknown kind; one of {', '.join(sorted(TRANSITIONS))}")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _not_ahead(cls, value: datetime, info: ValidationInfo) -> datetime:
        # The server's clock comes in the validation context (the request's ``now``).
        now = info.context.get("now") if isinstance(info.context, dict) else None
        if isinstance(now, datetime) and value > now + MAX_CLOCK_LEAD:
            raise ValueError("is more than a day ahead of the server's clock")
        if value < EARLIEST:
            raise ValueError(f"is before {EARLIEST:%Y}")
        return value

    @field_validator("evidence")
    @classmethod
    def _evidence(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_refs(value, "evidence")

    @field_validator("details")
    @classmethod
    def _details(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_refs(value, "details")


def scan_batch_schema() -> dict[str, Any]:
    """The request body as documented; events are validated one by one by the endpoint."""
    return {
        "type": "object",
        "required": ["events"],
        "additionalProperties": False,
        "properties": {
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_BATCH,
                "items": ScanEventIn.model_json_schema(),
            }
        },
    }


class EventOut(BaseModel):
    item: str
    event_id: str
    seq: int
    status: str
    custodian: str
    pending_to: str | None = None


class ScanResultOut(BaseModel):
    outcome: Literal["accepted", "rejected", "exception"] = Field(
        description="accepted: in the ledger. exception: kept for a dispatcher because it "
        "contradicts the known state. rejected: not recorded; see reason_code"
    )
    replayed: bool = Field(
        description="True when this client_event_id was answered before; "
        "the original answer is returned unchanged"
    )
    client_event_id: str | None
    code: str
    events: list[EventOut] = Field(description="One per item (a bag scan fans out)")
    reason_code: str | None = Field(
        default=None,
        description="malformed_code, unknown_item, not_authorised, conflict, invalid_input, "
        "missing_field, incomplete_dossier, proof_failed, attempts_exhausted, bag_sealed, "
        "empty_bag",
    )
    detail: str | None = Field(default=None, description="Why, in English, for logs and tools")
    field: str | None = None
    reason: str | None = Field(
        default=None, description="Stable key of the refusal's text (edge/texts catalogues)"
    )
    message: str | None = Field(
        default=None,
        description="Why, for the courier to read, in the language asked for "
        "(Accept-Language or ?lang=vi|en; Vietnamese by default)",
    )


class ScanBatchOut(BaseModel):
    results: list[ScanResultOut] = Field(description="One per event, in the order sent")
    accepted: int
    exceptions: int
    rejected: int
    missing_media: list[str] = Field(
        description="SHA-256 references in these events whose files have not been uploaded"
    )
    server_time: datetime


class ChecklistEntry(_In):
    name: str = Field(min_length=1, max_length=200, description="As the procedure names it")
    form: Literal["original", "certified_copy", "copy"]
    present: bool = Field(description="Received (a shown-only document: shown)")
    not_applicable: bool = Field(
        default=False,
        description="A conditional document whose condition does not hold (không áp dụng)",
    )
    pages: int | None = Field(
        default=None, ge=1, le=999, description="Pages received; default the catalogue's count"
    )


class _DoorEvent(Gps, SignedEvent):
    client_event_id: uuid.UUID
    code: str = Field(min_length=1, max_length=32)
    occurred_at: Moment
    note: str | None = Field(default=None, max_length=500)


class PickupIn(_DoorEvent):
    """TT 17/2017 art. 5: the dossier checked against the procedure, sealed, fees taken,
    the dossier slip signed by the citizen and the courier."""

    checklist: list[ChecklistEntry] = Field(min_length=1)
    seal_number: str = Field(min_length=1, max_length=40)
    fees_collected_vnd: Count
    payment_method: Literal["cash", "bank_transfer", "card", "e_wallet"] | None = None
    cash_difference_reason: str | None = Field(
        default=None,
        max_length=40,
        description="Required when the cash taken differs from the stop's collect.due_vnd: "
        "a code from GET /mobile/v1/reasons (cash_difference)",
    )
    citizen_signature_sha256: str = Field(pattern=SHA256)
    courier_signature_sha256: str = Field(pattern=SHA256)


class PickupRefusalIn(_DoorEvent):
    reason_code: str = Field(description="See GET /mobile/v1/reasons")
    missing_documents: list[str] | None = None
    checklist: list[ChecklistEntry] | None = None
    photo_sha256: str | None = Field(default=None, pattern=SHA256)


class DeliveryIn(_DoorEvent):
    proof: Literal["otp", "cccd_qr", "authorisation"]
    otp_code: str | None = Field(default=None, description="proof=otp: the code the citizen read")
    cccd_qr: str | None = Field(
        default=None,
        max_length=1000,
        description="proof=cccd_qr: the text of the chip ID card's QR",
    )
    recipient_name: str | None = Field(
        default=None, max_length=120, description="proof=authorisation: who received it"
    )
    authorisation_photo_sha256: str | None = Field(default=None, pattern=SHA256)
    signature_sha256: str = Field(pattern=SHA256)
    photo_sha256: str = Field(pattern=SHA256)


class AttemptFailedIn(_DoorEvent):
    reason_code: str = Field(description="See GET /mobile/v1/reasons")
    photo_sha256: str | None = Field(default=None, pattern=SHA256)


class CodeSentOut(BaseModel):
    challenge_id: int
    expires_at: datetime
    phone_masked: str


class Reason(BaseModel):
    code: str
    label_vi: str
    label_en: str


class ReasonsOut(BaseModel):
    pickup_refused: list[Reason]
    attempt_failed: list[Reason]
    cash_difference: list[Reason]


class MediaOut(BaseModel):
    sha256: str
    content_type: str
    size_bytes: int


class MissingMediaOut(BaseModel):
    missing: list[str]


class StopItem(BaseModel):
    code: str
    kind: str
    status: str


class StopDocumentOut(BaseModel):
    name: str = Field(description="Vietnamese name; the pickup checklist must use it")
    name_en: str
    form: Literal["original", "certified_copy", "copy"]
    kind: Literal["mandatory", "conditional", "shown"] = Field(
        default="mandatory",
        description="mandatory; conditional (see condition: may be not_applicable); shown "
        "(shown for a check at the door, not taken)",
    )
    condition: str | None = None
    quantity: int = 1


class StopCollectOut(BaseModel):
    due_vnd: int = Field(description="Still to collect, from the money ledger")
    paid_vnd: int
    how: Literal["cash", "paid", "transfer_pending"]
    state: str
    state_label_vi: str
    state_label_en: str


class StopOut(BaseModel):
    id: int
    sequence: int | None
    kind: str
    status: str
    window_start: datetime
    window_end: datetime
    eta: datetime | None
    lat: float
    lon: float
    place: str
    case_id: int | None
    office_id: int | None
    contact_name: str | None = None
    contact_phone: str | None = Field(
        default=None, description="Only on the courier's own assigned stops"
    )
    items: list[StopItem]
    documents: list[StopDocumentOut] = Field(
        default_factory=list,
        description="Pickups: the documents the procedure requires, for the door-step checklist",
    )
    collect: StopCollectOut | None = Field(
        default=None, description="Home stops of a booked case: the money still to collect"
    )
    arrived_at: datetime | None = Field(
        default=None, description="When the courier tapped 'arrived' (POST .../arrival)"
    )
    finished_at: datetime | None = Field(
        default=None, description="When the scan that made the stop done or failed happened"
    )


class RunSheetOut(BaseModel):
    date: date
    courier_id: int
    finished: int = Field(description="Stops done or failed (the '3' of '3/18 xong')")
    total: int = Field(description="Stops of the day, cancelled ones left out")
    remaining: int
    stops: list[StopOut]


class ArrivalIn(_In):
    arrived_at: Moment = Field(
        description="Phone time of the 'arrived' tap, with its UTC offset; queued offline "
        "and sent later is fine"
    )


class ArrivalOut(BaseModel):
    stop_id: int
    arrived_at: datetime
    recorded_at: datetime
    new: bool = Field(description="False: this stop's arrival was recorded before; it stands")


class PingIn(_In):
    fixed_at: Moment
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float = Field(ge=0, le=100_000)
    speed_mps: float | None = Field(default=None, ge=0, le=100)
    heading_deg: float | None = Field(default=None, ge=0, lt=360)


class PingBatchIn(_In):
    pings: list[PingIn] = Field(min_length=1, max_length=MAX_BATCH)


class PingBatchOut(BaseModel):
    stored: int
    duplicates: int
