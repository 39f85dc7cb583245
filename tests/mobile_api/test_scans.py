"""The scan sync: one answer per event, replays, conflicts kept, never all-or-nothing."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.cases.models import Case
from core.custody.models import CustodyEvent, CustodyException, ItemState
from core.custody.parties import party
from core.db import transaction
from core.identity.models import Device
from core.settings import Settings
from mobile_api.endpoints import MAX_BATCH_BYTES
from mobile_api.schemas import ScanBatchOut
from tests.factories import dossier_of, make_case, make_office, make_post_office, make_user
from tests.mobile_api.helpers import (
    bearer,
    event,
    login,
    pickup_event,
    result_out_for_delivery,
    scans,
    signed_in,
)
from vntime import VN


def _count(db: Session, client_ids: list[str]) -> int:
    ids = [uuid.UUID(c) for c in client_ids]
    query = select(func.count()).select_from(CustodyEvent)
    return db.scalar(query.where(CustodyEvent.client_event_id.in_(ids))) or 0


def _without_replay_flag(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "replayed"} for r in results]


def test_the_same_batch_sent_three_times_is_recorded_once(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    items = [dossier_of(db, make_case(db, settings)) for _ in range(3)]
    batch = [pickup_event(item.code) for item in items]
    answers = [scans(client, headers, *batch) for _ in range(3)]
    first = answers[0]["results"]
    assert [r["outcome"] for r in first] == ["accepted"] * 3
    assert not any(r["replayed"] for r in first)
    for later in answers[1:]:
        assert _without_replay_flag(later["results"]) == _without_replay_flag(first)
        assert all(r["replayed"] for r in later["results"])
    assert _count(db, [e["client_event_id"] for e in batch]) == 3
    # Each event names the phone it came from.
    devices = db.scalars(
        select(CustodyEvent.device_id).where(
            CustodyEvent.client_event_id == uuid.UUID(batch[0]["client_event_id"])
        )
    ).all()
    assert devices == [db.scalar(select(Device.id).where(Device.user_id == courier.id))]


def test_a_batch_mixes_valid_duplicate_and_invalid_events(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, headers = signed_in(client, db)
    done, fresh = (dossier_of(db, make_case(db, settings)) for _ in range(2))
    earlier = pickup_event(done.code)
    scans(client, headers, earlier)

    naive_time = event("picked_up", fresh.code, occurred_at="2026-11-22T09:00:00")
    batch = [
        pickup_event(fresh.code),  # valid
        earlier,  # a duplicate: answered as before
        event("picked_up", "DH123456789VN"),  # wrong check digit
        event("picked_up", "DH000000005VN"),  # well formed, no such item
        naive_time,  # no UTC offset
        event("teleported", fresh.code),  # unknown kind
        "not an event",
        pickup_event(fresh.code, details={"seal_number": "S"}),  # no checklist
    ]
    answer = scans(client, headers, *batch)
    got = [(r["outcome"], r["reason_code"], r["field"]) for r in answer["results"]]
    assert got == [
        ("accepted", None, None),
        ("accepted", None, None),
        ("rejected", "malformed_code", "code"),
        ("rejected", "unknown_item", "code"),
        ("rejected", "invalid_input", "occurred_at"),
        ("rejected", "invalid_input", "kind"),
        ("rejected", "invalid_input", None),
        ("rejected", "missing_field", "details.checklist"),
    ]
    assert answer["results"][1]["replayed"] is True
    assert (answer["accepted"], answer["rejected"], answer["exceptions"]) == (2, 6, 0)
    assert "events[4].occurred_at" in answer["results"][4]["detail"]
    # The answer is written without the response model (for speed); it must still be
    # exactly what the model documents, field for field.
    assert ScanBatchOut.model_validate(answer).model_dump(mode="json") == answer


def test_a_courier_cannot_act_on_another_couriers_items(
    client: TestClient, db: Session, settings: Settings
) -> None:
    lan, lan_headers = signed_in(client, db)
    _, minh_headers = signed_in(client, db)
    assigned = make_case(db, settings)
    assigned.pickup_courier_id = lan.id
    db.flush()
    item = dossier_of(db, assigned)

    theirs = scans(client, minh_headers, pickup_event(item.code))["results"][0]
    assert (theirs["outcome"], theirs["reason_code"]) == ("rejected", "not_authorised")
    assert scans(client, lan_headers, pickup_event(item.code))["results"][0]["outcome"] == (
        "accepted"
    )
    # Now Lan holds it: Minh can neither hand it over nor report it damaged.
    office = party("office", make_office(db).id)
    for kind, extra in (("handover_offered", {"to_party": office}),
                        ("damage_noted", {"details": {"reason_code": "wet"}})):  # fmt: skip
        answer = scans(client, minh_headers, event(kind, item.code, **extra))["results"][0]
        assert (answer["outcome"], answer["reason_code"]) == ("rejected", "not_authorised"), kind

    # A result on Lan's round: Minh cannot record a failed attempt or a delivery for it.
    _, result = result_out_for_delivery(db, settings, lan)
    failed = event("attempt_failed", result.code, details={"reason_code": "addressee_absent"})
    answer = scans(client, minh_headers, failed)["results"][0]
    assert (answer["outcome"], answer["reason_code"]) == ("rejected", "not_authorised")
    state = db.get(ItemState, result.id)
    assert state is not None and state.delivery_attempts == 0


def test_a_client_event_id_is_each_senders_own_key(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, lan_headers = signed_in(client, db)
    _, minh_headers = signed_in(client, db)
    lans, minhs = (dossier_of(db, make_case(db, settings)) for _ in range(2))
    sent = pickup_event(lans.code)
    first = scans(client, lan_headers, sent)["results"][0]
    assert first["outcome"] == "accepted"

    # The same key for a scan of Minh's own item is Minh's scan, recorded.
    own = scans(client, minh_headers, {**sent, "code": minhs.code})["results"][0]
    assert own["outcome"] == "accepted" and own["events"][0]["item"] == minhs.code
    assert _count(db, [sent["client_event_id"]]) == 2
    state = db.get(ItemState, minhs.id)
    assert state is not None and state.status == "picked_up"
    # Each resend gets its own sender's answer.
    again = scans(client, lan_headers, sent)["results"][0]
    assert again["replayed"] and again["events"] == first["events"]
    own_again = scans(client, minh_headers, {**sent, "code": minhs.code})["results"][0]
    assert own_again["replayed"] and own_again["events"] == own["events"]
    # A third phone sending Lan's very scan is judged as its own (Lan holds the item now)
    # and learns nothing of Lan's answer.
    _, third_headers = signed_in(client, db)
    copied = scans(client, third_headers, sent)["results"][0]
    assert copied["outcome"] != "accepted" and not copied["replayed"]
    assert copied["events"] == []
    assert _count(db, [sent["client_event_id"]]) == 2


def test_late_and_out_of_order_events_are_kept(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    item = dossier_of(db, make_case(db, settings))
    three_hours_ago = datetime.now(VN) - timedelta(hours=3)
    # First visit, offline: the citizen lacked a paper. Second visit: picked up.
    refusal = event("pickup_refused", item.code, occurred_at=three_hours_ago.isoformat(),
                    details={"reason_code": "incomplete_dossier",
                             "missing_documents": ["Tờ khai"]})  # fmt: skip
    pickup = pickup_event(item.code, occurred_at=(three_hours_ago + timedelta(hours=2)).isoformat())

    # The pickup is synced first (a signal at the second house); the refusal arrives late.
    assert scans(client, headers, pickup)["results"][0]["outcome"] == "accepted"
    late = scans(client, headers, refusal)["results"][0]
    assert (late["outcome"], late["reason_code"]) == ("exception", "conflict")
    kept = db.scalar(
        select(CustodyException).where(
            CustodyException.client_event_id == uuid.UUID(refusal["client_event_id"])
        )
    )
    assert kept is not None and kept.item_id == item.id
    assert kept.payload["details"]["missing_documents"] == ["Tờ khai"]
    assert kept.payload["occurred_at"] == three_hours_ago.isoformat()
    # Sending it again does not make a second exception.
    assert scans(client, headers, refusal)["results"][0] == {**late, "replayed": True}
    assert db.scalar(select(func.count()).select_from(CustodyException)
                     .where(CustodyException.item_id == item.id)) == 1  # fmt: skip

    stored = db.scalar(
        select(CustodyEvent).where(
            CustodyEvent.client_event_id == uuid.UUID(pickup["client_event_id"])
        )
    )
    assert stored is not None
    assert stored.occurred_offset == "+07:00"
    assert stored.recorded_at - stored.occurred_at > timedelta(minutes=59)
    assert stored.actor_user_id == courier.id


def test_a_hand_off_synced_before_its_pickup_is_kept_for_a_dispatcher(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """Offline all morning, the phone's queue reaches the server out of order: the offer at
    the office before the pickup it follows. The offer may be real, so it is kept."""
    _, headers = signed_in(client, db)
    item = dossier_of(db, make_case(db, settings))
    office = party("office", make_office(db).id)
    offer = event("handover_offered", item.code, to_party=office)
    early = scans(client, headers, offer)["results"][0]
    assert (early["outcome"], early["reason_code"]) == ("exception", "conflict")
    kept = db.scalar(
        select(CustodyException).where(
            CustodyException.client_event_id == uuid.UUID(offer["client_event_id"])
        )
    )
    assert kept is not None and kept.payload["to_party"] == office
    assert scans(client, headers, pickup_event(item.code))["results"][0]["outcome"] == "accepted"

    # From a courier of another post office the same offer is not the item's: refused.
    elsewhere = make_user(db, "courier", post_office_id=make_post_office(db).id)
    other_item = dossier_of(db, make_case(db, settings))
    stranger = event("handover_offered", other_item.code, to_party=office)
    answer = scans(client, bearer(login(client, elsewhere)["token"]), stranger)["results"][0]
    assert (answer["outcome"], answer["reason_code"]) == ("rejected", "not_authorised")


def test_a_batch_larger_than_the_limit_is_refused_before_it_is_read(
    client: TestClient, db: Session
) -> None:
    _, headers = signed_in(client, db)
    oversized = b'{"events": [' + b" " * MAX_BATCH_BYTES + b"]}"
    response = client.post(
        "/mobile/v1/scans",
        content=oversized,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["field"]) == (422, "body")


def test_the_envelope_is_checked_as_a_whole(client: TestClient, db: Session) -> None:
    _, headers = signed_in(client, db)
    too_many = {"events": [event("picked_up", "DH000000005VN")] * 501}
    response = client.post("/mobile/v1/scans", json=too_many, headers=headers)
    assert (response.status_code, response.json()["field"]) == (422, "events")
    for body in (b"{not json", b'{"events": {}}', b'{"events": []}'):
        bad = client.post("/mobile/v1/scans", content=body, headers=headers)
        assert bad.status_code == 422, body


def test_two_phones_scanning_one_item_at_once(
    committing: sessionmaker[Session], settings: Settings, database_url: str
) -> None:
    """Real commits, two requests racing: one pickup is recorded, the other kept as an exception."""
    with transaction(committing) as session:
        case = make_case(session, settings)
        code = dossier_of(session, case).code
        couriers = [make_user(session, "courier") for _ in range(2)]
    app = create_app(settings, url=database_url)
    with TestClient(app) as first, TestClient(app) as second:
        phones = [(first, bearer(login(first, couriers[0])["token"])),
                  (second, bearer(login(second, couriers[1])["token"]))]  # fmt: skip
        start = threading.Barrier(2)
        answers: list[dict[str, Any]] = []

        def scan(phone: TestClient, headers: dict[str, str]) -> None:
            start.wait()
            answers.append(scans(phone, headers, pickup_event(code))["results"][0])

        threads = [threading.Thread(target=scan, args=phone) for phone in phones]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(a["outcome"] for a in answers) == ["accepted", "exception"]
    with transaction(committing) as session:
        item_id = session.scalar(select(Case.dossier_item_id).where(Case.id == case.id))
        kinds = session.scalars(
            select(CustodyEvent.kind).where(CustodyEvent.item_id == item_id)
        ).all()
        exceptions = session.scalar(
            select(func.count()).select_from(CustodyException)
            .where(CustodyException.item_id == item_id)
        )  # fmt: skip
    assert sorted(kinds) == ["booked", "picked_up"]
    assert exceptions == 1
