"""Every event the service records is signed by the server's key, whatever path wrote it
(docs/ledger.md, "Server-signed events"); the forgeries it catches are in test_forgery.py."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.cli import app
from core.custody.hashing import GENESIS_HASH, canonical_form
from core.custody.note import Verifier
from core.custody.parties import citizen_party
from core.custody.rows import SERVER_SIGNATURE, Target, event_row, write_batch
from core.custody.server_signing import event_signer, signed_bytes
from core.custody.service import record_one
from core.custody.transitions import TRANSITIONS, EventFacts, apply
from core.custody.verify import verify_ledger
from core.identity.service import actor_for
from core.settings import Settings
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of, make_case, make_user


def _signatures(db: Session, code: str) -> list[tuple[str, str, bytes]]:
    return [
        (kind, key_id, bytes(signature))
        for kind, key_id, signature in db.execute(
            text(
                "SELECT e.kind, g.key_id, g.signature FROM custody_events e "
                "JOIN items i ON i.id = e.item_id "
                "LEFT JOIN event_server_signatures g ON g.event_id = e.event_id "
                "WHERE i.code = :c ORDER BY e.seq"
            ),
            {"c": code},
        )
    ]


def test_every_path_that_records_signs_with_the_configured_key(
    db: Session, settings: Settings
) -> None:
    # The item's first event (create_item), a batch of scans (record), and a correction.
    item = dossier_of(db, make_case(db, settings))
    courier = actor_for(make_user(db, "courier"))
    admin = actor_for(make_user(db, "admin"))
    pickup = record_one(db, courier, scan("picked_up", item.code, details=PICKUP_DETAILS))
    assert pickup.outcome == "accepted"
    declared = record_one(db, admin, scan(
        "error_declared", item.code, corrects_event_id=uuid.UUID(pickup.events[0]["event_id"]),
        details={"reason": "did_not_occur"}))  # fmt: skip
    assert declared.outcome == "accepted", declared
    signer = event_signer()
    signed = _signatures(db, item.code)
    assert [(kind, key_id) for kind, key_id, _ in signed] == [
        ("booked", signer.key_id), ("picked_up", signer.key_id),
        ("error_declared", signer.key_id),
    ]  # fmt: skip
    # The public key the database keeps is the configured key's, and only the public key.
    (vkey,) = db.execute(
        text("SELECT vkey FROM server_signing_keys WHERE key_id = :k"), {"k": signer.key_id}
    ).one()
    assert vkey == signer.vkey and "PRIVATE" not in vkey
    assert verify_ledger(db).ok


def test_a_signature_verifies_with_the_published_public_key_alone(
    db: Session, settings: Settings, cli_runner: CliRunner
) -> None:
    """What an inspector does: the public key from ``hoso ledger public-key --events`` and
    the event's canonical form are enough to check the stored signature."""
    item = dossier_of(db, make_case(db, settings))
    result = cli_runner.invoke(app, ["ledger", "public-key", "--events"])
    assert result.exit_code == 0, result.output
    published = Verifier.parse(result.output.splitlines()[0])
    row = db.execute(text(
        "SELECT e.*, g.signature, g.key_id AS server_key FROM custody_events e "
        "JOIN event_server_signatures g ON g.event_id = e.event_id "
        "WHERE e.item_id = :i AND e.seq = 1"), {"i": item.id}).mappings().one()  # fmt: skip
    assert row["server_key"] == f"{published.key_id:08x}"
    fields = dict(row) | {"item_code": item.code, "bag_code": None}
    canonical = canonical_form(fields)
    key = Ed25519PublicKey.from_public_bytes(published.public_key)
    key.verify(bytes(row["signature"]), signed_bytes(canonical))  # raises when it does not fit
    assert not published.verify(signed_bytes(canonical + b" "), bytes(row["signature"]))


def test_a_row_without_its_signature_is_never_written(db: Session, settings: Settings) -> None:
    item = dossier_of(db, make_case(db, settings))
    system = actor_for(make_user(db, "admin"))
    holder = citizen_party(1)
    now = datetime.now(UTC)
    target = Target(
        item_id=item.id, code=item.code, kind="dossier", case_id=None, pickup_courier_id=None,
        delivery_courier_id=None, booking_post_office_id=None, booking_citizen_id=None,
        state=apply(None, EventFacts("booked", "dossier", system.party, None, holder, None)),
        last_seq=5, last_hash=GENESIS_HASH, last_event_at=now,
    )  # fmt: skip
    row = event_row(
        target=target, rule=TRANSITIONS["booked"], actor=system,
        command=scan("booked", item.code), occurred_offset="+00:00", from_party=None,
        to_party=holder, bag_code=None, bag_id=None, details={}, recorded_at=now,
    )  # fmt: skip
    assert base64.b64decode(row[SERVER_SIGNATURE])  # signed as it was built
    del row[SERVER_SIGNATURE]
    with pytest.raises(KeyError):
        write_batch(db, [row], [], [], now)
    count = db.scalar(
        text("SELECT count(*) FROM custody_events WHERE item_id = :i AND seq = 6"),
        {"i": item.id},
    )
    assert count == 0


def test_the_app_role_cannot_change_or_delete_a_signature(db: Session, settings: Settings) -> None:
    item = dossier_of(db, make_case(db, settings))
    for statement in (
        "UPDATE event_server_signatures SET key_id = 'ffffffff' WHERE event_id IN "
        "(SELECT event_id FROM custody_events WHERE item_id = :i)",
        "DELETE FROM event_server_signatures WHERE event_id IN "
        "(SELECT event_id FROM custody_events WHERE item_id = :i)",
        "DELETE FROM server_signing_keys",
        "DELETE FROM server_signing_epoch",
    ):
        with pytest.raises(DBAPIError), db.begin_nested():
            db.execute(text(statement), {"i": item.id})
