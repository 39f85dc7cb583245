"""The ledger's Merkle tree (RFC 9162), its signed heads (C2SP checkpoint, signed note) and
citizens' receipts, checked by the server's code and by the standalone tool."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.agency.witness import CHECKPOINT_TYPE, checkpoint_body
from core.custody.audit import audit_ledger
from core.custody.checkpoints import (
    heads_file,
    ledger_signer,
    make_checkpoint,
    read_heads,
    sync_heads_file,
    trusted_verifiers,
)
from core.custody.merkle import (
    EMPTY_ROOT,
    MemorySource,
    RootBuilder,
    Tree,
    leaf_hash,
    node_hash,
    root_of,
    split_point,
    verify_consistency,
    verify_inclusion,
)
from core.custody.note import Checkpoint, NoteError, Signer, Verifier, open_checkpoint, open_note
from core.custody.receipts import build_receipt
from core.custody.service import record_one
from core.custody.tree import tree_at, tree_size
from core.custody.tree_models import LedgerLeaf, LedgerTreeNode
from core.identity.service import actor_for
from core.settings import Settings
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of, make_case, make_user

ROOT = Path(__file__).resolve().parents[3]


def _tool() -> Any:
    path = ROOT / "tools" / "verify_receipt.py"
    spec = importlib.util.spec_from_file_location("verify_receipt", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- RFC 9162, against its definitions written out literally -----------------------------------


def _mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = split_point(len(d))
    return node_hash(_mth(d[:k]), _mth(d[k:]))


def _path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) <= 1:
        return []
    k = split_point(len(d))
    if m < k:
        return [*_path(m, d[:k]), _mth(d[k:])]
    return [*_path(m - k, d[k:]), _mth(d[:k])]


def _subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [_mth(d)]
    k = split_point(len(d))
    if m <= k:
        return [*_subproof(m, d[:k], b), _mth(d[k:])]
    return [*_subproof(m - k, d[k:], False), _mth(d[:k])]


LEAVES = [leaf_hash(str(i).encode()) for i in range(1100)]


def test_hashing_uses_the_rfc_9162_prefixes() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert root_of([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


@hsettings(max_examples=60, deadline=None)
@given(st.integers(1, 1100), st.data())
def test_tiled_tree_proofs_equal_the_rfc_definitions(size: int, data: Any) -> None:
    leaves = LEAVES[:size]
    tree = Tree(MemorySource(leaves), size)
    root = _mth(leaves)
    assert tree.root() == root
    builder = RootBuilder()
    for leaf in leaves:
        builder.add(leaf)
    assert builder.root() == root
    index = data.draw(st.integers(0, size - 1))
    proof = tree.inclusion_proof(index)
    assert proof == _path(index, leaves)
    assert verify_inclusion(index, size, leaves[index], proof, root)
    other = (index + 1) % size
    if other != index:
        assert not verify_inclusion(index, size, leaves[other], proof, root)
    old = data.draw(st.integers(1, size))
    consistency = tree.consistency_proof(old)
    assert consistency == ([] if old == size else _subproof(old, leaves, True))
    assert verify_consistency(old, size, _mth(leaves[:old]), root, consistency)
    if old < size:
        assert not verify_consistency(old, size, _mth(leaves[: old - 1] or [b""]), root,
                                      consistency)  # fmt: skip


# -- signed notes and checkpoints (C2SP) -------------------------------------------------------


def test_a_note_is_signed_and_opened_in_the_c2sp_format() -> None:
    signer = Signer.generate("example.org/log")
    verifier = signer.verifier
    # The key id is SHA-256(name || 0x0A || 0x01 || key)[:4] (signed-note).
    expected = hashlib.sha256(b"example.org/log\n\x01" + verifier.public_key).digest()[:4]
    assert verifier.key_id == int.from_bytes(expected, "big")
    assert Verifier.parse(verifier.vkey()) == verifier
    assert Signer.parse(signer.skey()).verifier == verifier
    text = Checkpoint("example.org/log", 5, b"\x07" * 32, datetime(2026, 12, 3, tzinfo=UTC)).text()
    assert text == ("example.org/log\n5\n" + base64.b64encode(b"\x07" * 32).decode()
                    + "\ntime 2026-12-03T00:00:00Z\n")  # fmt: skip
    note = signer.sign(text)
    name, blob = note.split("\n\n")[1].removeprefix("\u2014 ").split(" ")
    assert name == "example.org/log" and len(base64.b64decode(blob)) == 68
    assert open_note(note, [verifier]) == (text, verifier)
    assert open_checkpoint(note, [verifier]).size == 5
    with pytest.raises(NoteError, match="not valid"):
        open_note(note.replace("\n5\n", "\n6\n"), [verifier])
    with pytest.raises(NoteError, match="no signature by a trusted key"):
        open_note(note, [Signer.generate("example.org/log").verifier])
    with pytest.raises(NoteError, match="not 'other/log'"):
        open_checkpoint(note, [verifier], origin="other/log")


def test_keys_come_from_configuration_never_the_database(tmp_path: Path) -> None:
    signer = Signer.generate("buudien.example/ledger")
    from_env = Settings(environment="test", secret_key="s", ledger_signing_key=signer.skey())
    assert ledger_signer(from_env).verifier == signer.verifier
    path = tmp_path / "ledger.key"
    path.write_text(signer.skey() + "\n")
    from_file = Settings(environment="test", secret_key="s", ledger_signing_key_file=path)
    assert ledger_signer(from_file).verifier == signer.verifier
    # Rotation: the new key signs, the old one is still trusted for the heads it signed.
    new = Signer.generate("buudien.example/ledger")
    rotated = Settings(environment="test", secret_key="s", ledger_signing_key=new.skey(),
                       ledger_trusted_keys=signer.verifier.vkey())  # fmt: skip
    assert trusted_verifiers(rotated) == [new.verifier, signer.verifier]


# -- the sequencer, heads, the heads file and the witnesses ------------------------------------


@pytest.fixture
def ledger_settings(tmp_path: Path) -> Settings:
    return Settings(environment="test", secret_key="test-secret", database_url=None,
                    ledger_heads_file=tmp_path / "heads.jsonl",
                    ledger_checkpoint_interval_seconds=60)  # fmt: skip


def _picked_up(db: Session, settings: Settings) -> tuple[str, uuid.UUID]:
    item = dossier_of(db, make_case(db, settings))
    result = record_one(db, actor_for(make_user(db, "courier")),
                        scan("picked_up", item.code, details=PICKUP_DETAILS))  # fmt: skip
    return item.code, uuid.UUID(result.events[0]["event_id"])


def test_every_event_becomes_a_leaf_and_heads_are_signed_when_due(
    db: Session, ledger_settings: Settings
) -> None:
    settings = ledger_settings
    now = datetime.now(UTC)
    _picked_up(db, settings)
    # Forced: other tests may have committed heads to the shared database.
    first = make_checkpoint(db, settings, now=now, force=True)
    assert first is not None
    assert first.tree_size == tree_size(db) == db.scalar(select(func.count(LedgerLeaf.leaf_index)))
    # Nothing new and within the minute: no head. New events, a minute later: a head.
    assert make_checkpoint(db, settings, now=now + timedelta(seconds=5)) is None
    _picked_up(db, settings)
    assert make_checkpoint(db, settings, now=now + timedelta(seconds=30)) is None
    second = make_checkpoint(db, settings, now=now + timedelta(seconds=61))
    assert second is not None and second.tree_size > first.tree_size
    # The next day starts with a head even when nothing arrived.
    assert make_checkpoint(db, settings, now=now + timedelta(days=1)) is not None
    verifiers = trusted_verifiers(settings)
    head = open_checkpoint(second.note, verifiers, settings.ledger_origin)
    assert head.root == tree_at(db, head.size).root() == second.root_hash
    # Stored tiles: a node at height 8 for every 256 leaves, recomputable from the leaves.
    leaves = list(db.scalars(select(LedgerLeaf.hash).order_by(LedgerLeaf.leaf_index)))
    assert head.root == root_of(leaves[: head.size])
    nodes = db.scalars(select(LedgerTreeNode).where(LedgerTreeNode.height == 8)).all()
    assert len(nodes) == len(leaves) // 256
    for node in nodes:
        assert node.hash == root_of(leaves[node.idx * 256 : (node.idx + 1) * 256])
    # Consistency between the two heads, as RFC 9162 proves it.
    proof = tree_at(db, second.tree_size).consistency_proof(first.tree_size)
    assert verify_consistency(first.tree_size, second.tree_size, first.root_hash,
                              second.root_hash, proof)  # fmt: skip


def test_heads_go_to_a_file_outside_the_database_and_to_the_witnesses(
    db: Session, ledger_settings: Settings
) -> None:
    settings = ledger_settings
    _picked_up(db, settings)
    row = make_checkpoint(db, settings, now=datetime.now(UTC), force=True)
    assert row is not None
    assert sync_heads_file(db, settings) >= 1
    assert sync_heads_file(db, settings) == 0  # idempotent: the file is the log of heads
    lines = heads_file(settings).read_text().splitlines()
    assert json.loads(lines[-1])["note"] == row.note
    assert read_heads(heads_file(settings).read_text())[-1] == row.note
    assert read_heads(row.note) == [row.note]
    body = checkpoint_body(row)
    assert body["type"] == CHECKPOINT_TYPE and body["checkpoint"] == row.note
    # This test's own head (the shared database holds other tests' heads too).
    audit = audit_ledger(db, read_heads(heads_file(settings).read_text())[-1:],
                         trusted_verifiers(settings), origin=settings.ledger_origin,
                         grace_seconds=30)  # fmt: skip
    assert audit.ok, audit.findings
    assert audit.leaves_checked == row.tree_size


# -- receipts ----------------------------------------------------------------------------------


def test_a_receipt_verifies_offline_and_any_change_is_named(
    db: Session, ledger_settings: Settings
) -> None:
    settings = ledger_settings
    code, event_id = _picked_up(db, settings)
    pending = build_receipt(db, settings, event_id)
    tool = _tool()
    keys = [tool.parse_key(v.vkey()) for v in trusted_verifiers(settings)]
    assert pending["checkpoint"] is None and pending["event"]["item"] == code
    assert tool.check(pending, keys, settings.ledger_origin) == ("pending", [])
    make_checkpoint(db, settings, now=datetime.now(UTC), force=True)
    receipt = build_receipt(db, settings, event_id)
    assert receipt["proof"] is not None and receipt["leaf_index"] is not None
    assert tool.check(receipt, keys, settings.ledger_origin) == ("valid", [])
    # The server's own verifier agrees.
    head = open_checkpoint(receipt["checkpoint"], trusted_verifiers(settings))
    proof = [base64.b64decode(p) for p in receipt["proof"]]
    assert verify_inclusion(receipt["leaf_index"], head.size,
                            base64.b64decode(receipt["leaf_hash"]), proof, head.root)  # fmt: skip

    def broken(change: Any) -> list[str]:
        copy = json.loads(json.dumps(receipt))
        change(copy)
        state, problems = tool.check(copy, keys, settings.ledger_origin)
        assert state == "invalid"
        return list(problems)

    assert "leaf hash" in broken(lambda r: r["event"].update(kind="delivered"))[0]
    assert "leaf hash" in broken(lambda r: r["event"].update(seq=r["event"]["seq"] + 1))[0]
    flipped = "A" if receipt["proof"][0][0] != "A" else "B"
    assert (
        "inclusion proof"
        in broken(lambda r: r["proof"].__setitem__(0, flipped + r["proof"][0][1:]))[0]
    )
    assert (
        "signature"
        in broken(lambda r: r.update(checkpoint=r["checkpoint"].replace("\n", "\n9", 1)))[0]
    )
    stranger = [tool.parse_key(Signer.generate(settings.ledger_origin).verifier.vkey())]
    state, problems = tool.check(receipt, stranger, settings.ledger_origin)
    assert state == "invalid" and "not signed by the given public key" in problems[0]
