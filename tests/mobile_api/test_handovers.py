"""Hand-overs and bags from the courier's phone, on the core hand-over service."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import Booking
from core.cases.service import register_result
from core.custody.models import CustodyEvent, Item, ItemState
from core.custody.parties import Actor, party
from core.custody.service import ScanCommand, record_one
from core.handovers import service as handovers
from core.identity.service import actor_for
from core.media.service import store_media
from core.places.models import Office
from core.settings import Settings
from tests.factories import dossier_of, make_case, make_post_office, make_user
from tests.mobile_api.helpers import PICKUP_DETAILS, bearer, event, login, scans, signed_in
from vntime import VN

PNG = b"\x89PNG\r\n\x1a\n" + b"signature"


def _picked_up(db: Session, settings: Settings, courier_actor: Actor, office_id: int) -> Item:
    office = db.get(Office, office_id)
    item = dossier_of(db, make_case(db, settings, office=office))
    record_one(
        db,
        courier_actor,
        ScanCommand(
            kind="picked_up", code=item.code, occurred_at=datetime.now(VN), details=PICKUP_DETAILS
        ),
    )
    return item


def _status(db: Session, item: Item) -> str:
    db.expire_all()
    state = db.get(ItemState, item.id)
    assert state is not None
    return state.status


def test_a_courier_hands_dossiers_to_an_office_and_the_desk_confirms_each(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    desk = make_user(db, "desk_officer")
    assert desk.office_id is not None
    first, second = (_picked_up(db, settings, actor_for(courier), desk.office_id) for _ in "ab")
    opened = client.post(
        "/mobile/v1/handovers",
        headers=headers,
        json={
            "counterparty": f"office:{desk.office_id}",
            "direction": "give",
            "item_codes": [first.code, second.code, "DH000000005VN"],
            "item_fees": {first.code: 200000, second.code: 200000},
        },
    )
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert body["confirmed_by_party"] == f"office:{desk.office_id}"
    assert [(ln["item_code"], ln["outcome"]) for ln in body["lines"]] == [
        (first.code, "expected"),
        (second.code, "expected"),
    ]
    assert body["refused"][0]["reason_code"] == "unknown_item"
    # The courier cannot confirm their own offer.
    own = client.post(
        f"/mobile/v1/handovers/{body['id']}/items", headers=headers, json={"code": first.code}
    )
    assert own.status_code == 403

    desk_actor = actor_for(desk)
    handovers.receive_item(db, desk_actor, body["id"], first.code, now=datetime.now(VN))
    signature = store_media(db, PNG, "image/png", uploaded_by_user_id=desk.id)
    handovers.complete_handover(
        db, desk_actor, body["id"], item_fees={first.code: 200000, second.code: 0},
        now=datetime.now(VN), giver_signature_sha256=signature,
        receiver_signature_sha256=signature,
    )  # fmt: skip
    seen = client.get(f"/mobile/v1/handovers/{body['id']}", headers=headers).json()
    assert seen["status"] == "completed"
    assert seen["counts"] == {"confirmed": 1, "missing": 1}
    assert (_status(db, first), _status(db, second)) == ("handed_over", "picked_up")
    _, stranger = signed_in(client, db)
    assert client.get(f"/mobile/v1/handovers/{body['id']}", headers=stranger).status_code == 403


def test_a_courier_collects_results_the_desk_lists(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    case = make_case(db, settings)
    result = register_result(db, settings, Actor.system(), case, now=datetime.now(VN))
    booking = db.get(Booking, case.booking_id)
    assert booking is not None
    desk = actor_for(make_user(db, "desk_officer", office_id=booking.office_id))
    opened = handovers.open_handover(
        db,
        desk,
        giver=party("office", booking.office_id),
        receiver=party("courier", courier.id),
        item_codes=[result.code],
        now=datetime.now(VN),
    )
    waiting = client.get("/mobile/v1/handovers", headers=headers).json()
    assert [h["id"] for h in waiting] == [opened.handover.id]
    url = f"/mobile/v1/handovers/{opened.handover.id}"
    taken = client.post(f"{url}/items", headers=headers, json={"code": result.code})
    assert taken.status_code == 200, taken.text
    assert taken.json()["lines"][0]["outcome"] == "confirmed"
    unsigned = client.post(f"{url}/complete", headers=headers, json={"fees_confirmed_vnd": 0})
    assert unsigned.status_code == 422  # both sides sign the record
    signature = store_media(db, PNG, "image/png", uploaded_by_user_id=courier.id)
    done = client.post(f"{url}/complete", headers=headers, json={
        "fees_confirmed_vnd": 0, "giver_signature_sha256": signature,
        "receiver_signature_sha256": signature})  # fmt: skip
    assert done.json()["status"] == "completed"
    assert _status(db, result) == "collected"


def test_bags_open_pack_seal_and_go_in_a_handover(
    client: TestClient, db: Session, settings: Settings
) -> None:
    dispatcher, hub = signed_in(client, db, "dispatcher")
    courier, headers = signed_in(client, db)
    desk = make_user(db, "desk_officer")
    assert desk.office_id is not None and dispatcher.post_office_id is not None
    at_hub = []
    for _ in range(3):
        item = _picked_up(db, settings, actor_for(courier), desk.office_id)
        record_one(
            db,
            actor_for(courier),
            ScanCommand(
                kind="handover_offered",
                code=item.code,
                occurred_at=datetime.now(VN),
                to_party=party("post_office", dispatcher.post_office_id),
            ),
        )
        record_one(
            db,
            actor_for(dispatcher),
            ScanCommand(kind="handover_confirmed", code=item.code, occurred_at=datetime.now(VN)),
        )
        at_hub.append(item)
    assert _status(db, at_hub[0]) == "at_post_office"

    bag = client.post("/mobile/v1/bags", headers=hub).json()
    assert bag["code"].startswith("DB") and bag["status"] == "open"
    url = f"/mobile/v1/bags/{bag['code']}"
    for item in at_hub:
        packed = client.post(f"{url}/items", headers=hub, json={"code": item.code}).json()
        assert packed["outcome"] == "accepted", packed
    out = client.post(f"{url}/items/remove", headers=hub, json={"code": at_hub[1].code}).json()
    assert out["outcome"] == "accepted"
    not_inside = client.post(f"{url}/items/remove", headers=hub, json={"code": at_hub[1].code})
    assert (not_inside.status_code, not_inside.json()["field"]) == (422, "code")
    sealed = client.post(f"{url}/seal", headers=hub, json={"seal_number": "T-778"}).json()
    inside = sorted([at_hub[0].code, at_hub[2].code])
    assert (sealed["status"], sealed["items"]) == ("sealed", inside)
    late = client.post(f"{url}/items", headers=hub, json={"code": at_hub[1].code}).json()
    assert (late["outcome"], late["reason_code"]) == ("exception", "bag_sealed")
    # The seal is in each item's own chain, not only on the bag.
    for item in (at_hub[0], at_hub[2]):
        last = db.scalars(
            select(CustodyEvent).where(CustodyEvent.item_id == item.id)
            .order_by(CustodyEvent.seq.desc())
        ).first()  # fmt: skip
        assert last is not None and last.kind == "bag_sealed", item.code
        assert last.details["seal_number"] == "T-778" and last.bag_id is not None

    # Out of a sealed bag only with the seal number read off it; a wrong one is kept.
    removal = {"code": at_hub[2].code}
    unread = client.post(f"{url}/items/remove", headers=hub, json=removal).json()
    assert (unread["outcome"], unread["field"]) == ("rejected", "details.seal_number")
    wrong = client.post(f"{url}/items/remove", headers=hub, json={**removal, "seal_number": "T-7"})
    assert (wrong.json()["outcome"], wrong.json()["reason_code"]) == ("exception", "conflict")
    assert "T-778" not in wrong.json()["detail"]  # the answer does not give the seal away
    # Someone who may not touch the item learns nothing about the seal and leaves no exception.
    stranger = make_user(db, "courier", post_office_id=make_post_office(db).id)
    guess = event("unbagged", at_hub[2].code, details={"seal_number": "T-1"})
    _, stranger_headers = stranger, bearer(login(client, stranger)["token"])
    refused = scans(client, stranger_headers, guess)["results"][0]
    assert (refused["outcome"], refused["reason_code"]) == ("rejected", "not_authorised")
    # Sealing is the seal endpoint's alone: sent as a scan, it is refused and the bag unchanged.
    forged = scans(client, hub, event("bag_sealed", bag["code"], details={"seal_number": "X"}))
    assert (forged["results"][0]["outcome"], forged["results"][0]["field"]) == (
        "rejected", "kind",
    )  # fmt: skip
    assert client.get(url, headers=hub).json()["seal_number"] == "T-778"
    read = {**removal, "seal_number": "T-778"}
    assert client.post(f"{url}/items/remove", headers=hub, json=read).json()["outcome"] == (
        "accepted"
    )

    # The hub hands the sealed bag to the courier, who scans what is inside.
    opened = client.post(
        "/mobile/v1/handovers",
        headers=hub,
        json={
            "counterparty": f"courier:{courier.id}",
            "direction": "give",
            "bag_codes": [bag["code"]],
        },
    )
    assert opened.status_code == 201, opened.text
    handover = opened.json()
    assert [ln["item_code"] for ln in handover["lines"]] == [at_hub[0].code]
    received = client.post(
        f"/mobile/v1/handovers/{handover['id']}/items",
        headers=headers,
        json={"code": at_hub[0].code},
    )
    assert received.json()["lines"][0]["outcome"] == "confirmed"
    assert _status(db, at_hub[0]) == "in_transit"


def test_a_courier_asks_the_desk_for_results_and_the_desk_confirms(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, headers = signed_in(client, db)
    case = make_case(db, settings)
    result = register_result(db, settings, Actor.system(), case, now=datetime.now(VN))
    booking = db.get(Booking, case.booking_id)
    assert booking is not None
    asked = client.post(
        "/mobile/v1/handovers",
        headers=headers,
        json={
            "counterparty": f"office:{booking.office_id}",
            "direction": "collect",
            "item_codes": [result.code],
        },
    )
    assert asked.status_code == 201, asked.text
    handover = asked.json()
    assert (handover["from_party"], handover["to_party"]) == (
        f"office:{booking.office_id}",
        f"courier:{courier.id}",
    )
    assert handover["confirmed_by_party"] == f"office:{booking.office_id}"
    assert _status(db, result) == "result_registered"  # nothing moves until the desk confirms
    desk = actor_for(make_user(db, "desk_officer", office_id=booking.office_id))
    handovers.receive_item(db, desk, handover["id"], result.code, now=datetime.now(VN))
    assert _status(db, result) == "collected"
