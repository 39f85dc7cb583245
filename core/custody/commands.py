"""What a scan is and what answer it gets: the service's input and output."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from core.errors import DomainError

Outcome = Literal["accepted", "rejected", "exception"]


@dataclass(frozen=True)
class DeviceSignature:
    """What a phone sent with an event: the id of the key it signed with, the signature
    (checked by ``core.custody.device_signing``)."""

    key_id: str
    signature: bytes


@dataclass(frozen=True)
class ScanCommand:
    """One thing a person did to an item (or a bag), as recorded on their device."""

    kind: str
    code: str
    occurred_at: datetime
    client_event_id: uuid.UUID | None = None
    to_party: str | None = None
    place: str | None = None
    lat: float | None = None
    lon: float | None = None
    gps_accuracy_m: float | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    corrects_event_id: uuid.UUID | None = None
    # The phone's signature of the event as it sent it (``core.custody.device_signing``);
    # checked before the ledger sees the scan, never part of the event itself.
    device_signature: DeviceSignature | None = None

    @property
    def client_key(self) -> str | None:
        """The client event ID as results carry it (JSON has no UUID type)."""
        return str(self.client_event_id) if self.client_event_id else None


@dataclass
class ScanResult:
    outcome: Outcome
    code: str
    client_event_id: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    reason_code: str | None = None
    detail: str | None = None
    field: str | None = None
    replayed: bool = False
    # The key of the text a courier reads (edge/texts) and its params: ``reason_code`` is what
    # the phone acts on, ``reason`` what it says. Absent on receipts stored before they were.
    reason: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "code": self.code,
            "client_event_id": self.client_event_id,
            "events": self.events,
            "reason_code": self.reason_code,
            "detail": self.detail,
            "field": self.field,
            "reason": self.reason,
            "params": self.params,
        }

    @classmethod
    def refusal(cls, command: ScanCommand, reason_code: str, error: DomainError) -> ScanResult:
        """Not recorded: the reason code, and the error's detail and field."""
        return cls(
            outcome="rejected",
            code=command.code,
            client_event_id=command.client_key,
            reason_code=reason_code,
            detail=error.detail,
            field=error.field,
            reason=error.reason,
            params=error.params,
        )

    @classmethod
    def from_receipt(cls, data: Mapping[str, Any]) -> ScanResult:
        return cls(
            outcome=data["outcome"],
            code=data["code"],
            client_event_id=data["client_event_id"],
            events=list(data["events"]),
            reason_code=data["reason_code"],
            detail=data["detail"],
            field=data["field"],
            replayed=True,
            reason=data.get("reason"),
            params=dict(data.get("params") or {}),
        )
