"""A phone's signing key as the courier app's WebCrypto makes and uses it, in Python.

The statement is built here from the event's JSON the way the app's JavaScript builds it
(api/static/courier/signing.js), not with the server's code, so a test that the server
accepts it checks that both sides write the same bytes. ECDSA signatures are converted to
what WebCrypto returns: IEEE P1363 ``r ∥ s``, 64 bytes, not DER.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.custody.hashing import HASHED_FIELDS, chain_hash
from core.custody.models import CustodyEvent, Item


def _number(value: Any) -> str:
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))  # the test's coordinates: positional, as JavaScript writes them


def statement_of(event: dict[str, Any], key_id: str) -> bytes:
    moment = datetime.fromisoformat(event["occurred_at"])
    offset = event["occurred_at"][-6:]
    utc = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    sent = {
        "details": event.get("details", {}),
        "evidence": event.get("evidence", {}),
        "to_party": event.get("to_party"),
    }
    digest = hashlib.sha256(
        json.dumps(sent, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    lines = [
        "hoso-scan/v1",
        key_id,
        event["client_event_id"],
        event["kind"],
        event["code"].strip(),
        utc,
        offset,
        _number(event.get("lat")),
        _number(event.get("lon")),
        _number(event.get("gps_accuracy_m")),
        event.get("place") or "",
        digest,
    ]
    return "".join(f"{line}\n" for line in lines).encode()


class PhoneKey:
    def __init__(self, algorithm: str = "ES256") -> None:
        self.algorithm = algorithm
        self.private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey = (
            ec.generate_private_key(ec.SECP256R1())
            if algorithm == "ES256"
            else ed25519.Ed25519PrivateKey.generate()
        )
        self.key_id = ""

    @property
    def public_key_b64(self) -> str:
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def device_fields(self) -> dict[str, str]:
        return {"public_key": self.public_key_b64, "key_algorithm": self.algorithm}

    def raw_signature(self, data: bytes) -> bytes:
        if isinstance(self.private, ed25519.Ed25519PrivateKey):
            return self.private.sign(data)
        r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def sign(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event with its key id and signature, as the app sends it."""
        signature = self.raw_signature(statement_of(event, self.key_id))
        return {**event, "key_id": self.key_id, "signature": base64.b64encode(signature).decode()}


def append_forged_event(db: Session, code: str, kind: str, device_id: int | None) -> int:
    """Append a well-formed event to an item's chain by SQL, naming the phone (or none: a
    desk or system event); its seq."""
    item_id = db.scalar(select(Item.id).where(Item.code == code))
    last = db.scalars(
        select(CustodyEvent)
        .where(CustodyEvent.item_id == item_id)
        .order_by(CustodyEvent.seq.desc())
    ).first()
    assert last is not None
    fields = {name: getattr(last, name, None) for name in HASHED_FIELDS}
    seq = last.seq + 1
    fields |= {"item_code": code, "bag_code": None, "event_id": uuid.uuid4(), "seq": seq,
               "kind": kind, "device_id": device_id, "recorded_at": datetime.now(UTC),
               "client_event_id": uuid.uuid4()}  # fmt: skip
    forged_hash = chain_hash(last.hash, fields)
    db.execute(
        text(
            "INSERT INTO custody_events (event_id, client_event_id, item_id, seq, kind, biz_step, "
            "disposition, upu_code, from_party, to_party, actor_user_id, actor_role, actor_party, "
            "device_id, occurred_at, occurred_offset, recorded_at, place, lat, lon, "
            "gps_accuracy_m, bag_id, evidence, details, raw_code, corrects_event_id, prev_hash, "
            "hash) SELECT :event_id, :client_event_id, item_id, :seq, :kind, biz_step, "
            "disposition, upu_code, from_party, to_party, actor_user_id, actor_role, "
            "actor_party, :device_id, occurred_at, occurred_offset, :recorded_at, place, lat, "
            "lon, gps_accuracy_m, bag_id, evidence, details, raw_code, corrects_event_id, "
            ":prev, :hash FROM custody_events WHERE id = :last"
        ),
        {
            "event_id": fields["event_id"],
            "client_event_id": fields["client_event_id"],
            "seq": fields["seq"],
            "kind": kind,
            "device_id": device_id,
            "recorded_at": fields["recorded_at"],
            "prev": last.hash,
            "hash": forged_hash,
            "last": last.id,
        },  # fmt: skip
    )
    return seq
