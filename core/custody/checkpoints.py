"""Signed tree heads (checkpoints) of the custody ledger: making, finding and keeping them.

A head is made by ``make_checkpoint``: the sequencer first catches up (``core.custody.tree``),
then, when it is due, the tree's root is signed with the configured Ed25519 key and stored.
It is due when events arrived and the last head is older than
``ledger_checkpoint_interval_seconds``, and once each day after midnight (Vietnam time)
whatever arrived, so every day ends in a head. Heads are also appended to a file outside the
database (``sync_heads_file``) and pushed to agency systems, who keep them as witnesses
(``core.agency.witness``). The key never touches the database: only the public key's name
and id are stored with each head.
"""

from __future__ import annotations

import json
import os
import struct
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.custody.note import Checkpoint, Signer, Verifier
from core.custody.tree import extend_tree, tree_at, tree_size
from core.custody.tree_models import LedgerCheckpoint
from core.errors import InvalidInput
from core.settings import Settings
from vntime import VN

# A record of the leaves file: the leaf hash, then the item code (13 ASCII characters) and
# the event's sequence (4 bytes, big-endian) it was made from, so a leaf that is later
# missing can be named.
LEAF_RECORD = struct.Struct(">32s13sI")


def ledger_signer(settings: Settings) -> Signer:
    """The signing key from the environment or its file; else derived from the secret."""
    if settings.ledger_key_is_derived:
        return Signer.derived(settings.ledger_origin, settings.secret_key)
    if settings.ledger_signing_key:
        return Signer.parse(settings.ledger_signing_key)
    assert settings.ledger_signing_key_file is not None
    return Signer.parse(settings.ledger_signing_key_file.read_text(encoding="utf-8"))


def trusted_verifiers(settings: Settings) -> list[Verifier]:
    """The current key and every older key still trusted (docs/ledger.md, rotation)."""
    verifiers = [ledger_signer(settings).verifier]
    for vkey in settings.ledger_trusted_keys.split(","):
        if vkey.strip():
            verifier = Verifier.parse(vkey)
            if verifier not in verifiers:
                verifiers.append(verifier)
    return verifiers


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    return session.scalars(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.id.desc()).limit(1)
    ).first()


def checkpoint_of_size(session: Session, size: int) -> LedgerCheckpoint | None:
    """The newest head of exactly this size."""
    return session.scalars(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.tree_size == size)
        .order_by(LedgerCheckpoint.id.desc())
        .limit(1)
    ).first()


def _due(last: LedgerCheckpoint | None, size: int, settings: Settings, now: datetime) -> bool:
    if last is None:
        return True
    if last.signed_at.astimezone(VN).date() != now.astimezone(VN).date():
        return True  # the first pass of a new day closes the last one with a head
    interval = timedelta(seconds=settings.ledger_checkpoint_interval_seconds)
    return size != last.tree_size and now - last.signed_at >= interval


def make_checkpoint(
    session: Session, settings: Settings, *, now: datetime, force: bool = False
) -> LedgerCheckpoint | None:
    """Catch the tree up with the ledger and sign a head if one is due (or ``force``)."""
    while extend_tree(session, settings, now=now):
        pass
    size = tree_size(session)
    last = latest_checkpoint(session)
    if not force and not _due(last, size, settings, now):
        return None
    signer = ledger_signer(settings)
    root = tree_at(session, size).root()
    # Whole seconds: the note's time line has no fraction, and the row must say the same.
    signed_at = now.replace(microsecond=0)
    checkpoint = Checkpoint(settings.ledger_origin, size, root, signed_at)
    verifier = signer.verifier
    row = LedgerCheckpoint(
        tree_size=size,
        root_hash=root,
        signed_at=signed_at,
        key_name=verifier.name,
        key_id=f"{verifier.key_id:08x}",
        note=signer.sign(checkpoint.text()),
    )
    session.add(row)
    session.flush()
    return row


def heads_file(settings: Settings) -> Path:
    return settings.ledger_heads_file or settings.data_dir / "ledger-heads.jsonl"


def _last_line(path: Path) -> str | None:
    if not path.exists():
        return None
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        f.seek(max(0, end - 4096))
        lines = f.read().splitlines()
    return lines[-1].decode() if lines else None


def leaves_file(settings: Settings) -> Path:
    """Beside the heads file: every leaf under a head, one ``LEAF_RECORD`` each in leaf
    order."""
    return heads_file(settings).with_suffix(".leaves")


def _sync_leaves_file(session: Session, path: Path, size: int) -> None:
    """Append the leaves up to ``size`` that the file lacks. A head signs their root, so
    verify can tell them authentic and name the event of any leaf that differs, even when
    the stored leaves and nodes were rewritten too (docs/ledger.md)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as f:
        have = f.tell() // LEAF_RECORD.size
        f.truncate(have * LEAF_RECORD.size)  # a write cut short by a crash is written again
        f.seek(have * LEAF_RECORD.size)
        if have >= size:
            return
        raw = session.connection().connection.driver_connection
        assert raw is not None
        leaves = raw.execute(
            "SELECT hash, item_code, seq FROM ledger_leaves "
            "WHERE leaf_index >= %s AND leaf_index < %s ORDER BY leaf_index",
            (have, size),
        )
        f.write(
            b"".join(
                LEAF_RECORD.pack(bytes(leaf), code.encode("ascii"), seq)
                for leaf, code, seq in leaves
            )
        )
        f.flush()
        os.fsync(f.fileno())


def sync_heads_file(session: Session, settings: Settings) -> int:
    """Append every head newer than the file's last line; returns how many were written.
    The leaves file is brought up to the newest head first.

    Run after the head's transaction commits, and again on every pass, so a crash between
    the two leaves the file one pass behind, never missing a head."""
    path = heads_file(settings)
    last = _last_line(path)
    after = int(json.loads(last)["id"]) if last else 0
    newer = select(LedgerCheckpoint).where(LedgerCheckpoint.id > after)
    rows = list(session.scalars(newer.order_by(LedgerCheckpoint.id)))
    if not rows:
        return 0
    _sync_leaves_file(session, leaves_file(settings), max(row.tree_size for row in rows))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps({"id": row.id, "size": row.tree_size, "note": row.note}) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return len(rows)


def read_heads(text: str) -> list[str]:
    """Signed notes from a heads file (JSON lines), an API answer or one bare note."""
    stripped = text.strip()
    if not stripped:
        return []
    if stripped.startswith("{") or stripped.startswith("["):
        notes: list[str] = []
        for line in stripped.splitlines() if stripped.startswith("{") else [stripped]:
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"not JSON: {exc}", field="checkpoint") from None
            for entry in value if isinstance(value, list) else [value]:
                if not isinstance(entry, dict) or not isinstance(entry.get("note"), str):
                    raise InvalidInput("each head must carry its signed note", field="checkpoint")
                notes.append(entry["note"])
        return notes
    return [text if text.endswith("\n") else text + "\n"]


def consistency_proof(session: Session, old_size: int, new_size: int) -> list[bytes]:
    size = tree_size(session)
    if not 0 < old_size <= new_size <= size:
        raise InvalidInput(f"sizes must satisfy 0 < first <= second <= {size}", field="first")
    return tree_at(session, new_size).consistency_proof(old_size)
