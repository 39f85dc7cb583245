"""Sealing a signed paper: its canonical content hash goes into the custody ledger.

A paper (a hand-over record, a recorded dossier code) lives in ordinary rows that a trigger
protects once signed. The ledger is the second lock: a ``record_sealed`` event on each item
the paper is about carries the SHA-256 of the paper's canonical content, chained like every
other event. ``core.papers.verify`` recomputes each sealed paper's hash from its rows, so a
paper changed with the trigger bypassed (an owner disabling it) is named by ``hoso ledger
verify``.

Canonical form: a JSON object with sorted keys, no whitespace, UTF-8; times in UTC with
microseconds; dates ISO. Each paper's owner builds its content with ``moment``/``day``, the
same function when sealing and when verifying.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from core.custody.commands import ScanCommand
from core.custody.parties import Actor
from core.custody.service import record
from core.errors import Conflict

SEALED_KIND = "record_sealed"
RECORD_HANDOVER = "handover"
RECORD_DOSSIER_CODE = "dossier_code"
_NAMESPACE = uuid.UUID("0b7c9a55-3f0e-4d8e-a1c2-6e5d4f3b2a19")


def moment(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def content_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def seal(
    session: Session,
    actor: Actor,
    *,
    record_kind: str,
    ref: str,
    content_sha256: str,
    item_codes: Iterable[str],
    now: datetime,
    shown: Mapping[str, str | None] | None = None,
) -> None:
    """Record ``record_sealed`` with the paper's hash on each of its items, or raise.
    ``shown``: what the paper says in a few words (a dossier code and its date), carried in
    the event beside the hash so the ledger itself reads as evidence.

    The caller has checked that ``actor`` signed the paper. Event IDs come from the paper and
    the item, so sealing the same paper twice is answered by the ledger's replay rule.
    """
    commands = [
        ScanCommand(
            kind=SEALED_KIND,
            code=code,
            occurred_at=now,
            client_event_id=uuid.uuid5(_NAMESPACE, f"{record_kind}:{ref}:{code}:{content_sha256}"),
            details={
                "record": record_kind,
                "ref": ref,
                "content_sha256": content_sha256,
                **(shown or {}),
            },  # fmt: skip
        )
        for code in dict.fromkeys(item_codes)
    ]
    if not commands:
        return
    for result in record(session, actor, commands, service_kinds=frozenset({SEALED_KIND})):
        if result.outcome != "accepted":
            raise Conflict(
                f"{record_kind} {ref} could not be sealed on {result.code}: {result.detail}",
                field="record",
            )
