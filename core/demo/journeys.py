"""The demo's cases: each one booked, picked up, handed over, registered, collected and
delivered by the services the pages and apps call, at the hours a real week would see.

A case follows one ``Scenario``: the QĐ 45 option (send, receive, both), the last stage it
reaches, and what goes right or wrong on the way (a late pickup, a refused pickup, a result
later than its appointment date, an early one, a failed delivery attempt). The SLA measures
and dashboards need those on purpose. Times are Vietnam times on working days (Monday to
Saturday; no pickup windows on Sunday), and every event lies before ``now``.

The stages run one after the other over all cases, so that the couriers' hand-overs carry
everything they hold that day: one record per sitting, as at a real counter.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.booking.models import BookingTerms
from core.booking.places import distance_km, post_office_for
from core.booking.service import BookingInput, check_address, create_booking
from core.booking.slots import offerable_windows
from core.cases.models import Booking, Case
from core.courier.sync import sync
from core.custody.commands import ScanCommand
from core.custody.parties import party
from core.demo.people import Citizen, Staff, signature_png
from core.desk.service import record_code_at_desk, register_result_at_desk
from core.errors import InvalidInput
from core.handovers.service import complete_handover, open_handover, receive_item
from core.identity.models import User
from core.identity.service import actor_for
from core.media.service import store_media
from core.money import payment_state
from core.money.bank.service import import_statement
from core.money.bank.statements import statement_file
from core.money.cashup import courier_cash_lines, record_cash_up
from core.places.models import Commune, Office, PostOffice, Procedure
from core.settings import Settings
from routing.admin_units import communes_in_province
from vntime import VN

STREETS = ("Lý Thái Tổ", "Nguyễn Gia Thiều", "Trần Hưng Đạo", "Ngô Gia Tự", "Hoàng Văn Thụ")
# The agency identifier of the demo office's dossier codes (V1V2V3.Z1Z2.Y1Y2.MX1X2 of
# TT 01/2018/TT-VPCP): one place, so the office's configured identifier replaces it.
AGENCY_IDENTIFIER = "000.00.24.H05"
NEAR_HUB_KM = 9.0


@dataclass(frozen=True)
class Scenario:
    option: str  # send | receive | both
    last: str  # the last stage reached
    twist: str = ""  # late_pickup | refused | late_result | early | failed_once


# Cycled over the demo's cases: every stage of the journey is on screen somewhere, with the
# late, early and failed cases the service-quality measures must find.
SCENARIOS = (
    Scenario("both", "booked"),
    Scenario("both", "picked_up"),
    Scenario("both", "picked_up", "late_pickup"),
    Scenario("both", "refused", "refused"),
    Scenario("both", "at_post_office"),
    Scenario("send", "handed_over"),
    Scenario("both", "handed_over"),
    Scenario("both", "result_registered"),
    Scenario("receive", "booked"),
    Scenario("receive", "result_registered"),
    Scenario("both", "collected"),
    Scenario("both", "out_for_delivery"),
    Scenario("both", "attempt_failed", "failed_once"),
    Scenario("both", "delivered", "early"),
    Scenario("both", "delivered", "late_result"),
    Scenario("receive", "delivered"),
    Scenario("both", "delivered", "failed_once"),
    Scenario("send", "handed_over", "late_pickup"),
    Scenario("both", "delivered"),
    Scenario("receive", "collected"),
)
_ORDER = (
    "booked", "refused", "picked_up", "at_post_office", "handed_over", "result_registered",
    "collected", "out_for_delivery", "attempt_failed", "delivered",
)  # fmt: skip


def _reaches(scenario: Scenario, stage: str) -> bool:
    if stage == "refused":
        return scenario.last == "refused"
    if scenario.last == "refused":
        return stage == "booked"
    if scenario.option == "receive" and stage in ("picked_up", "at_post_office", "handed_over"):
        return False
    if scenario.option == "send" and _ORDER.index(stage) > _ORDER.index("handed_over"):
        return False
    if stage == "attempt_failed":
        return scenario.twist == "failed_once"
    return _ORDER.index(stage) <= _ORDER.index(scenario.last)


class DemoRefused(RuntimeError):
    """A service refused what the demo asked: the demo broke a rule, so it stops."""


@dataclass
class DemoCase:
    """One case and its calendar (Vietnam dates): pickup day, hand-over day, result day."""

    index: int
    scenario: Scenario
    citizen: Citizen
    commune: Commune
    procedure: Procedure
    courier: User
    pickup_day: date
    handover_day: date
    result_day: date
    delivery_day: date
    case: Case | None = None
    booking: Booking | None = None
    terms: BookingTerms | None = None
    dossier_code: str | None = None
    result_code: str | None = None
    reference: str | None = None

    def reaches(self, stage: str) -> bool:
        return _reaches(self.scenario, stage)


def working_day_before(day: date, count: int) -> date:
    """``count`` working days (Monday to Saturday) before ``day``."""
    while count > 0:
        day -= timedelta(days=1)
        if day.weekday() != 6:
            count -= 1
    return day


def working_day_after(day: date, count: int) -> date:
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() != 6:
            count -= 1
    return day


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=VN)


class DemoWeek:
    """Builds the demo's cases stage by stage through the services."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        staff: Staff,
        citizens: list[Citizen],
        *,
        hub: PostOffice,
        office: Office,
        now: datetime,
    ) -> None:
        self.session, self.settings, self.staff = session, settings, staff
        self.citizens, self.hub, self.office, self.now = citizens, hub, office, now
        self.today = now.astimezone(VN).date()
        self.rng = random.Random(24)
        self.cases: list[DemoCase] = []
        self.photo = store_media(session, _doorstep_photo(), "image/png",
                                 uploaded_by_user_id=None)  # fmt: skip

    # -- the calendar ------------------------------------------------------------------------

    def plan(self, count: int) -> list[DemoCase]:
        communes = hub_communes(self.session, self.hub)
        self.rng.shuffle(communes)
        procedures = [
            p
            for p in self.session.scalars(select(Procedure).order_by(Procedure.id))
            if p.postal_receive and p.postal_return
        ]
        couriers = [c for c in self.staff.couriers if c.post_office_id == self.hub.id]
        yesterday = working_day_before(self.today, 1)
        for index in range(count):
            scenario = SCENARIOS[index % len(SCENARIOS)]
            # Working days from pickup to the last event: hand-over next day, result two days
            # later (four when it is late), delivery the day after (two after a failure).
            span = {"picked_up": 0, "refused": 0, "at_post_office": 0, "handed_over": 1,
                    "result_registered": 3, "collected": 3}.get(scenario.last, 4)  # fmt: skip
            if scenario.twist == "late_result":
                span += 1
            if scenario.twist == "failed_once" and scenario.last == "delivered":
                span += 1
            if scenario.last == "booked":
                pickup = working_day_after(self.today, 1)
            else:
                pickup = working_day_before(yesterday, span + self.rng.randrange(0, 3))
            handover = working_day_after(pickup, 1)
            result = working_day_after(handover, 3 if scenario.twist == "late_result" else 2)
            self.cases.append(
                DemoCase(
                    index=index, scenario=scenario,
                    citizen=self.citizens[index % len(self.citizens)],
                    commune=communes[index % len(communes)],
                    procedure=procedures[index % len(procedures)],
                    courier=couriers[index % len(couriers)],
                    pickup_day=pickup, handover_day=handover, result_day=result,
                    delivery_day=working_day_after(result, 1),
                )
            )  # fmt: skip
        return self.cases

    # -- the stages --------------------------------------------------------------------------

    def run(self) -> None:
        for demo in self.cases:
            self._book(demo)
        self._bank_transfers([d for d in self.cases if d.reaches("picked_up")])
        for demo in self.cases:
            if demo.reaches("refused"):
                self._refuse(demo)
            elif demo.reaches("picked_up"):
                self._pick_up(demo)
        self._to_post_office([d for d in self.cases if d.reaches("at_post_office")])
        self._to_office([d for d in self.cases if d.reaches("handed_over")])
        for demo in self.cases:
            if demo.reaches("result_registered"):
                self._register_result(demo)
        self._collect([d for d in self.cases if d.reaches("collected")])
        for demo in self.cases:
            if demo.reaches("out_for_delivery"):
                self._deliver(demo)
        self._cash_ups()

    def _book(self, demo: DemoCase) -> None:
        citizen, scenario = demo.citizen, demo.scenario
        if scenario.last == "booked":
            booked_at = self.now - timedelta(minutes=40 + demo.index)
        else:
            booked_at = at(working_day_before(demo.pickup_day, 1), 10, demo.index % 50)
        day = demo.pickup_day
        street = STREETS[demo.index % len(STREETS)]
        address = f"Số {demo.index + 3} {street}, {demo.commune.name}, Tỉnh Bắc Ninh"
        lat, lon = home_in(self.session, self.hub, demo.commune, self.rng)
        windows = offerable_windows(self.session, post_office_id=self.hub.id, lat=lat, lon=lon,
                                    day=day, now=booked_at, settings=self.settings)  # fmt: skip
        if not windows:
            raise DemoRefused(f"no pickup window left on {day} for demo case {demo.index}")
        window = windows[demo.index % len(windows)]
        reference = ""
        if scenario.option == "receive":
            # Filed in person at the desk the day before booking the return.
            filed = working_day_before(booked_at.astimezone(VN).date(), 1)
            reference = (
                f"{200 + demo.index}/TNHS"
                if demo.index % 3 == 0
                else f"{AGENCY_IDENTIFIER}-{filed:%y%m%d}-{9000 + demo.index:04d}"
            )
        cash = demo.index % 4 != 1
        created = create_booking(
            self.session,
            self.settings,
            citizen.user,
            BookingInput(
                service_option=scenario.option, procedure_id=demo.procedure.id,
                address_text=address, contact_name=citizen.name, contact_phone=citizen.phone,
                cccd=citizen.cccd, citizen_sex=citizen.sex, citizen_birth_year=citizen.birth_year,
                payment_method="cash" if cash else "vietqr", window_start=window[0],
                commune_code=demo.commune.code, office_id=self.office.id, lat=lat, lon=lon,
                gps_accuracy_m=15.0,
                pay_fee_on_behalf=scenario.option != "receive" and demo.index % 2 == 0,
                receive_reference=reference,
            ),
            now=booked_at,
        )  # fmt: skip
        demo.case = created.case
        demo.booking = self.session.get(Booking, created.case.booking_id)
        demo.terms = self.session.get(BookingTerms, created.case.id)
        demo.dossier_code = created.item_code
        demo.reference = reference or None
        # The dispatcher's plan assigns couriers; the demo's week was planned this way.
        created.case.pickup_courier_id = created.case.delivery_courier_id = demo.courier.id

    def _door(self, demo: DemoCase, kind: str, code: str, when: datetime, **fields: Any) -> None:
        """A courier's door-step event, through the same sync the phone's batch goes to."""
        assert demo.booking is not None
        command = ScanCommand(
            kind=kind, code=code, occurred_at=when, client_event_id=uuid.uuid4(),
            lat=demo.booking.lat, lon=demo.booking.lon, gps_accuracy_m=12.0, **fields,
        )  # fmt: skip
        (result,) = sync(self.session, self.settings, actor_for(demo.courier), [command],
                         now=when)  # fmt: skip
        if result.outcome != "accepted":
            raise DemoRefused(f"{kind} of {code}: {result.reason_code}: {result.detail}")

    def _pickup_time(self, demo: DemoCase) -> datetime:
        assert demo.booking is not None
        if demo.scenario.twist == "late_pickup":
            return demo.booking.pickup_window_end + timedelta(minutes=35)
        return demo.booking.pickup_window_start + timedelta(minutes=10 + demo.index % 40)

    def _bank_transfers(self, cases: list[DemoCase]) -> None:
        """The VietQR bookings paid before their pickup: each morning's bank statement is
        imported at the hub and its lines matched to the cases (core.money.bank), so the
        courier finds nothing left to collect. Bookings not yet picked up stay unpaid."""
        by_day: dict[date, list[tuple[str, int, str]]] = defaultdict(list)
        for demo in cases:
            if demo.terms is None or demo.terms.payment_method != "vietqr":
                continue
            assert demo.case is not None and demo.dossier_code is not None
            due = payment_state(self.session, demo.case.id).due_vnd
            if due:
                reference = f"FT{demo.pickup_day:%y%m%d}{demo.index:05d}"
                by_day[demo.pickup_day].append((reference, due, f"HOSO {demo.dossier_code}"))
        account = self.settings.vietqr_account or "1500201234567"
        for day, rows in sorted(by_day.items()):
            import_statement(self.session, data=statement_file(rows, day, account),
                             filename=f"vcb-{day:%Y%m%d}.csv", user=self.staff.dispatcher,
                             at=at(day, 7, 0), post_office_id=self.hub.id)  # fmt: skip

    def _cash_ups(self) -> None:
        """Every working day up to yesterday, each courier counts the cash they held at
        17:30 into the hub's till (core.money.cashup), so each past day reconciles."""
        first = min((d.pickup_day for d in self.cases if d.reaches("picked_up")), default=None)
        if first is None:
            return
        yesterday = working_day_before(self.today, 1)
        couriers = sorted({d.courier.id: d.courier for d in self.cases}.values(),
                          key=lambda c: c.id)  # fmt: skip
        day = first
        while day <= yesterday:
            for courier in couriers:
                when = at(day, 17, 30)
                held = sum(courier_cash_lines(self.session, courier.id, as_of=when).values())
                if held > 0:
                    record_cash_up(self.session, courier_user_id=courier.id,
                                   post_office_id=self.hub.id, period_date=day, counted_vnd=held,
                                   reason=None, confirmed_by_user_id=self.staff.dispatcher.id,
                                   at=when)  # fmt: skip
            day = working_day_after(day, 1)

    def _refuse(self, demo: DemoCase) -> None:
        assert demo.dossier_code is not None
        self._door(demo, "pickup_refused", demo.dossier_code, self._pickup_time(demo),
                   details={"reason_code": "citizen_absent",
                            "note": "Gọi điện không nghe máy, đã để lại giấy hẹn"},
                   evidence={"photo_sha256": self.photo})  # fmt: skip

    def _pick_up(self, demo: DemoCase) -> None:
        assert demo.dossier_code is not None and demo.terms is not None
        cash = demo.terms.payment_method == "cash"
        assert demo.case is not None
        due = payment_state(self.session, demo.case.id).due_vnd
        details: dict[str, Any] = {
            "checklist": checklist(demo.procedure.documents),
            "seal_number": f"NP-{demo.pickup_day:%Y}-{demo.index + 1:05d}",
            # Cash is what the ledger says is still due (the quote the citizen accepted, less
            # what the door-step does not collect); a VietQR booking pays by transfer.
            "fees_collected_vnd": due if cash else 0,
        }
        if cash and due:
            details["payment_method"] = "cash"
        evidence = {
            "citizen_signature_sha256": demo.citizen.signature_sha256,
            "courier_signature_sha256": self.staff.signatures[demo.courier.id],
        }
        self._door(demo, "picked_up", demo.dossier_code, self._pickup_time(demo),
                   details=details, evidence=evidence)  # fmt: skip

    def _sitting(
        self,
        *,
        opener: User,
        confirmer: User,
        giver: str,
        receiver: str,
        codes: list[str],
        when: datetime,
        item_fees: dict[str, int] | None = None,
    ) -> None:
        """One hand-over as the counter does it: opened, each item scanned by the confirming
        side, fees confirmed, signed by both, completed (the record is then printable)."""
        opened = open_handover(self.session, actor_for(opener), giver=giver, receiver=receiver,
                               item_codes=codes, now=when, item_fees=item_fees)  # fmt: skip
        if opened.refused:
            first = opened.refused[0]
            raise DemoRefused(f"hand-over of {first.code}: {first.detail}")
        for minute, code in enumerate(codes, start=1):
            receive_item(self.session, actor_for(confirmer), opened.handover.id, code,
                         now=when + timedelta(minutes=minute))  # fmt: skip
        giver_user, receiver_user = (
            (opener, confirmer) if opened.handover.from_party == actor_for(opener).party
            else (confirmer, opener)
        )  # fmt: skip
        complete_handover(
            self.session, actor_for(confirmer), opened.handover.id, item_fees=item_fees,
            now=when + timedelta(minutes=len(codes) + 2),
            giver_signature_sha256=self.staff.signatures[giver_user.id],
            receiver_signature_sha256=self.staff.signatures[receiver_user.id],
        )  # fmt: skip

    def _by_courier_and_day(
        self, cases: Iterable[DemoCase], day_of: str
    ) -> dict[tuple[int, date], list[DemoCase]]:
        groups: dict[tuple[int, date], list[DemoCase]] = defaultdict(list)
        for demo in cases:
            groups[(demo.courier.id, getattr(demo, day_of))].append(demo)
        return groups

    def _to_post_office(self, cases: list[DemoCase]) -> None:
        """End of the pickup day: the courier hands the day's dossiers in at the hub."""
        post = party("post_office", self.hub.id)
        for (_, day), group in sorted(self._by_courier_and_day(cases, "pickup_day").items()):
            courier = group[0].courier
            self._sitting(opener=courier, confirmer=self.staff.dispatcher,
                          giver=party("courier", courier.id), receiver=post,
                          codes=[d.dossier_code or "" for d in group],
                          when=at(day, 17, 0))  # fmt: skip

    def _to_office(self, cases: list[DemoCase]) -> None:
        """Next morning: the courier takes the dossiers from the hub to the office, where the
        desk receives each, confirms the fees paid on the citizens' behalf, both sign, and the
        desk records each dossier code and appointment date."""
        post, office = party("post_office", self.hub.id), party("office", self.office.id)
        for (_, day), group in sorted(self._by_courier_and_day(cases, "handover_day").items()):
            courier = group[0].courier
            codes = [d.dossier_code or "" for d in group]
            # Each dossier's state fees, paid on the citizen's behalf, go with it: the courier
            # takes them from the till with the dossiers and hands them to the desk.
            on_behalf = {
                d.dossier_code or "": (
                    d.procedure.fee_vnd if d.terms and d.terms.pay_fee_on_behalf else 0
                )
                for d in group
            }
            self._sitting(opener=courier, confirmer=self.staff.dispatcher, giver=post,
                          receiver=party("courier", courier.id), codes=codes,
                          when=at(day, 7, 40), item_fees=on_behalf)  # fmt: skip
            self._sitting(opener=courier, confirmer=self.staff.desk,
                          giver=party("courier", courier.id), receiver=office, codes=codes,
                          when=at(day, 8, 30), item_fees=on_behalf)  # fmt: skip
            for minute, demo in enumerate(group):
                assert demo.case is not None and demo.dossier_code is not None
                record_code_at_desk(
                    self.session, self.staff.desk, demo.dossier_code,
                    f"{AGENCY_IDENTIFIER}-{day:%y%m%d}-{demo.case.id % 10000:04d}",
                    self._appointment(demo), settings=self.settings, now=at(day, 9, 10 + minute),
                )  # fmt: skip

    def _appointment(self, demo: DemoCase) -> date:
        if demo.scenario.twist == "late_result":
            return working_day_after(demo.handover_day, 2)  # the result comes a day after
        if demo.scenario.twist == "early":
            return working_day_after(demo.handover_day, 6)
        return demo.result_day

    def _register_result(self, demo: DemoCase) -> None:
        """The desk scans the dossier code (or, receive only, the citizen's reference)."""
        assert demo.case is not None
        scanned = demo.reference or demo.case.agency_dossier_code or demo.dossier_code or ""
        when = at(demo.result_day, 14, demo.index % 50)
        item = register_result_at_desk(self.session, self.settings, self.staff.desk, scanned,
                                       now=when)  # fmt: skip
        demo.result_code = item.code

    def _collect(self, cases: list[DemoCase]) -> None:
        """The courier collects the day's results at the desk; the desk confirms each."""
        office = party("office", self.office.id)
        for (_, day), group in sorted(self._by_courier_and_day(cases, "result_day").items()):
            courier = group[0].courier
            self._sitting(opener=courier, confirmer=self.staff.desk, giver=office,
                          receiver=party("courier", courier.id),
                          codes=[d.result_code or "" for d in group],
                          when=at(day, 15, 30))  # fmt: skip

    def _deliver(self, demo: DemoCase) -> None:
        assert demo.result_code is not None and demo.booking is not None
        day = demo.delivery_day
        start = at(day, 8, 20 + demo.index % 30)
        self._door(demo, "out_for_delivery", demo.result_code, start)
        if demo.scenario.twist == "failed_once":
            self._door(demo, "attempt_failed", demo.result_code, start + timedelta(minutes=50),
                       details={"reason_code": "addressee_absent"},
                       evidence={"photo_sha256": self.photo})  # fmt: skip
            if demo.scenario.last != "delivered":
                return
            day = working_day_after(day, 1)
            start = at(day, 8, 20 + demo.index % 30)
            self._door(demo, "out_for_delivery", demo.result_code, start)
        if demo.scenario.last != "delivered":
            return
        self._door(
            demo, "delivered", demo.result_code, start + timedelta(minutes=45),
            evidence={"proof": "cccd_qr",
                      "cccd_qr": demo.citizen.card_qr(demo.booking.address_text),
                      "signature_sha256": demo.citizen.signature_sha256,
                      "photo_sha256": self.photo},
        )  # fmt: skip


def hub_communes(session: Session, hub: PostOffice) -> list[Commune]:
    """Communes near the hub whose post office is the hub (its couriers serve them), each
    one an address the booking page reads back as that commune, in code order."""
    found = []
    for unit in communes_in_province(hub.province_code):
        commune = session.get(Commune, unit.code)
        if commune is None or distance_km(hub.lat, hub.lon, commune.lat, commune.lon) > NEAR_HUB_KM:
            continue
        if post_office_for(session, commune, commune.lat, commune.lon).id != hub.id:
            continue
        try:
            parsed = check_address(session, f"Số 1 Lý Thái Tổ, {commune.name}, Tỉnh Bắc Ninh")
        except InvalidInput:
            continue
        if parsed.commune.code == commune.code and not parsed.parsed.candidates[1:]:
            found.append(commune)
    return found


def home_in(
    session: Session, hub: PostOffice, commune: Commune, rng: random.Random
) -> tuple[float, float]:
    """A home's GPS pin in the commune, served by the hub (else the commune's centre, which
    ``hub_communes`` checked is)."""
    lat = commune.lat + rng.uniform(-0.004, 0.004)
    lon = commune.lon + rng.uniform(-0.004, 0.004)
    if post_office_for(session, commune, lat, lon).id == hub.id:
        return lat, lon
    return commune.lat, commune.lon


def checklist(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the courier ticks at the door, as the law asks it (core/courier/doorstep.py):
    each mandatory document in the form asked, with its pages; a conditional one ("nếu ủy
    quyền", …) the demo's citizens, who file for themselves, do not have: "không áp dụng";
    the ID card shown and handed back."""
    ticked: list[dict[str, Any]] = []
    for d in documents:
        entry: dict[str, Any] = {
            "name": str(d.get("name_vi", "")), "form": str(d.get("form", "original")),
        }  # fmt: skip
        kind = d.get("kind") or "mandatory"
        if kind == "conditional":
            entry.update(present=False, not_applicable=True)
        else:
            entry["present"] = True
            if kind != "shown":
                entry["pages"] = max(int(d.get("quantity") or 1), 1)
        ticked.append(entry)
    return ticked


def _doorstep_photo() -> bytes:
    """The photo a courier takes at the door (a plain stand-in image)."""
    return signature_png("Ảnh tại địa chỉ", 0)
