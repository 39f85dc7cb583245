"""One test per stage of Circular 17/2017/TT-BTTTT art. 5, each driven through the public
HTTP interface (the citizen's API, the courier and dispatcher phones' API, the desk's pages)
and each checking the paper that stage produces (its PDF's text) and the ledger event that
carries its evidence.

Every test drives the stages before its own, so the last stage of each QĐ 45/2016 option is a
whole journey: send (booking to dossier code), receive (booking by dossier code to delivery),
both (booking to delivery). A check of a paper's content is its own test beside the journey.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import Booking, Case, ReceiveRequest
from core.custody.models import CustodyEvent, Item, ItemState
from core.custody.parties import party
from core.desk.models import DeskAction
from core.identity.models import User
from core.identity.service import issue_token
from core.settings import Settings
from edge.deps import get_now
from labels.s10 import format_item_id
from labels.text import format_vnd
from tests.api.citizen_helpers import fresh_phone, sign_in
from tests.core.booking.helpers import ADDRESS, CCCD_FEMALE_1990, FIRST_WINDOW, NOW, make_area
from tests.factories import make_procedure, make_user
from tests.labels.decode import pdf_text
from tests.labels.samples import signature_png
from tests.mobile_api.helpers import bearer, login
from vntime import VN

DOCUMENTS: list[dict[str, Any]] = [
    {"name_vi": "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp", "name_en": "Request form",
     "form": "original", "quantity": 1},
    {"name_vi": "Giấy khai sinh", "name_en": "Birth certificate", "form": "certified_copy",
     "quantity": 1},
]  # fmt: skip
SEAL = "NP-2026-017017"
CODE = "000.00.46.H30-261124-0017"  # Huế (46), the test area's province
STAGES = (
    "booking", "pickup", "seal", "post_office", "desk_handover", "dossier_code",
    "result_collected", "delivered",
)  # fmt: skip
DOSSIER_STAGES = {"pickup", "seal", "post_office", "desk_handover", "dossier_code"}


def _png_data_url(name: str) -> str:
    return "data:image/png;base64," + base64.b64encode(signature_png(name)).decode()


@dataclass
class Journey:
    """One case, moved stage by stage the way the people at each stage move it."""

    client: TestClient
    db: Session
    settings: Settings
    option: str
    clock: list[datetime] = field(default_factory=lambda: [NOW])
    done: list[str] = field(default_factory=list)
    case_id: int = 0
    dossier: str = ""
    result: str = ""
    handovers: dict[str, int] = field(default_factory=dict)
    papers: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        app: Any = self.client.app
        app.dependency_overrides[get_now] = lambda: self.clock[0]
        self.area = make_area(self.db)
        self.procedure = make_procedure(self.db, documents=DOCUMENTS, fee_vnd=200_000)
        self.courier = self.area.couriers[0]
        self.desk = make_user(self.db, "desk_officer", office_id=self.area.office.id,
                              full_name="Lê Thị Một Cửa")  # fmt: skip
        self.dispatcher = make_user(self.db, "dispatcher", post_office_id=self.area.post_office.id,
                                    full_name="Trần Văn Điều Phối")  # fmt: skip
        self.citizen_app = TestClient(app)
        self.desk_page = self._pages(self.desk)
        self.dispatch_page = self._pages(self.dispatcher)
        self.courier_phone = bearer(login(self.client, self.courier)["token"])
        self.dispatch_phone = bearer(login(self.client, self.dispatcher)["token"])
        self.office = party("office", self.area.office.id)
        self.post = party("post_office", self.area.post_office.id)
        self.courier_party = party("courier", self.courier.id)

    def _pages(self, user: User) -> TestClient:
        pages = TestClient(self.client.app, follow_redirects=False)
        token = issue_token(self.db, self.settings, user, now=datetime.now(VN)).token
        pages.cookies.set("hoso_session", token)
        return pages

    def at(self, day: int, hour: int, minute: int = 0) -> datetime:
        """Set the clock to ``day`` days after the booking, at this Vietnam hour. A new day
        starts with the phones signing in again, as a shift does (tokens last a shift)."""
        new_day = self.clock[0].date() != (NOW + timedelta(days=day)).date()
        self.clock[0] = NOW.replace(hour=hour, minute=minute) + timedelta(days=day)
        if new_day:
            self.courier_phone = bearer(login(self.client, self.courier)["token"])
            self.dispatch_phone = bearer(login(self.client, self.dispatcher)["token"])
        return self.clock[0]

    def run_until(self, stage: str) -> None:
        for step in STAGES[: STAGES.index(stage)]:
            if self.applies(step):
                getattr(self, step)()

    def applies(self, stage: str) -> bool:
        if stage in DOSSIER_STAGES:
            return self.option != "receive"
        if stage in ("result_collected", "delivered"):
            return self.option != "send"
        return True

    # -- the stages ---------------------------------------------------------------------------

    def booking(self) -> None:
        self.at(0, 7, 0)
        self.phone = fresh_phone()
        sign_in(self.citizen_app, self.db, self.phone)
        body: dict[str, Any] = {
            "service_option": self.option, "procedure_id": self.procedure.id, "address": ADDRESS,
            "office_id": self.area.office.id, "pickup_window_start": FIRST_WINDOW.isoformat(),
            "contact_name": "Trần Thị Hoa", "contact_phone": "0912345678",
            "cccd": CCCD_FEMALE_1990, "citizen_sex": "female", "citizen_birth_year": 1990,
            "payment_method": "cash", "pay_fee_on_behalf": self.option != "receive",
        }  # fmt: skip
        if self.option == "receive":
            body["receive_reference"] = CODE
        answer = self.citizen_app.post("/api/v1/bookings", json=body)
        assert answer.status_code == 201, answer.text
        case = answer.json()
        self.case_id = case["case_id"]
        self.dossier = case["legs"][0]["item_id"] if case["legs"] else ""
        self.quote_total = case["quote"]["total_vnd"]
        # A booking gets a quote, not a receipt: nothing has been paid yet (issue 14).
        quote = self.citizen_app.get(f"/api/v1/my/cases/{self.case_id}/quote.pdf")
        assert quote.status_code == 200, quote.text
        self.papers["quote"] = quote.content
        self.done.append("booking")

    def _upload(self, phone: dict[str, str], png: bytes) -> str:
        digest = hashlib.sha256(png).hexdigest()
        stored = self.client.put(f"/mobile/v1/media/{digest}", content=png,
                                 headers={**phone, "Content-Type": "image/png"})  # fmt: skip
        assert stored.status_code == 201, stored.text
        return digest

    def _door(self, **fields: Any) -> dict[str, Any]:
        return {"client_event_id": str(uuid.uuid4()), "occurred_at": self.clock[0].isoformat(),
                "lat": self.area.commune.lat, "lon": self.area.commune.lon,
                "gps_accuracy_m": 10.0, **fields}  # fmt: skip

    def pickup(self) -> None:
        self.at(0, 8, 40)
        citizen_signature = self._upload(self.courier_phone, signature_png("Hoa"))
        courier_signature = self._upload(self.courier_phone, signature_png(self.courier.full_name))
        answer = self.client.post("/mobile/v1/pickups", headers=self.courier_phone, json=self._door(
            code=self.dossier,
            checklist=[{"name": d["name_vi"], "form": d["form"], "present": True}
                       for d in DOCUMENTS],
            seal_number=SEAL, fees_collected_vnd=self.quote_total, payment_method="cash",
            citizen_signature_sha256=citizen_signature,
            courier_signature_sha256=courier_signature,
        ))  # fmt: skip
        assert answer.status_code == 200, answer.text
        self.signatures = (citizen_signature, courier_signature)
        slip = self.client.get(f"/mobile/v1/cases/{self.case_id}/slip.pdf",
                               headers=self.courier_phone)  # fmt: skip
        assert slip.status_code == 200, slip.text
        self.papers["slip"] = slip.content

    def seal(self) -> None:
        """Sealed at the door with the pickup (the seal number is in the pickup event)."""

    def _phone_handover(
        self, phone: dict[str, str], counterparty: str, direction: str, codes: list[str],
        fees: int = 0,
    ) -> int:  # fmt: skip
        opened = self.client.post("/mobile/v1/handovers", headers=phone, json={
            "counterparty": counterparty, "direction": direction, "item_codes": codes,
            "fees_declared_vnd": fees,
        })  # fmt: skip
        assert opened.status_code == 201, opened.text
        handover_id: int = opened.json()["id"]
        return handover_id

    def _dispatcher_confirms(self, handover_id: int, codes: list[str]) -> None:
        for code in codes:
            scanned = self.client.post(
                f"/mobile/v1/handovers/{handover_id}/items",
                headers=self.dispatch_phone, json={"code": code},
            )  # fmt: skip
            assert scanned.status_code == 200, scanned.text
        signatures = [self._upload(self.dispatch_phone, signature_png(n))
                      for n in (self.courier.full_name, self.dispatcher.full_name)]  # fmt: skip
        done = self.client.post(f"/mobile/v1/handovers/{handover_id}/complete",
                                headers=self.dispatch_phone,
                                json={"fees_confirmed_vnd": 0,
                                      "giver_signature_sha256": signatures[0],
                                      "receiver_signature_sha256": signatures[1]})  # fmt: skip
        assert done.status_code == 200, done.text

    def _desk_confirms(self, handover_id: int, codes: list[str], fees: int) -> None:
        for code in codes:
            scanned = self.desk_page.post(
                f"/desk/handovers/{handover_id}/scan",
                data={"code": code}, headers={"Accept": "application/json"},
            )  # fmt: skip
            assert scanned.json()["outcome"] == "confirmed", scanned.text
        completed = self.desk_page.post(f"/desk/handovers/{handover_id}/complete", data={
            "fees_confirmed_vnd": str(fees),
            "courier_signature": _png_data_url(self.courier.full_name),
            "desk_signature": _png_data_url(self.desk.full_name),
        })  # fmt: skip
        assert "outcome=completed" in completed.headers["location"], completed.headers
        record = self.desk_page.get(f"/print/handovers/{handover_id}.pdf")
        assert record.status_code == 200, record.text
        self.papers[f"record:{handover_id}"] = record.content

    def post_office(self) -> None:
        """End of the round: the courier hands the dossier in at the post office."""
        self.at(0, 16, 30)
        handover_id = self._phone_handover(self.courier_phone, self.post, "give", [self.dossier])
        self._dispatcher_confirms(handover_id, [self.dossier])
        self.handovers["post_office"] = handover_id
        record = self.dispatch_page.get(f"/print/handovers/{handover_id}.pdf")
        assert record.status_code == 200, record.text
        self.papers["post_office_record"] = record.content

    def desk_handover(self) -> None:
        """Next morning the courier takes it from the post office to the desk."""
        self.at(1, 7, 45)
        taken = self._phone_handover(self.courier_phone, self.post, "collect", [self.dossier])
        self._dispatcher_confirms(taken, [self.dossier])
        self.at(1, 8, 30)
        handover_id = self._phone_handover(self.courier_phone, self.office, "give", [self.dossier],
                                           fees=self.procedure.fee_vnd)  # fmt: skip
        self._desk_confirms(handover_id, [self.dossier], self.procedure.fee_vnd)
        self.handovers["desk"] = handover_id

    def dossier_code(self) -> None:
        self.at(1, 9, 0)
        self.appointment = date(2026, 11, 27)
        saved = self.desk_page.post("/desk/codes", data={
            "item_id": self.dossier, "agency_dossier_code": CODE,
            "appointment_date": self.appointment.isoformat(),
        })  # fmt: skip
        assert "done=" in saved.headers["location"], saved.headers

    def result_collected(self) -> None:
        """The office has the result: the desk registers it by the dossier code, prints its
        label, and the courier collects it at the desk."""
        self.at(3, 14, 0)
        registered = self.desk_page.post("/desk/results", data={"code": CODE})
        location = registered.headers["location"]
        assert "registered=" in location, location
        self.result = location.split("registered=")[1].split("&")[0]
        label = self.desk_page.get(f"/print/labels/{self.result}.pdf")
        assert label.status_code == 200, label.text
        self.papers["label"] = label.content
        self.at(3, 15, 0)
        handover_id = self._phone_handover(self.courier_phone, self.office, "collect",
                                           [self.result])  # fmt: skip
        self._desk_confirms(handover_id, [self.result], 0)
        self.handovers["result"] = handover_id

    def delivered(self) -> None:
        self.at(4, 9, 0)
        out = self.client.post("/mobile/v1/scans", headers=self.courier_phone, json={"events": [
            self._door(kind="out_for_delivery", code=self.result)]})  # fmt: skip
        assert out.json()["accepted"] == 1, out.text
        self.at(4, 9, 40)
        qr = f"{CCCD_FEMALE_1990}||Trần Thị Hoa|01011990|Nữ|{ADDRESS}|15042021"
        answer = self.client.post("/mobile/v1/deliveries", headers=self.courier_phone,
                                  json=self._door(
            code=self.result, proof="cccd_qr", cccd_qr=qr,
            signature_sha256=self._upload(self.courier_phone, signature_png("Hoa nhận")),
            photo_sha256=self._upload(self.courier_phone, signature_png("ảnh")),
        ))  # fmt: skip
        assert answer.status_code == 200, answer.text

    # -- reading back ------------------------------------------------------------------------

    def text(self, paper: str) -> str:
        return "\n".join(pdf_text(self.papers[paper]))

    def last_event(self, code: str, kind: str) -> CustodyEvent:
        self.db.expire_all()
        event = self.db.scalar(
            select(CustodyEvent).join(Item, Item.id == CustodyEvent.item_id)
            .where(Item.code == code, CustodyEvent.kind == kind)
            .order_by(CustodyEvent.seq.desc()).limit(1)
        )  # fmt: skip
        assert event is not None, f"no {kind} event for {code}"
        return event

    def state(self, code: str) -> ItemState:
        self.db.expire_all()
        state = self.db.scalar(
            select(ItemState).join(Item, Item.id == ItemState.item_id).where(Item.code == code)
        )
        assert state is not None
        return state


def _journey(
    client: TestClient, db: Session, settings: Settings, option: str, stage: str
) -> Journey:
    journey = Journey(client, db, settings, option)
    journey.run_until(stage)
    getattr(journey, stage)()
    return journey


SEND_AND_BOTH = pytest.mark.parametrize("option", ["send", "both"])
RECEIVE_AND_BOTH = pytest.mark.parametrize("option", ["receive", "both"])


# -- 1. guidance and booking -------------------------------------------------------------------


def _squeezed(text: str) -> str:
    """A paper's text without spaces or line breaks: a table cell wraps a long value anywhere."""
    return "".join(text.split())


@pytest.mark.parametrize("option", ["send", "receive", "both"])
def test_stage_1_booking(client: TestClient, db: Session, settings: Settings, option: str) -> None:
    journey = _journey(client, db, settings, option, "booking")
    quote = journey.text("quote")
    assert "BÁO GIÁ" in quote and "BIÊN LAI" not in quote and "Trần Thị Hoa" in quote
    assert format_vnd(journey.quote_total).replace(" ₫", "") in quote
    if option == "receive":
        # Nothing travels yet: the case waits for the result under the citizen's code.
        request = db.get(ReceiveRequest, journey.case_id)
        assert request is not None and (request.reference, request.reference_kind) == (
            CODE, "dossier_code",
        )  # fmt: skip
        return
    assert format_item_id(journey.dossier) in quote
    booked = journey.last_event(journey.dossier, "booked")
    citizen = db.scalar(select(Booking.citizen_user_id).join(Case, Case.booking_id == Booking.id)
                        .where(Case.id == journey.case_id))  # fmt: skip
    assert booked.actor_party == party("citizen", f"user-{citizen}")
    assert journey.state(journey.dossier).custodian.startswith("citizen:")


def test_stage_1_the_booking_quote_prints_the_vietnam_time(
    client: TestClient, db: Session, settings: Settings
) -> None:
    journey = _journey(client, db, settings, "both", "booking")
    booking = db.scalar(select(Booking).join(Case, Case.booking_id == Booking.id)
                        .where(Case.id == journey.case_id))  # fmt: skip
    assert booking is not None
    local = booking.created_at.astimezone(VN)
    assert f"{local:%H:%M}" in journey.text("quote")


# -- 2. pickup at the door: checklist, dossier slip, both signatures ---------------------------


@SEND_AND_BOTH
def test_stage_2_pickup(client: TestClient, db: Session, settings: Settings, option: str) -> None:
    journey = _journey(client, db, settings, option, "pickup")
    picked = journey.last_event(journey.dossier, "picked_up")
    assert picked.actor_party == journey.courier_party and picked.upu_code == "EMA"
    assert [(c["name"], c["form"], c["present"]) for c in picked.details["checklist"]] == [
        (d["name_vi"], d["form"], True) for d in DOCUMENTS
    ]
    assert picked.details["fees_collected_vnd"] == journey.quote_total
    assert (picked.evidence["citizen_signature_sha256"],
            picked.evidence["courier_signature_sha256"]) == journey.signatures  # fmt: skip
    assert journey.state(journey.dossier).custodian == journey.courier_party
    slip = journey.text("slip")
    assert format_item_id(journey.dossier) in slip or journey.dossier in slip
    for document in DOCUMENTS:
        assert str(document["name_vi"]) in slip


def test_stage_2_the_slip_lists_each_document_in_the_form_received(
    client: TestClient, db: Session, settings: Settings
) -> None:
    journey = _journey(client, db, settings, "both", "pickup")
    assert "Bản sao chứng thực" in journey.text("slip")


# -- 3. the seal ---------------------------------------------------------------------------------


@SEND_AND_BOTH
def test_stage_3_seal(client: TestClient, db: Session, settings: Settings, option: str) -> None:
    journey = _journey(client, db, settings, option, "seal")
    assert journey.last_event(journey.dossier, "picked_up").details["seal_number"] == SEAL
    assert SEAL in journey.text("slip")


def test_stage_3_the_desk_record_shows_the_seal(
    client: TestClient, db: Session, settings: Settings
) -> None:
    journey = _journey(client, db, settings, "both", "desk_handover")
    # A table cell may wrap the number: read the record's text without its line breaks.
    assert SEAL in _squeezed(journey.text(f"record:{journey.handovers['desk']}"))


# -- 4. transport to the post office -------------------------------------------------------------


@SEND_AND_BOTH
def test_stage_4_post_office(
    client: TestClient, db: Session, settings: Settings, option: str
) -> None:
    journey = _journey(client, db, settings, option, "post_office")
    confirmed = journey.last_event(journey.dossier, "handover_confirmed")
    assert confirmed.actor_party == journey.post
    state = journey.state(journey.dossier)
    assert (state.custodian, state.status) == (journey.post, "at_post_office")
    # Table cells wrap where the text is long: read the record without spaces and breaks.
    record = _squeezed(journey.text("post_office_record"))
    assert _squeezed(format_item_id(journey.dossier)) in record
    assert _squeezed(journey.courier.full_name) in record


# -- 5. hand-over to the desk, with its record ---------------------------------------------------


@SEND_AND_BOTH
def test_stage_5_desk_handover(
    client: TestClient, db: Session, settings: Settings, option: str
) -> None:
    journey = _journey(client, db, settings, option, "desk_handover")
    confirmed = journey.last_event(journey.dossier, "handover_confirmed")
    assert confirmed.actor_party == journey.office
    assert confirmed.actor_user_id == journey.desk.id
    state = journey.state(journey.dossier)
    assert (state.custodian, state.status) == (journey.office, "handed_over")
    # Table cells wrap where the text is long: read the record without spaces and breaks.
    record = _squeezed(journey.text(f"record:{journey.handovers['desk']}"))
    assert journey.dossier in record
    assert _squeezed(format_vnd(journey.procedure.fee_vnd).replace(" ₫", "")) in record
    assert _squeezed(journey.courier.full_name) in record
    assert _squeezed(journey.desk.full_name) in record


def test_stage_5_the_record_lists_each_dossiers_documents(
    client: TestClient, db: Session, settings: Settings
) -> None:
    journey = _journey(client, db, settings, "both", "desk_handover")
    record = _squeezed(journey.text(f"record:{journey.handovers['desk']}"))
    for document in DOCUMENTS:
        assert _squeezed(str(document["name_vi"])) in record


# -- 6. dossier code and appointment -------------------------------------------------------------


@SEND_AND_BOTH
def test_stage_6_dossier_code(
    client: TestClient, db: Session, settings: Settings, option: str
) -> None:
    journey = _journey(client, db, settings, option, "dossier_code")
    db.expire_all()
    case = db.get(Case, journey.case_id)
    assert case is not None
    assert (case.agency_dossier_code, case.appointment_date) == (CODE, journey.appointment)
    action = db.scalar(select(DeskAction).where(DeskAction.case_id == journey.case_id))
    assert action is not None and action.actor_user_id == journey.desk.id
    page = journey.desk_page.get(f"/desk/cases/{journey.case_id}").text
    assert CODE in page and f"{journey.appointment:%d/%m/%Y}" in page


def test_stage_6_the_code_is_in_the_ledger_and_on_the_record(
    client: TestClient, db: Session, settings: Settings
) -> None:
    journey = _journey(client, db, settings, "both", "dossier_code")
    db.expire_all()
    carried = [
        e for e in db.scalars(
            select(CustodyEvent).join(Item, Item.id == CustodyEvent.item_id)
            .where(Item.code == journey.dossier)
        )
        if CODE in str(e.details)
    ]  # fmt: skip
    assert carried, "a ledger event carries the dossier code"
    record = journey.desk_page.get(f"/print/handovers/{journey.handovers['desk']}.pdf").content
    assert f"{journey.appointment:%d/%m/%Y}" in "\n".join(pdf_text(record))


# -- 7. the result registered and collected -----------------------------------------------------


@RECEIVE_AND_BOTH
def test_stage_7_result_collected(
    client: TestClient, db: Session, settings: Settings, option: str
) -> None:
    journey = _journey(client, db, settings, option, "result_collected")
    registered = journey.last_event(journey.result, "result_registered")
    assert registered.actor_party == journey.office
    confirmed = journey.last_event(journey.result, "handover_confirmed")
    assert confirmed.actor_party == journey.office and confirmed.actor_user_id == journey.desk.id
    state = journey.state(journey.result)
    assert (state.custodian, state.status) == (journey.courier_party, "collected")
    db.expire_all()
    case = db.get(Case, journey.case_id)
    assert case is not None and case.agency_dossier_code == CODE
    item = db.scalar(select(Item).where(Item.code == journey.result))
    assert item is not None and item.case_id == journey.case_id
    label = journey.text("label")
    assert format_item_id(journey.result) in label
    # A table cell may wrap the item ID: read the record's text without its spaces and breaks.
    assert journey.result in _squeezed(journey.text(f"record:{journey.handovers['result']}"))


# -- 8. the result delivered ---------------------------------------------------------------------


@RECEIVE_AND_BOTH
def test_stage_8_delivered(
    client: TestClient, db: Session, settings: Settings, option: str
) -> None:
    journey = _journey(client, db, settings, option, "delivered")
    delivered = journey.last_event(journey.result, "delivered")
    assert delivered.upu_code == "EMI" and delivered.actor_party == journey.courier_party
    evidence = delivered.evidence
    assert (evidence["proof"], evidence["recipient"], evidence["cccd_last4"]) == (
        "cccd_qr", "citizen", CCCD_FEMALE_1990[-4:],
    )  # fmt: skip
    assert evidence["name_matched"] and evidence["birth_year_matched"] and evidence["sex_matched"]
    assert "cccd_qr" not in evidence  # the raw card text never reaches the ledger
    assert journey.state(journey.result).status == "delivered"
    sign_in(journey.citizen_app, db, journey.phone)  # days later: a new session
    mine = journey.citizen_app.get(f"/api/v1/my/cases/{journey.case_id}").json()
    assert mine["status"] == "delivered" and mine["can_rate"] is True
    tracking = client.get(f"/t/{journey.result}")
    assert tracking.status_code == 200 and "Trần Thị Hoa" not in tracking.text  # masked
