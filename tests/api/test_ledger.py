"""The ledger's public endpoints: heads, consistency proofs, keys and receipts."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.custody.checkpoints import make_checkpoint
from core.custody.merkle import verify_consistency
from core.custody.models import CustodyEvent
from core.custody.note import Verifier, open_checkpoint
from core.custody.service import record_one
from core.identity.service import actor_for
from core.settings import Settings
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of, make_case, make_user


def test_heads_proofs_and_keys_are_public_and_check_out(
    client: TestClient, db: Session, settings: Settings
) -> None:
    dossier_of(db, make_case(db, settings))
    first = make_checkpoint(db, settings, now=datetime.now(UTC), force=True)
    dossier_of(db, make_case(db, settings))
    second = make_checkpoint(db, settings, now=datetime.now(UTC), force=True)
    assert first is not None and second is not None
    keys = client.get("/api/v1/ledger/public-keys").json()
    verifiers = [Verifier.parse(k) for k in keys["keys"]]
    latest = client.get("/api/v1/ledger/checkpoints").json()
    assert latest["note"] == second.note
    head = open_checkpoint(latest["note"], verifiers, keys["origin"])
    assert base64.b64encode(head.root).decode() == latest["root_hash"]
    old = client.get(f"/api/v1/ledger/checkpoints/{first.tree_size}").json()
    assert old["tree_size"] == first.tree_size
    answer = client.get("/api/v1/ledger/consistency",
                        params={"first": first.tree_size, "second": second.tree_size})  # fmt: skip
    proof = [base64.b64decode(p) for p in answer.json()["proof"]]
    assert verify_consistency(first.tree_size, second.tree_size, first.root_hash,
                              second.root_hash, proof)  # fmt: skip


def test_bad_requests_name_the_field(client: TestClient, db: Session, settings: Settings) -> None:
    dossier_of(db, make_case(db, settings))
    head = make_checkpoint(db, settings, now=datetime.now(UTC), force=True)
    assert head is not None
    missing = client.get(f"/api/v1/ledger/checkpoints/{head.tree_size + 10_000}")
    assert missing.status_code == 404 and missing.json()["field"] == "size"
    beyond = {"first": head.tree_size + 1, "second": head.tree_size + 5}
    backwards = client.get("/api/v1/ledger/consistency", params=beyond)
    assert backwards.status_code == 422 and backwards.json()["field"] == "first"
    bad = client.get("/api/v1/receipts/not-a-uuid")
    assert bad.status_code == 422 and bad.json()["field"] == "event_id"
    unknown = client.get(f"/api/v1/receipts/{uuid.uuid4()}")
    assert unknown.status_code == 404 and unknown.json()["field"] == "event_id"


def test_receipts_only_for_hand_offs_with_a_citizen(
    client: TestClient, db: Session, settings: Settings
) -> None:
    item = dossier_of(db, make_case(db, settings))
    courier = make_user(db, "courier")
    record_one(db, actor_for(courier), scan("picked_up", item.code, details=PICKUP_DETAILS))
    events = dict(
        db.execute(
            select(CustodyEvent.kind, CustodyEvent.event_id).where(CustodyEvent.item_id == item.id)
        ).all()
    )
    pickup = client.get(f"/api/v1/receipts/{events['picked_up']}")
    assert pickup.status_code == 200, pickup.text
    body = pickup.json()
    assert body["event"]["item"] == item.code and body["event"]["kind"] == "picked_up"
    # Personal data stays out: no party, place, GPS or evidence in the receipt.
    text = pickup.text
    for private in ("citizen:", "courier:", "lat", "evidence", "SEAL"):
        assert private not in text, private
    page = client.get(f"/r/{events['picked_up']}")
    assert page.status_code == 200 and "Biên nhận bàn giao" in page.text
    # The booking is no hand-off: no receipt for it. (Last: an error rolls the test back.)
    assert client.get(f"/api/v1/receipts/{events['booked']}").status_code == 404
