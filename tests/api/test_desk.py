"""The desk pages as plain forms (no JavaScript): receive, discrepancies, fees, codes, results."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote_plus

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.custody.models import CustodyEvent, Item, ItemState
from core.custody.parties import party
from core.desk.models import DeskAction
from core.handovers.models import Handover
from core.handovers.service import open_handover
from core.identity.models import User
from core.identity.service import actor_for, issue_token
from core.media.models import MediaObject
from core.settings import Settings
from tests.factories import make_case, make_office, make_user
from tests.journey import hand_to_office, pick_up
from tests.labels.samples import signature_png
from vntime import VN

# A dossier code carries the day the agency received the dossier: today, in Vietnam.
DAY = f"{datetime.now(VN):%y%m%d}"
DUE = f"{datetime.now(VN) + timedelta(days=10):%Y-%m-%d}"


def _sign_in(client: TestClient, db: Session, settings: Settings, user: User) -> None:
    client.cookies.set("hoso_session", issue_token(db, settings, user, now=datetime.now(UTC)).token)


def _signed() -> dict[str, str]:
    """Both drawn signatures, as the page's pads post them."""
    url = "data:image/png;base64," + base64.b64encode(signature_png("Ký")).decode()
    return {"courier_signature": url, "desk_signature": url}


def _state(db: Session, code: str) -> ItemState:
    db.expire_all()
    item = db.scalar(select(Item).where(Item.code == code))
    assert item is not None
    state = db.get(ItemState, item.id)
    assert state is not None
    return state


def test_receive_a_handover_by_form_with_extra_missing_damage_fees_and_signatures(
    client: TestClient, db: Session, settings: Settings
) -> None:
    office = make_office(db)
    desk = make_user(db, "desk_officer", office_id=office.id, full_name="Lê Thị Một Cửa")
    courier = make_user(db, "courier", full_name="Phạm Văn Bưu")
    codes = [pick_up(db, make_case(db, settings, office=office), courier) for _ in range(4)]
    stray = pick_up(db, make_case(db, settings, office=office), courier)
    opened = open_handover(db, actor_for(courier), giver=party("courier", courier.id),
                           receiver=party("office", office.id), item_codes=codes,
                           now=datetime.now(UTC),
                           item_fees=dict(zip(codes, (200000, 150000, 50000, 50000),
                                              strict=True)))  # fmt: skip
    hid = opened.handover.id
    _sign_in(client, db, settings, desk)

    page = client.get("/desk")
    assert page.status_code == 200
    assert opened.handover.code in page.text and "Phạm Văn Bưu" in page.text
    assert "Nhận bàn giao" in page.text and "đang bàn giao" in page.text
    english = client.get("/desk", params={"lang": "en"}).text
    assert "Open hand-overs" in english and "Dossiers expected today, by courier" in english
    client.get("/desk", params={"lang": "vi"})  # the choice is remembered; back to Vietnamese

    # A scanner types the code (with spaces, lower case) and Enter: the form posts.
    scanned = client.post(f"/desk/handovers/{hid}/scan", data={"code": codes[0].lower()},
                          follow_redirects=False)  # fmt: skip
    assert scanned.status_code == 303 and "outcome=confirmed" in scanned.headers["location"]
    assert "Đã nhận" in client.get(scanned.headers["location"]).text
    as_json = client.post(f"/desk/handovers/{hid}/scan", data={"code": codes[1]},
                          headers={"Accept": "application/json"})  # fmt: skip
    assert as_json.json()["outcome"] == "confirmed"
    extra = client.post(f"/desk/handovers/{hid}/scan", data={"code": stray},
                        headers={"Accept": "application/json"})  # fmt: skip
    assert extra.json()["outcome"] == "extra" and "THỪA" in extra.json()["message_vi"]
    bad = client.post(f"/desk/handovers/{hid}/scan", data={"code": "DH000000000VN"},
                      headers={"Accept": "application/json"})  # fmt: skip
    assert bad.status_code == 422 and bad.json()["field"] == "code"

    # The third arrives with its seal broken; the desk refuses it.
    marked = client.post(f"/desk/handovers/{hid}/lines", data={"code": codes[2],
                         "outcome": "seal_broken", "reason": "Niêm phong bị rách"},
                         follow_redirects=False)  # fmt: skip
    assert marked.status_code == 303 and "outcome=marked" in marked.headers["location"]

    png = signature_png("Bưu")
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    # Without the courier's drawn signature the record cannot be completed.
    unsigned = client.post(f"/desk/handovers/{hid}/complete", data={
        "fee_item": codes, "fee_amount": ["200.000", "150.000", "50.000", "0"],
        "desk_signature": data_url,
    }, follow_redirects=False)  # fmt: skip
    assert "field=courier_signature" in unsigned.headers["location"]
    assert db.get(Handover, hid).status == "open"  # type: ignore[union-attr]
    done = client.post(f"/desk/handovers/{hid}/complete", data={
        "fee_item": codes, "fee_amount": ["200.000", "150.000", "50.000", "0"],
        "courier_signature": data_url, "desk_signature": data_url,
    }, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and "outcome=completed" in done.headers["location"]
    record = client.get(f"/desk/handovers/{hid}").text
    assert 'id="fees-mismatch"' in record and "-50.000" in record
    assert 'data-outcome="missing"' in record and 'data-outcome="extra"' in record

    assert _state(db, codes[0]).custodian == party("office", office.id)
    assert _state(db, codes[1]).status == "handed_over"
    assert _state(db, codes[2]).custodian == party("courier", courier.id)  # refused
    assert _state(db, codes[3]).custodian == party("courier", courier.id)  # missing
    assert _state(db, stray).custodian == party("courier", courier.id)  # extra: unchanged
    handover = db.get(Handover, hid)
    assert handover is not None and handover.fees_confirmed_vnd == 400000
    assert handover.giver_signature_sha256 is not None
    assert db.get(MediaObject, handover.giver_signature_sha256) is not None
    # Every move the desk made is a ledger event with the officer as actor.
    actors = db.scalars(
        select(CustodyEvent.actor_user_id)
        .join(Item, Item.id == CustodyEvent.item_id)
        .where(Item.code.in_(codes), CustodyEvent.kind.in_(
            ("handover_confirmed", "handover_declined", "damage_noted")))
    ).all()  # fmt: skip
    assert len(actors) == 5 and set(actors) == {desk.id}


def test_dossier_codes_in_bulk_and_results_registered_at_the_desk(
    client: TestClient, db: Session, settings: Settings
) -> None:
    office = make_office(db)
    desk = make_user(db, "desk_officer", office_id=office.id)
    courier = make_user(db, "courier")
    cases = [make_case(db, settings, office=office) for _ in range(2)]
    codes = [hand_to_office(db, case, courier, desk) for case in cases]
    db.commit()
    _sign_in(client, db, settings, desk)

    wrong = client.post("/desk/codes", data={"item_id": codes[0], "agency_dossier_code": "123"},
                        follow_redirects=False)  # fmt: skip
    assert "field=agency_dossier_code" in wrong.headers["location"]
    shown = client.get(wrong.headers["location"])
    assert shown.status_code == 422 and "Không ghi nhận được" in shown.text
    for n, code in enumerate(codes, start=1):
        ok = client.post("/desk/codes", data={"item_id": code,
                         "agency_dossier_code": f"000.00.24.H05-{DAY}-000{n}",
                         "appointment_date": DUE}, follow_redirects=False)  # fmt: skip
        assert "done=" in ok.headers["location"], ok.headers["location"]
    listing = client.get("/desk/codes").text
    assert f"000.00.24.H05-{DAY}-0001" in listing and f"000.00.24.H05-{DAY}-0002" in listing
    db.expire_all()
    first = db.get(Case, cases[0].id)
    assert first is not None and first.agency_dossier_code == f"000.00.24.H05-{DAY}-0001"
    audit = db.scalars(select(DeskAction).where(DeskAction.case_id == cases[0].id)).one()
    assert (audit.actor_user_id, audit.kind) == (desk.id, "agency_code_recorded")

    # A result, by scanning the dossier code.
    registered = client.post("/desk/results", data={"code": f"000.00.24.H05-{DAY}-0001"},
                             follow_redirects=False)  # fmt: skip
    assert "registered=" in registered.headers["location"]
    result_code = registered.headers["location"].split("registered=")[1]
    page = client.get(registered.headers["location"]).text
    assert f"/print/labels/{result_code}.pdf" in page
    state = _state(db, result_code)
    assert (state.status, state.custodian) == ("result_registered", party("office", office.id))
    event = db.scalar(select(CustodyEvent).where(CustodyEvent.item_id == state.item_id))
    assert event is not None and event.actor_user_id == desk.id
    assert client.get("/desk/results").text.count(f"/print/labels/{result_code}.pdf") == 1
    again = client.post("/desk/results", data={"code": codes[0]}, follow_redirects=False)
    assert "đã có bưu gửi kết quả" in unquote_plus(again.headers["location"])


def test_a_desk_officer_cannot_see_or_act_on_another_offices_items(
    client: TestClient, db: Session, settings: Settings
) -> None:
    office = make_office(db)
    courier = make_user(db, "courier")
    case = make_case(db, settings, office=office)
    code = pick_up(db, case, courier)
    opened = open_handover(db, actor_for(courier), giver=party("courier", courier.id),
                           receiver=party("office", office.id), item_codes=[code],
                           now=datetime.now(UTC))  # fmt: skip
    stranger = make_user(db, "desk_officer")  # another office
    db.commit()
    _sign_in(client, db, settings, stranger)

    page = client.get("/desk").text
    assert opened.handover.code not in page and code not in page.replace(" ", "")
    refused = client.get(f"/desk/handovers/{opened.handover.id}")
    assert refused.status_code == 403 and "bộ phận một cửa khác" in refused.text
    scan = client.post(f"/desk/handovers/{opened.handover.id}/scan", data={"code": code},
                       headers={"Accept": "application/json"})  # fmt: skip
    # Read in the page's language (Vietnamese here), never the English detail.
    assert scan.status_code == 422 and "bộ phận một cửa khác" in scan.json()["error"]
    assert client.get(f"/desk/cases/{case.id}").status_code == 404
    found = client.post("/desk/find", data={"code": code}, follow_redirects=False)
    assert "không thuộc bộ phận của bạn" in unquote_plus(found.headers["location"])
    coded = client.post("/desk/codes", data={"item_id": code,
                        "agency_dossier_code": f"000.00.24.H05-{DAY}-0009"},
                        follow_redirects=False)  # fmt: skip
    assert "không thuộc bộ phận của bạn" in unquote_plus(coded.headers["location"])
    assert _state(db, code).pending_to == party("office", office.id)  # nothing moved


def test_the_desk_needs_a_signed_in_desk_officer(
    client: TestClient, db: Session, settings: Settings
) -> None:
    anonymous = client.get("/desk", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/desk"
    courier = make_user(db, "courier")
    _sign_in(client, db, settings, courier)
    db.commit()
    refused = client.get("/desk")
    assert refused.status_code == 403 and "Cán bộ bộ phận một cửa" in refused.text


def test_results_collected_by_a_courier_and_returns_confirmed_by_the_desk(
    client: TestClient, db: Session, settings: Settings
) -> None:
    from core.cases.service import register_result
    from core.custody.service import record_one
    from tests.core.custody.helpers import scan

    office = make_office(db)
    desk = make_user(db, "desk_officer", office_id=office.id)
    courier = make_user(db, "courier", full_name="Võ Văn Phát")
    case = make_case(db, settings, office=office)
    hand_to_office(db, case, courier, desk)
    result = register_result(db, settings, actor_for(desk), case, now=datetime.now(UTC)).code
    case.delivery_courier_id = courier.id
    db.commit()
    _sign_in(client, db, settings, desk)
    assert result in client.get("/desk/results").text.replace(" ", "")

    # The courier asks for the result on their phone; the desk confirms by scanning it.
    office_party, courier_party = party("office", office.id), party("courier", courier.id)
    collect = open_handover(db, actor_for(courier), giver=office_party, receiver=courier_party,
                            item_codes=[result], now=datetime.now(UTC))  # fmt: skip
    db.commit()
    page = client.get("/desk").text
    assert collect.handover.code in page and "Một cửa giao cho bưu tá" in page
    client.post(f"/desk/handovers/{collect.handover.id}/scan", data={"code": result})
    done = client.post(f"/desk/handovers/{collect.handover.id}/complete",
                       data={"fees_confirmed_vnd": "0", **_signed()},
                       follow_redirects=False)  # fmt: skip
    assert "outcome=completed" in done.headers["location"]
    state = _state(db, result)
    assert (state.status, state.custodian) == ("collected", courier_party)

    # Three failed attempts; the result comes back with their record and the desk confirms.
    for _ in range(3):
        record_one(db, actor_for(courier), scan("out_for_delivery", result))
        absent = {"reason_code": "addressee_absent"}
        record_one(db, actor_for(courier), scan("attempt_failed", result, details=absent))
    back = open_handover(db, actor_for(courier), giver=courier_party, receiver=office_party,
                         item_codes=[result], now=datetime.now(UTC))  # fmt: skip
    db.commit()
    results_page = client.get("/desk/results").text
    assert results_page.count("Người nhận vắng nhà") == 3
    handover_page = client.get(f"/desk/handovers/{back.handover.id}").text
    assert handover_page.count("Người nhận vắng nhà") == 3  # the attempts' record travels with it
    client.post(f"/desk/handovers/{back.handover.id}/scan", data={"code": result})
    done = client.post(f"/desk/handovers/{back.handover.id}/complete",
                       data={"fees_confirmed_vnd": "0", **_signed()},
                       follow_redirects=False)  # fmt: skip
    assert "outcome=completed" in done.headers["location"]
    state = _state(db, result)
    assert (state.status, state.custodian) == ("returned_to_office", office_party)


def test_a_signed_record_is_corrected_by_a_new_one_from_the_page(
    client: TestClient, db: Session, settings: Settings
) -> None:
    office = make_office(db)
    desk = make_user(db, "desk_officer", office_id=office.id)
    courier = make_user(db, "courier")
    codes = [pick_up(db, make_case(db, settings, office=office), courier) for _ in range(2)]
    opened = open_handover(db, actor_for(courier), giver=party("courier", courier.id),
                           receiver=party("office", office.id), item_codes=codes,
                           now=datetime.now(UTC),
                           item_fees=dict.fromkeys(codes, 100000))  # fmt: skip
    hid = opened.handover.id
    _sign_in(client, db, settings, desk)
    for code in codes:
        client.post(f"/desk/handovers/{hid}/scan", data={"code": code})
    done = client.post(f"/desk/handovers/{hid}/complete", data={
        "fee_item": codes, "fee_amount": ["100.000", "50.000"], **_signed()},
        follow_redirects=False)  # fmt: skip
    assert "outcome=completed" in done.headers["location"]
    page = client.get(f"/desk/handovers/{hid}").text
    assert 'id="correct-form"' in page and "Lập biên bản điều chỉnh" in page

    # Another office's desk cannot correct it; without a reason it is refused too, nothing
    # made, the field named.
    other = make_user(db, "desk_officer", office_id=make_office(db).id)
    _sign_in(client, db, settings, other)
    elsewhere = client.post(f"/desk/handovers/{hid}/correct", data={
        "fee_item": codes, "fee_amount": ["100.000", "100.000"], "reason": "x", **_signed()},
        follow_redirects=False)  # fmt: skip
    assert "field=handover_id" in elsewhere.headers["location"]
    _sign_in(client, db, settings, desk)
    no_reason = client.post(f"/desk/handovers/{hid}/correct", data={
        "fee_item": codes, "fee_amount": ["100.000", "100.000"], **_signed()},
        follow_redirects=False)  # fmt: skip
    assert "field=reason" in no_reason.headers["location"]
    assert db.scalar(select(Handover).where(Handover.supersedes_id == hid)) is None

    corrected = client.post(f"/desk/handovers/{hid}/correct", data={
        "fee_item": codes, "fee_amount": ["100.000", "100.000"],
        "reason": "Đếm lại tiền: hồ sơ thứ hai đủ 100.000 đ", **_signed()},
        follow_redirects=False)  # fmt: skip
    assert corrected.status_code == 303 and "outcome=corrected" in corrected.headers["location"]
    record = db.scalar(select(Handover).where(Handover.supersedes_id == hid))
    assert record is not None and record.fees_confirmed_vnd == 200000
    assert f"/desk/handovers/{record.id}" in corrected.headers["location"]
    new_page = client.get(corrected.headers["location"]).text
    original = db.get(Handover, hid)
    assert original is not None and original.fees_confirmed_vnd == 150000
    assert 'id="corrects"' in new_page and original.code in new_page
    assert "hồ sơ thứ hai đủ" in new_page
    old_page = client.get(f"/desk/handovers/{hid}").text
    assert 'id="superseded"' in old_page and record.code in old_page
    assert 'id="correct-form"' not in old_page  # only the latest record is corrected
    english = client.get(f"/desk/handovers/{hid}", params={"lang": "en"}).text
    assert "This record was corrected by" in english
    client.get("/desk", params={"lang": "vi"})
    # Both records print; the new one names the record it corrects and why.
    assert client.get(f"/print/handovers/{record.id}.pdf").status_code == 200
