"""One test per kind of forgery by someone who owns the database: each is caught by
``hoso ledger verify``'s checks (the hash chains and the audit against the signed heads).

The forger acts as the tables' owner with the append-only triggers switched off, the way
reliability report D6 did it, and knows the project's own hashing code (``chain_hash``,
``event_leaf``): only the signing keys are out of reach (the heads' and the server's, which
signs every event as it is recorded). The witness's copy of the heads is
the list of notes taken before the forgery.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.custody.audit import AuditReport, audit_ledger, open_heads
from core.custody.checkpoints import (
    leaves_file,
    make_checkpoint,
    sync_heads_file,
    trusted_verifiers,
)
from core.custody.hashing import GENESIS_HASH, HASHED_FIELDS, canonical_form, chain_hash
from core.custody.merkle import TILE_HEIGHT, MemorySource, Tree
from core.custody.models import CustodyEvent, Item
from core.custody.server_signing import Epoch, event_signer, legacy_problems, signed_bytes
from core.custody.service import record_one
from core.custody.tree import event_leaf
from core.custody.verify import verify_ledger
from core.identity.service import actor_for
from core.settings import Settings
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of, make_case, make_user

TABLES = ("custody_events", "ledger_leaves", "ledger_tree_nodes")


@pytest.fixture
def ledger_settings(tmp_path: Any) -> Settings:
    return Settings(environment="test", secret_key="test-secret", database_url=None,
                    ledger_heads_file=tmp_path / "heads.jsonl",
                    ledger_checkpoint_interval_seconds=0)  # fmt: skip


def _history(db: Session, settings: Settings) -> str:
    """An item with four events: booked, picked up, handover offered, handover accepted."""
    item = dossier_of(db, make_case(db, settings))
    courier = actor_for(make_user(db, "courier"))
    record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
    record_one(db, courier, scan("handover_offered", item.code, to_party="office:1"))
    return item.code


def _signed(db: Session, settings: Settings) -> list[str]:
    """Sign a head now: the witness keeps its note, and the heads file and the leaves file
    beside it (outside the database) are brought up to it, as the worker does."""
    row = make_checkpoint(db, settings, now=datetime.now(UTC), force=True)
    assert row is not None
    sync_heads_file(db, settings)
    return [row.note]


def _findings(db: Session, settings: Settings, notes: list[str]) -> list[tuple[Any, ...]]:
    """Everything verify reports, as (item, seq, text): chains, projections and heads."""
    db.expire_all()
    found: list[tuple[Any, ...]] = [
        (p.item_code, p.seq, p.problem) for p in verify_ledger(db).problems
    ]
    audit = audit_ledger(db, notes, trusted_verifiers(settings), origin=settings.ledger_origin,
                         grace_seconds=settings.agency_webhook_gap_grace_seconds,
                         leaves_path=leaves_file(settings))  # fmt: skip
    found += [(f.item_code, f.seq, f.line()) for f in audit.findings]
    return found


def _untrusted(db: Session) -> None:
    for table in TABLES:
        db.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))


def _item_id(db: Session, code: str) -> int:
    item_id = db.scalar(select(Item.id).where(Item.code == code))
    assert item_id is not None
    return item_id


def _rehash_chain(db: Session, code: str) -> None:
    """Recompute an item's whole chain and its projection's last hash, as D6's forger did."""
    item_id = _item_id(db, code)
    db.flush()
    db.expire_all()
    prev = GENESIS_HASH
    events = db.scalars(
        select(CustodyEvent).where(CustodyEvent.item_id == item_id).order_by(CustodyEvent.seq)
    ).all()
    for event in events:
        fields = {name: getattr(event, name, None) for name in HASHED_FIELDS}
        fields["item_code"], fields["bag_code"] = code, None
        new = chain_hash(prev, fields)
        db.execute(text("UPDATE custody_events SET prev_hash = :p, hash = :h WHERE id = :id"),
                   {"p": prev, "h": new, "id": event.id})  # fmt: skip
        prev = new
    db.execute(text("UPDATE item_states SET last_hash = :h, last_seq = :s WHERE item_id = :i"),
               {"h": prev, "s": len(events), "i": item_id})  # fmt: skip


def _rewrite_tree(db: Session) -> None:
    """The strongest forger: every stored leaf and node recomputed from the forged events."""
    rows = db.execute(text(
        "SELECT l.leaf_index, i.code, e.seq, e.kind, e.recorded_at, e.hash FROM ledger_leaves l "
        "JOIN custody_events e ON e.id = l.event_row_id JOIN items i ON i.id = e.item_id "
        "ORDER BY l.leaf_index"
    )).all()  # fmt: skip
    leaves = []
    for index, code, seq, kind, recorded_at, event_hash in rows:
        leaf = event_leaf(code, seq, kind, recorded_at, event_hash)
        db.execute(text("UPDATE ledger_leaves SET hash = :h, item_code = :c, seq = :s "
                        "WHERE leaf_index = :i"),
                   {"h": leaf, "c": code, "s": seq, "i": index})  # fmt: skip
        leaves.append(leaf)
    tree = Tree(MemorySource(leaves), len(leaves))
    for height, idx in db.execute(text("SELECT height, idx FROM ledger_tree_nodes")).all():
        db.execute(text("UPDATE ledger_tree_nodes SET hash = :h WHERE height = :a AND idx = :b"),
                   {"h": tree.complete(height, idx), "a": height, "b": idx})  # fmt: skip
    assert TILE_HEIGHT == 8


def _named(found: list[tuple[Any, ...]], code: str, seq: int | None = None) -> list[str]:
    return [text_ for c, s, text_ in found if c == code and (seq is None or s == seq)]


def test_an_honest_ledger_verifies_against_its_heads(
    owner_db: Session, ledger_settings: Settings
) -> None:
    db, settings = owner_db, ledger_settings
    _history(db, settings)
    notes = _signed(db, settings)
    code = _history(db, settings)
    notes += _signed(db, settings)
    assert [f for f in _findings(db, settings, notes) if f[0] in (code, None)] == []


def test_payload_edit(owner_db: Session, ledger_settings: Settings) -> None:
    db, settings = owner_db, ledger_settings
    code = _history(db, settings)
    notes = _signed(db, settings)
    _untrusted(db)
    db.execute(text("UPDATE custody_events SET details = '{\"seal_number\": \"FORGED\"}' "
                    "WHERE item_id = :i AND seq = 2"), {"i": _item_id(db, code)})  # fmt: skip
    assert any("hash does not match" in t for t in _named(_findings(db, settings, notes), code, 2))


def test_middle_delete(owner_db: Session, ledger_settings: Settings) -> None:
    db, settings = owner_db, ledger_settings
    code = _history(db, settings)
    notes = _signed(db, settings)
    _untrusted(db)
    db.execute(text("DELETE FROM custody_events WHERE item_id = :i AND seq = 2"),
               {"i": _item_id(db, code)})  # fmt: skip
    found = _named(_findings(db, settings, notes), code, 2)
    assert any("event deleted" in t for t in found), found


def test_tail_delete(owner_db: Session, ledger_settings: Settings) -> None:
    db, settings = owner_db, ledger_settings
    code = _history(db, settings)
    notes = _signed(db, settings)
    _untrusted(db)
    item_id = _item_id(db, code)
    # D6 T3: the last event goes, and the projection is rolled back to the one before.
    db.execute(text("DELETE FROM custody_events WHERE item_id = :i AND seq = 3"), {"i": item_id})
    _rehash_chain(db, code)
    db.execute(text("UPDATE item_states SET status = 'picked_up', pending_from = NULL, "
                    "pending_to = NULL, pending_initiator = NULL WHERE item_id = :i"),
               {"i": item_id})  # fmt: skip
    found = _findings(db, settings, notes)
    assert not [t for t in _named(found, code) if "hash" in t or "projection" in t]
    assert any("event deleted" in t for t in _named(found, code, 3)), found


def test_tail_delete_with_its_leaf(owner_db: Session, ledger_settings: Settings) -> None:
    db, settings = owner_db, ledger_settings
    code = _history(db, settings)
    notes = _signed(db, settings)
    _untrusted(db)
    item_id = _item_id(db, code)
    event_id = db.scalar(text("SELECT id FROM custody_events WHERE item_id = :i AND seq = 3"),
                         {"i": item_id})  # fmt: skip
    db.execute(text("DELETE FROM ledger_leaves WHERE event_row_id = :e"), {"e": event_id})
    db.execute(text("DELETE FROM custody_events WHERE id = :e"), {"e": event_id})
    db.execute(text("UPDATE item_states SET status = 'picked_up', pending_from = NULL, "
                    "pending_to = NULL, pending_initiator = NULL WHERE item_id = :i"),
               {"i": item_id})  # fmt: skip
    found = _findings(db, settings, notes)
    lines = [t for _, _, t in found]
    # The leaf is gone with the event: the head still says it was there, and where.
    assert any("missing from the tree" in t or "were deleted" in t for t in lines), lines
    assert any("do not match head" in t or "were deleted" in t for t in lines), lines
    # The leaves kept with the heads name it.
    assert any("deleted with its leaf" in t for t in _named(found, code, 3)), found


def test_rehash_after_edit(owner_db: Session, ledger_settings: Settings) -> None:
    db, settings = owner_db, ledger_settings
    code = _history(db, settings)
    notes = _signed(db, settings)
    _untrusted(db)
    db.execute(text("UPDATE custody_events SET actor_party = 'courier:12' "
                    "WHERE item_id = :i AND seq = 2"), {"i": _item_id(db, code)})  # fmt: skip
    _rehash_chain(db, code)
    found = _findings(db, settings, notes)
    assert not [t for t in _named(found, code) if "hash does not match" in t]  # chains pass
    assert any("changed after it was signed" in t for t in _named(found, code, 2)), found


def test_forged_append(owner_db: Session, ledger_settings: Settings) -> None:
    db, settings = owner_db, ledger_settings
    code = _history(db, settings)
    notes = _signed(db, settings)
    item_id = _item_id(db, code)
    # D6 T5: a plain INSERT (the trigger allows appends) of a backdated event whose hash is
    # correct, followed by the projection.
    last = db.scalars(select(CustodyEvent).where(CustodyEvent.item_id == item_id)
                      .order_by(CustodyEvent.seq.desc()).limit(1)).one()  # fmt: skip
    forged = {name: getattr(last, name, None) for name in HASHED_FIELDS}
    forged.update(item_code=code, bag_code=None, seq=last.seq + 1, kind="handover_accepted",
                  recorded_at=last.recorded_at - timedelta(hours=20),
                  occurred_at=last.occurred_at - timedelta(hours=20),
                  event_id=__import__("uuid").uuid4(), client_event_id=None)  # fmt: skip
    event_hash = chain_hash(last.hash, forged)
    row = {k: v for k, v in forged.items() if k not in ("item_code", "bag_code")}
    db.execute(text(
        "INSERT INTO custody_events (event_id, client_event_id, item_id, seq, kind, biz_step, "
        "disposition, upu_code, from_party, to_party, actor_user_id, actor_role, actor_party, "
        "device_id, occurred_at, occurred_offset, recorded_at, place, lat, lon, gps_accuracy_m,"
        " evidence, details, raw_code, corrects_event_id, prev_hash, hash) VALUES (:event_id, "
        ":client_event_id, :item_id, :seq, :kind, :biz_step, :disposition, :upu_code, "
        ":from_party, :to_party, :actor_user_id, :actor_role, :actor_party, :device_id, "
        ":occurred_at, :occurred_offset, :recorded_at, :place, :lat, :lon, :gps_accuracy_m, "
        "CAST(:evidence AS jsonb), CAST(:details AS jsonb), :raw_code, :corrects_event_id, "
        ":prev_hash, :hash)"
    ), {**row, "item_id": item_id, "prev_hash": last.hash, "hash": event_hash,
        "evidence": __import__("json").dumps(row["evidence"]),
        "details": __import__("json").dumps(row["details"])})  # fmt: skip
    # Before the next head: in no head, yet recorded before the last one was signed.
    found = _named(_findings(db, settings, notes), code, last.seq + 1)
    assert any("added afterwards" in t for t in found), found
    # After the next head signs it in, the earlier head still shows it was not there.
    notes += _signed(db, settings)
    found = _named(_findings(db, settings, notes), code, last.seq + 1)
    assert any("missing from head" in t and "added afterwards" in t for t in found), found


def test_reorder(owner_db: Session, ledger_settings: Settings) -> None:
    db, settings = owner_db, ledger_settings
    code = _history(db, settings)
    notes = _signed(db, settings)
    _untrusted(db)
    item_id = _item_id(db, code)
    # Events 2 and 3 swap places in the item's history, and the chain is remade to suit.
    db.execute(text("UPDATE custody_events SET seq = seq + 100 "
                    "WHERE item_id = :i AND seq IN (2, 3)"), {"i": item_id})  # fmt: skip
    db.execute(text("UPDATE custody_events SET seq = CASE seq WHEN 102 THEN 3 ELSE 2 END "
                    "WHERE item_id = :i AND seq > 100"), {"i": item_id})  # fmt: skip
    _rehash_chain(db, code)
    found = _findings(db, settings, notes)
    assert any("reordered" in t for t in _named(found, code, 2)), found
    assert any("reordered" in t for t in _named(found, code, 3)), found


def test_trigger_disabled_then_edited_everywhere(
    owner_db: Session, ledger_settings: Settings
) -> None:
    """The strongest forger: with every trigger off, the event is edited, its chain, its leaf
    and every stored node of the tree are recomputed. Only the signed head disagrees."""
    db, settings = owner_db, ledger_settings
    code = _history(db, settings)
    notes = _signed(db, settings)
    _untrusted(db)
    db.execute(text("UPDATE custody_events SET kind = 'refused' WHERE item_id = :i AND seq = 2"),
               {"i": _item_id(db, code)})  # fmt: skip
    _rehash_chain(db, code)
    _rewrite_tree(db)
    found = _findings(db, settings, notes)
    lines = [t for _, _, t in found]
    assert any("do not match head" in t for t in lines), lines
    # Every stored leaf agrees with its event now; the leaves kept outside the database,
    # which hash to the signed root, name the changed event, and the re-hashed one after it.
    assert any("rewritten to match" in t for t in _named(found, code, 2)), found
    assert any("rewritten to match" in t for t in _named(found, code, 3)), found
    assert any("cannot prove" in t or "do not match head" in t for t in lines)
    # A head the forger signs with a key of their own is not trusted.
    from core.custody.note import Checkpoint, Signer

    forger = Signer.generate(settings.ledger_origin)
    fake = forger.sign(Checkpoint(settings.ledger_origin, 1, b"\0" * 32).text())
    audit = audit_ledger(db, [fake], trusted_verifiers(settings), origin=settings.ledger_origin,
                         grace_seconds=30)  # fmt: skip
    assert any("no signature by a trusted key" in f.problem for f in audit.findings)


def test_forged_device_event_without_the_phone(
    owner_db: Session, ledger_settings: Settings
) -> None:
    """A `delivered` appended as the owner, naming a phone that signs its scans, with a
    correct chain hash and signed into the next head: only the phone's key could have signed
    it, and verify names the item and sequence. The phone's real scan still verifies."""
    from core.courier.devices import sign_in
    from core.courier.sync import sync
    from mobile_api.endpoints import _parse_event
    from tests.mobile_api.helpers import pickup_event
    from tests.mobile_api.phone_keys import PhoneKey, append_forged_event

    db, settings = owner_db, ledger_settings
    now = datetime.now(UTC)
    key = PhoneKey()
    courier = make_user(db, "courier")
    phone = sign_in(db, settings, username=courier.username, password="correct horse battery",
                    install_id="forgery-phone-1", device_name="Máy", platform="web", now=now,
                    **key.device_fields())  # fmt: skip
    assert phone.key_id is not None
    key.key_id = phone.key_id
    code = dossier_of(db, make_case(db, settings)).code
    command = _parse_event(0, key.sign(pickup_event(code)), now)
    actor = actor_for(courier, phone.device.id)
    (result,) = sync(db, settings, actor, [command], now=now, device_signed=True)
    assert result.outcome == "accepted", result
    seq = append_forged_event(db, code, "delivered", phone.device.id)
    notes = _signed(db, settings)  # the forged event even made it into a signed head
    found = _findings(db, settings, notes)
    assert (code, seq, f"claims device {phone.device.id} but carries no device signature") in found
    assert not [f for f in found if f[0] == code and f[1] == seq - 1]  # the real scan


def test_a_changed_leaves_file_is_set_aside_not_believed(
    owner_db: Session, ledger_settings: Settings
) -> None:
    """The leaves file is outside the database but not trusted: a forger who also edits it
    to agree with the rewritten tree is caught by the signed root, and nothing is named
    from it."""
    db, settings = owner_db, ledger_settings
    code = _history(db, settings)
    notes = _signed(db, settings)
    kept = leaves_file(settings)
    data = bytearray(kept.read_bytes())
    data[0] ^= 1
    kept.write_bytes(bytes(data))
    found = _findings(db, settings, notes)
    assert any("leaves file" in t and "does not match head" in t for _, _, t in found), found
    assert not [t for t in _named(found, code) if "rewritten" in t]


# -- server signatures: events that name no phone (docs/ledger.md, "Server-signed events") --


def _event_fields(db: Session, code: str, seq: int) -> dict[str, Any]:
    """An event's hashed fields as the forger reads them back (the project's own code)."""
    db.expire_all()
    event = db.scalars(select(CustodyEvent).where(
        CustodyEvent.item_id == _item_id(db, code), CustodyEvent.seq == seq)).one()  # fmt: skip
    fields = {name: getattr(event, name, None) for name in HASHED_FIELDS}
    fields["item_code"], fields["bag_code"] = code, None
    return fields


def test_forged_append_naming_no_device_is_caught_before_any_head(
    owner_db: Session, ledger_settings: Settings
) -> None:
    """A desk or system event appended as the owner, with a correct chain hash and naming
    no phone: before any head covers it, the missing server signature alone names it."""
    from tests.mobile_api.phone_keys import append_forged_event

    db, settings = owner_db, ledger_settings
    code = _history(db, settings)
    seq = append_forged_event(db, code, "handover_accepted", None)
    db.expire_all()
    found = [(p.item_code, p.seq, p.problem) for p in verify_ledger(db).problems]
    assert (code, seq, "carries neither a device signature nor a server signature") in found
    # Its chain hash is right: nothing but the signature tells it from a real event.
    assert not [t for t in _named(found, code, seq) if "hash" in t]
    # The honest events before it verify.
    assert not [f for f in found if f[0] == code and f[1] is not None and f[1] < seq]


def test_tampered_server_signature(owner_db: Session, ledger_settings: Settings) -> None:
    db, settings = owner_db, ledger_settings
    code = _history(db, settings)
    db.execute(text("ALTER TABLE event_server_signatures DISABLE TRIGGER "
                    "event_server_signatures_append_only"))  # fmt: skip
    db.execute(text(
        "UPDATE event_server_signatures SET signature = set_byte(signature, 0, "
        "get_byte(signature, 0) # 1) WHERE event_id = (SELECT event_id FROM custody_events "
        "WHERE item_id = :i AND seq = 2)"), {"i": _item_id(db, code)})  # fmt: skip
    found = [(p.item_code, p.seq, p.problem) for p in verify_ledger(db).problems]
    key = event_signer().key_id
    assert [f for f in found if f[0] == code] == [
        (code, 2, f"server signature (key {key}) does not match the event")
    ]


def test_forged_event_signed_with_the_forgers_own_key(
    owner_db: Session, ledger_settings: Settings
) -> None:
    """The forger signs the appended event with a key of their own and even lists its
    public key in the database: verify trusts only the configured keys."""
    from core.custody.note import Signer
    from tests.mobile_api.phone_keys import append_forged_event

    db, settings = owner_db, ledger_settings
    code = _history(db, settings)
    seq = append_forged_event(db, code, "handover_accepted", None)
    forger = Signer.generate("forger/events")
    key_id = f"{forger.verifier.key_id:08x}"
    canonical = canonical_form(_event_fields(db, code, seq))
    signature = Ed25519PrivateKey.from_private_bytes(forger.seed).sign(signed_bytes(canonical))
    db.execute(text("INSERT INTO server_signing_keys (key_id, vkey) VALUES (:k, :v)"),
               {"k": key_id, "v": forger.verifier.vkey()})  # fmt: skip
    db.execute(text(
        "INSERT INTO event_server_signatures (event_id, key_id, signature) SELECT event_id, "
        ":k, :s FROM custody_events WHERE item_id = :i AND seq = :seq"),
        {"k": key_id, "s": signature, "i": _item_id(db, code), "seq": seq})  # fmt: skip
    found = [(p.item_code, p.seq, p.problem) for p in verify_ledger(db).problems]
    assert (code, seq, f"server signature by unknown key {key_id}: not a trusted key") in found
    # The same signature verifies under the forger's key: only the key's trust differs.
    assert forger.verifier.verify(signed_bytes(canonical), signature)


def test_legacy_unsigned_events_stand_only_under_a_head_signed_before_signing_began(
    owner_db: Session, ledger_settings: Settings
) -> None:
    """Events recorded before server signatures existed carry none. One under a trusted head
    signed before signing began is accepted as legacy; one under no such head is reported
    (it cannot be told from a forgery)."""
    from tests.mobile_api.phone_keys import append_forged_event

    db, settings = owner_db, ledger_settings
    code = _history(db, settings)
    seq = append_forged_event(db, code, "handover_accepted", None)  # unsigned, as before 0009s
    row_id = db.scalar(text("SELECT id FROM custody_events WHERE item_id = :i AND seq = :s"),
                       {"i": _item_id(db, code), "s": seq})  # fmt: skip
    notes = _signed(db, settings)
    signed_at = datetime.now(UTC)
    heads = open_heads(notes, trusted_verifiers(settings), settings.ledger_origin, AuditReport())

    def findings(epoch: Epoch) -> list[tuple[str, int | None, str]]:
        report = verify_ledger(db, epoch=epoch)
        mine = [(p.item_code, p.seq, p.problem) for p in report.problems if p.item_code == code]
        return mine + [
            f for f in legacy_problems(db, report.legacy_unsigned, heads, epoch) if f[0] == code
        ]

    # Signing began after the head was signed: the head proves the event existed before.
    later = Epoch(first_event_id=row_id + 1, started_at=signed_at + timedelta(minutes=5))
    assert [f for f in findings(later) if f[1] == seq] == []
    # Signing began before that head: nothing proves the unsigned event is not a forgery.
    earlier = Epoch(first_event_id=row_id + 1, started_at=signed_at - timedelta(hours=1))
    assert [f[2] for f in findings(earlier) if f[1] == seq] == [
        "unsigned event from before server signatures, under no signed head made before "
        "they began: it cannot be told from a forged one"
    ]
    # After the epoch the migration recorded, an unsigned event is simply unsigned.
    assert (code, seq, "carries neither a device signature nor a server signature") in [
        (p.item_code, p.seq, p.problem) for p in verify_ledger(db).problems
    ]
