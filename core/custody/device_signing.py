"""Device-signed scans: the statement a phone signs, its keys, and checking both.

At sign-in the courier app makes a key pair with WebCrypto (ECDSA P-256, or Ed25519 where
the browser has it; the private key cannot be exported and stays in the phone's IndexedDB)
and registers the public key with its device. Every event it queues is signed then, online
or not. The server checks the signature before the event reaches the ledger and keeps it
beside the events (``event_device_signatures``); ``hoso ledger verify`` checks it again, from
the stored event, so an event written into the database by someone without the phone has
no valid signature and is reported.

The signed statement (docs/ledger.md, "Device-signed scans") is rebuilt from the event's own
columns, except its last line: the SHA-256 of what the phone sent that the ledger does not
store verbatim (evidence and details, which the server checks and rewrites: a one-time code
is never stored; and the receiver asked for), kept with the signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.custody.commands import ScanCommand, ScanResult
from core.custody.hashing import utc_text
from core.custody.rows import offset_of
from core.custody.signature_models import DeviceKey
from core.custody.transitions import TRANSITIONS
from core.errors import Forbidden, InvalidInput

STATEMENT_VERSION = "hoso-scan/v1"
ALGORITHMS = ("ES256", "Ed25519")
SIGNATURE_BYTES = 64  # ES256 as WebCrypto writes it (IEEE P1363 r ∥ s), and Ed25519

# Kinds a device records in person with a scan; the same kinds recorded with a device's
# sign-in but built by the server (a bag's packing through /bags, hand-over confirmations,
# damage notes) are not device statements. An event of these kinds from a device that had a
# key when it was recorded must carry that device's signature.
SERVER_BUILT_KINDS = frozenset(
    {"bagged", "unbagged", "handover_offered", "handover_confirmed", "handover_declined",
     "damage_noted"}
)  # fmt: skip
DEVICE_STATEMENT_KINDS = (
    frozenset(kind for kind, rule in TRANSITIONS.items() if not rule.service_only)
    - SERVER_BUILT_KINDS
)


def key_id_of(public_key_der: bytes) -> str:
    return hashlib.sha256(public_key_der).hexdigest()[:16]


def parse_public_key(algorithm: str, public_key_b64: str) -> bytes:
    """The SPKI DER of a phone's public key (WebCrypto ``exportKey("spki")``), checked."""
    if algorithm not in ALGORITHMS:
        raise InvalidInput(
            f"key_algorithm must be one of {', '.join(ALGORITHMS)}", field="device.key_algorithm"
        )
    try:
        der = base64.b64decode(public_key_b64, validate=True)
        key = serialization.load_der_public_key(der)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(
            "public_key must be the key's SubjectPublicKeyInfo (DER) in base64",
            field="device.public_key",
        ) from exc
    fits = (
        isinstance(key, ed25519.Ed25519PublicKey)
        if algorithm == "Ed25519"
        else isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    )
    if not fits:
        raise InvalidInput(f"public_key is not an {algorithm} key", field="device.public_key")
    return der


def js_number(value: float | None) -> str:
    """A number as JavaScript's ``String(n)`` writes it (ECMA-262 Number::toString): the
    shortest digits that round-trip, positional between 1e-6 and 1e21, no ``.0``."""
    if value is None:
        return ""
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    shortest = repr(float(value))
    if 1e-6 <= abs(value) < 1e21:
        return format(Decimal(shortest), "f")
    mantissa, _, exponent = shortest.partition("e")
    return f"{mantissa}e{int(exponent):+d}"


def sent_sha256(
    evidence: Mapping[str, Any], details: Mapping[str, Any], to_party: str | None
) -> str:
    """SHA-256 of ``{"details", "evidence", "to_party"}`` as JSON with every object's keys
    sorted and no whitespace (what JavaScript's ``JSON.stringify`` writes of the same values
    with sorted keys)."""
    body = {"details": dict(details), "evidence": dict(evidence), "to_party": to_party}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def statement(
    *,
    key_id: str,
    client_event_id: uuid.UUID | None,
    kind: str,
    code: str | None,
    occurred_at: datetime,
    occurred_offset: str,
    lat: float | None,
    lon: float | None,
    gps_accuracy_m: float | None,
    place: str | None,
    sent: str,
) -> bytes:
    """The bytes a device signs: one field a line, each line ending in a newline."""
    lines = (
        STATEMENT_VERSION,
        key_id,
        str(client_event_id or ""),
        kind,
        code or "",
        utc_text(occurred_at),
        occurred_offset,
        js_number(lat),
        js_number(lon),
        js_number(gps_accuracy_m),
        place or "",
        sent,
    )
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def command_statement(command: ScanCommand, key_id: str) -> tuple[bytes, str]:
    """The statement of a scan as the phone sent it, and its ``sent`` digest."""
    sent = sent_sha256(command.evidence, command.details, command.to_party)
    return statement(
        key_id=key_id,
        client_event_id=command.client_event_id,
        kind=command.kind,
        code=command.code,
        occurred_at=command.occurred_at,
        occurred_offset=offset_of(command.occurred_at),
        lat=command.lat,
        lon=command.lon,
        gps_accuracy_m=command.gps_accuracy_m,
        place=command.place,
        sent=sent,
    ), sent


def signature_valid(algorithm: str, public_key_der: bytes, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` (ES256: P1363 r ∥ s, as WebCrypto writes it; Ed25519) signs
    ``data`` under the key."""
    if len(signature) != SIGNATURE_BYTES:
        return False
    key = serialization.load_der_public_key(public_key_der)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey) and algorithm == "Ed25519":
            key.verify(signature, data)
            return True
        if isinstance(key, ec.EllipticCurvePublicKey) and algorithm == "ES256":
            r = int.from_bytes(signature[:32], "big")
            s = int.from_bytes(signature[32:], "big")
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
            return True
    except InvalidSignature:
        return False
    return False


# -- keys ----------------------------------------------------------------------------------


def register_key(
    session: Session, device_id: int, algorithm: str, public_key_b64: str, *, now: datetime
) -> DeviceKey:
    """Register a phone's public key with its device (again at a later sign-in: the same
    key is kept, so events queued offline under it still verify)."""
    der = parse_public_key(algorithm, public_key_b64)
    key_id = key_id_of(der)
    existing = session.scalar(select(DeviceKey).where(DeviceKey.key_id == key_id))
    if existing is not None:
        if existing.device_id != device_id or existing.revoked_at is not None:
            raise Forbidden(
                "this key belongs to another device or was revoked; make a new key",
                field="device.public_key",
                reason="device.key_taken",
            )
        return existing
    key = DeviceKey(
        device_id=device_id, key_id=key_id, algorithm=algorithm, public_key=der, registered_at=now
    )
    session.add(key)
    session.flush()
    return key


def revoke_keys(session: Session, device_id: int, *, now: datetime) -> None:
    """A revoked device's keys sign nothing more (its tokens die with it too)."""
    session.execute(
        update(DeviceKey)
        .where(DeviceKey.device_id == device_id, DeviceKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def active_keys(session: Session, device_id: int) -> dict[str, DeviceKey]:
    keys = session.scalars(
        select(DeviceKey).where(DeviceKey.device_id == device_id, DeviceKey.revoked_at.is_(None))
    )
    return {key.key_id: key for key in keys}


# -- at the door of the ledger -------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """A scan whose device signature verified: what to store with its events."""

    key_id: str
    signature: bytes
    sent: str


def check_scan(
    command: ScanCommand, keys: Mapping[str, DeviceKey], *, required: bool
) -> Checked | ScanResult | None:
    """The verified signature of a device's scan, a refusal, or None when the device has no
    key and none is required (a phone from before device keys)."""
    signed = command.device_signature
    if signed is None:
        if not keys and not required:
            return None
        return ScanResult.refusal(
            command,
            "device_signature_missing",
            InvalidInput(
                "the event carries no device signature: the app signs every scan with its key",
                field="signature",
                reason="scan.device_signature_missing",
            ),
        )
    key = keys.get(signed.key_id)
    if key is None:
        return ScanResult.refusal(
            command,
            "device_key_unknown",
            InvalidInput(
                f"key {signed.key_id} is not a key of this device, or it was revoked",
                field="key_id",
                reason="scan.device_key_unknown",
            ),
        )
    data, sent = command_statement(command, key.key_id)
    if not signature_valid(key.algorithm, key.public_key, signed.signature, data):
        return ScanResult.refusal(
            command,
            "device_signature_invalid",
            InvalidInput(
                "the device signature does not match the event (docs/ledger.md)",
                field="signature",
                reason="scan.device_signature_invalid",
            ),
        )
    return Checked(key_id=key.key_id, signature=signed.signature, sent=sent)


def store_signatures(session: Session, checked: Sequence[tuple[Checked, ScanResult]]) -> None:
    """Keep the signature with every event an accepted, first-time scan recorded (a scan of
    a bag records one event per item, each under the same signed statement)."""
    rows = [
        {
            "event_id": event["event_id"],
            "key_id": item.key_id,
            "signature": base64.b64encode(item.signature).decode(),
            "sent_sha256": item.sent,
        }
        for item, result in checked
        if result.outcome == "accepted" and not result.replayed
        for event in result.events
    ]
    if not rows:
        return
    session.flush()
    raw = session.connection().connection.driver_connection
    assert raw is not None
    raw.execute(
        """
        INSERT INTO event_device_signatures (event_id, key_id, signature, sent_sha256)
        SELECT event_id, key_id, decode(signature, 'base64'), sent_sha256
        FROM json_to_recordset(%s::json)
            AS r(event_id uuid, key_id text, signature text, sent_sha256 text)
        """,
        (orjson.dumps(rows).decode(),),
    )
