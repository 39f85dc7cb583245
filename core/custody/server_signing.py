"""Server-signed events: every ledger event is signed by the server's key when recorded.

A phone signs the scans it makes (``device_signing``); everything else reaches the ledger
through the server alone (desk and counter pages, dispatchers, agencies, the service's own
events). So that an event written into the database by someone who has the database but not
the server's key is caught, the one place that builds event rows (``rows.event_row``) signs
each one with Ed25519 over its canonical form, the bytes its chain hash covers
(``hashing.canonical_form``), prefixed with a version line:

    hoso-server-event/v1\\n<canonical form>

and the signature is written beside the event in the same statement
(``event_server_signatures``, append-only). Device-signed events are signed too: the server
attests every event it recorded, the phone what it scanned.

The key is configuration (``HOSO_EVENT_SIGNING_KEY`` or ``_FILE``, the signed-note key format
of ``hoso ledger keygen``), never the database; each signature names the key's id, and the
public key is kept in ``server_signing_keys`` when first used. ``hoso ledger verify`` trusts
only the configured keys (the current one and ``HOSO_EVENT_TRUSTED_KEYS``).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from core.custody.note import Checkpoint, Signer, Verifier
from core.settings import Settings, get_settings

STATEMENT_PREFIX = b"hoso-server-event/v1\n"
# What derives the development key from the server secret: a key unrelated to the
# checkpoint key derived from the same secret.
_DERIVATION = b"hoso server event signing key v1"


def signed_bytes(canonical: bytes) -> bytes:
    """What the server signs for an event whose canonical form is ``canonical``."""
    return STATEMENT_PREFIX + canonical


@dataclass(frozen=True)
class EventSigner:
    key_id: str  # the signed-note key id, 8 hex digits
    vkey: str  # the public key, "<name>+<id>+<base64>"
    private: Ed25519PrivateKey = field(repr=False)

    def sign(self, canonical: bytes) -> str:
        """The signature of an event's canonical form, base64 (it travels in JSON)."""
        return base64.b64encode(self.private.sign(STATEMENT_PREFIX + canonical)).decode()


def key_name(settings: Settings) -> str:
    return f"{settings.ledger_origin}/events"


@functools.lru_cache(maxsize=8)
def _load(
    derived: bool, key: str | None, key_file: Path | None, secret: str, name: str
) -> EventSigner:
    if derived:
        signer = Signer.derived(name, secret, _DERIVATION)
    elif key:
        signer = Signer.parse(key)
    else:
        assert key_file is not None
        signer = Signer.parse(key_file.read_text(encoding="utf-8"))
    verifier = signer.verifier
    return EventSigner(
        key_id=f"{verifier.key_id:08x}",
        vkey=verifier.vkey(),
        private=Ed25519PrivateKey.from_private_bytes(signer.seed),
    )


def event_signer(settings: Settings | None = None) -> EventSigner:
    """The key events are signed with now: from the environment or its file, else derived
    from the server secret (a fresh install signs from its first event)."""
    s = settings or get_settings()
    return _load(s.event_key_is_derived, s.event_signing_key, s.event_signing_key_file,
                 s.secret_key, key_name(s))  # fmt: skip


def trusted_event_keys(settings: Settings | None = None) -> dict[str, Ed25519PublicKey]:
    """Key id → public key of every key whose signatures verify accepts: the current key
    and the old ones after a rotation (``HOSO_EVENT_TRUSTED_KEYS``)."""
    s = settings or get_settings()
    current = Verifier.parse(event_signer(s).vkey)
    verifiers = [current] + [
        Verifier.parse(vkey) for vkey in s.event_trusted_keys.split(",") if vkey.strip()
    ]
    return {f"{v.key_id:08x}": Ed25519PublicKey.from_public_bytes(v.public_key) for v in verifiers}


def signature_valid(public_key: Ed25519PublicKey, signature: bytes, canonical: bytes) -> bool:
    try:
        public_key.verify(signature, STATEMENT_PREFIX + canonical)
    except InvalidSignature:
        return False
    return True


# -- events from before server signatures ----------------------------------------------------


@dataclass(frozen=True)
class Epoch:
    """The first event recorded under server signatures, and when signing began."""

    first_event_id: int
    started_at: datetime


def signing_epoch(session: Session) -> Epoch:
    raw = session.connection().connection.driver_connection
    assert raw is not None
    # The first row: the migration writes it once (the table is append-only).
    row = raw.execute(
        "SELECT first_event_id, started_at FROM server_signing_epoch ORDER BY id LIMIT 1"
    ).fetchone()
    if row is None:
        raise RuntimeError("server_signing_epoch is empty: the migration 0009s writes it")
    return Epoch(first_event_id=row[0], started_at=row[1])


@dataclass(frozen=True)
class LegacyEvent:
    """An unsigned event recorded before server signatures began."""

    item_code: str
    seq: int
    row_id: int


def legacy_problems(
    session: Session,
    legacy: Iterable[LegacyEvent],
    heads: Iterable[Checkpoint],
    epoch: Epoch,
) -> list[tuple[str, int, str]]:
    """(item, sequence, what is wrong) for each legacy event that is not under a trusted
    head signed before server signatures began. Such a head proves the event existed
    unsigned before anyone could sign it (the audit checks the leaf itself); any other
    unsigned event cannot be told from one written into the database later."""
    events = list(legacy)
    if not events:
        return []
    before = [h.size for h in heads if h.signed_at is not None and h.signed_at <= epoch.started_at]
    covered = max(before, default=0)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    leaves: Mapping[int, int] = dict(
        raw.execute(
            "SELECT event_row_id, leaf_index FROM ledger_leaves WHERE event_row_id = ANY(%s)",
            ([event.row_id for event in events],),
        ).fetchall()
    )
    problems = []
    for event in events:
        leaf = leaves.get(event.row_id)
        if leaf is None or leaf >= covered:
            problems.append(
                (
                    event.item_code,
                    event.seq,
                    "unsigned event from before server signatures, under no signed head "
                    "made before they began: it cannot be told from a forged one",
                )
            )
    return problems
