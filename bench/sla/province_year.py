"""A province-year of real rows: bookings, cases, items, the custody ledger (hash-chained),
desk hand-overs, ratings, counter queue tickets and the money ledger (state fees charged,
paid at the door, handed to the office), written with COPY into a scratch database, and the
roll-ups (``sla_facts``, ``sla_daily``) those rows give.

Each case follows the path a real one takes (the event rows have the columns, parties,
details and hashes ``core.custody`` writes; ``bench/sla/README.md`` lists what is left
out): booked → picked up (late for some) → handed to the office at a desk sitting (a
``handovers`` row; some a day or two later) → the paper sealed and the dossier code recorded
→ the result registered, collected by a courier, out for delivery; a failed attempt for
some, then delivered or returned to the office; a rating (1–5 stars, reason chips) for many.
Events after "now" are not written, so the last days hold open cases as a live province
does: the late list is what the measures make of them.

The roll-ups are computed by the real measure code (``core.sla.measures.case_facts``,
``handover_facts`` and ``ticket_facts``) on the same values the rows hold, summed per day ×
place in Python and spread over the grains in SQL (what ``core.sla.rollup`` does subject by
subject, set-based); ``check_sample`` then runs the real roll-up (``core.sla.rollup.refresh``)
on a random sample of the written cases (some with money), hand-overs and tickets, reading
them back from the tables: it must find nothing to change.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from core.booking.service import RATING_REASONS
from core.custody.hashing import GENESIS_HASH, chain_hash
from core.custody.models import CustodyEvent
from core.custody.rows import offset_of
from core.custody.transitions import TRANSITIONS
from core.db import transaction
from core.identity.models import User
from core.money.receipts import receipt_lines
from core.settings import Settings
from core.sla.measures import (
    GRAINS,
    MONTHLY,
    CaseInput,
    EventRow,
    HandoverInput,
    Targets,
    TicketInput,
    case_facts,
    handover_facts,
    ticket_facts,
)
from core.sla.rollup import SETTLE, refresh
from core.sla.targets import TargetBook
from labels.s10 import make_item_id
from tests.factories import KINH_BAC, make_office, make_post_office, make_procedure, make_user
from vntime import VN

PROVINCE = "24"
POST_OFFICES = 100
COURIERS_PER_POST_OFFICE = 10
OFFICES = 100
PROVINCE_DEPARTMENTS = 10  # offices 0..9 take cases from every post office
PROCEDURES = 50
CITIZENS = 1000
# Item serials of generated items start here; the services' own sequence starts at 1.
SERIAL_BASE = 10_000_000
# Walk-ins at a post office counter, each with a queue ticket: this many per door-step case
# of the same post office and day (their own cases are not generated, see the README).
TICKETS_PER_CASE = 0.3
# Procedures whose index is 1 mod 3 carry a state fee (phí, lệ phí) the courier collects in
# cash at the door with the postage and hands to the office with the dossier: about a
# quarter of the cases, as the procedures' weights fall.
POSTAGE_VND = 26_000


def fee_of(procedure_index: int) -> int:
    return 50_000 + 10_000 * (procedure_index % 5) if procedure_index % 3 == 1 else 0


EVENT_COLUMNS = tuple(c.name for c in CustodyEvent.__table__.columns if c.name != "id")
# Columns the generator always leaves empty (no device, place, GPS, bag or correction).
EMPTY_EVENT_COLUMNS = frozenset(
    {"device_id", "place", "lat", "lon", "gps_accuracy_m", "bag_id", "corrects_event_id"}
)
_N = "\\N"


def _event_line(row: dict[str, Any]) -> str:
    """One ledger row as COPY reads it: ``_line`` for the ten million events, unrolled (the
    general one took half the generator's time)."""
    out = []
    for column in EVENT_COLUMNS:
        if column in EMPTY_EVENT_COLUMNS:
            out.append(_N)
            continue
        value = row[column]
        if value is None:
            out.append(_N)
        elif column in ("evidence", "details"):
            out.append(orjson.dumps(value).decode() if value else "{}")
        elif column in ("occurred_at", "recorded_at"):
            out.append(value.isoformat())
        else:
            out.append(str(value))
    return "\t".join(out) + "\n"


@dataclass
class Places:
    post_offices: list[int]
    offices: list[int]
    couriers: dict[int, list[int]]  # post office → its couriers
    desks: dict[int, int]  # office → its desk officer
    procedures: list[tuple[int, int, int]]  # (id, processing days, state fee in đồng)
    citizens: list[int]
    clerks: dict[int, int]  # post office → its counter clerk


@dataclass
class Built:
    cases: int = 0
    events: int = 0
    handovers: int = 0
    ratings: int = 0
    open_cases: int = 0
    tickets: int = 0
    money_transactions: int = 0

    def add(self, other: Built) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def make_places(factory: sessionmaker[Session], rnd: random.Random) -> Places:
    """Post offices, offices, procedures through the factories; couriers, desk officers and
    citizens cloned in SQL from one real account each (a password hash per user is slow)."""
    with transaction(factory) as session:
        pos = [
            make_post_office(session, code=f"BN{n:03d}", name=f"Bưu cục Bắc Ninh {n:03d}").id
            for n in range(POST_OFFICES)
        ]
        offices = [
            make_office(session, code=f"OF{n:03d}",
                        name_vi=(f"Sở ngành tỉnh {n:02d}" if n < PROVINCE_DEPARTMENTS
                                 else f"Bộ phận một cửa xã {n:03d}"),
                        name_en=(f"Province department {n:02d}" if n < PROVINCE_DEPARTMENTS
                                 else f"Commune one-stop desk {n:03d}"),
                        kind="commune_centre").id
            for n in range(OFFICES)
        ]  # fmt: skip
        days = [rnd.randint(3, 15) for _ in range(PROCEDURES)]
        procedures = [
            (make_procedure(session, slug=f"bench-{n}", processing_days=days[n],
                            fee_vnd=fee_of(n)).id, days[n], fee_of(n))
            for n in range(PROCEDURES)
        ]  # fmt: skip
        templates = {
            "courier": make_user(session, "courier", post_office_id=pos[0]).id,
            "desk_officer": make_user(session, "desk_officer", office_id=offices[0]).id,
            "citizen": make_user(session, "citizen").id,
            "counter_clerk": make_user(session, "counter_clerk", post_office_id=pos[0]).id,
        }
        columns = [
            c.name
            for c in User.__table__.columns
            if c.name not in ("id", "username", "full_name", "post_office_id", "office_id",
                              "phone", "email")
        ]  # fmt: skip
        keep = ", ".join(columns)
        for role, count, home in (
            ("courier", POST_OFFICES * COURIERS_PER_POST_OFFICE, "post_office_id"),
            ("desk_officer", OFFICES, "office_id"),
            ("citizen", CITIZENS, None),
            ("counter_clerk", POST_OFFICES, "post_office_id"),
        ):
            places = pos if role in ("courier", "counter_clerk") else offices
            home_value = {
                "courier": f"(ARRAY{places})[1 + (g - 1) / {COURIERS_PER_POST_OFFICE}]",
                "desk_officer": f"(ARRAY{places})[g]",
                "counter_clerk": f"(ARRAY{places})[g]",
                "citizen": "'09' || lpad(g::text, 8, '0')",
            }[role]
            session.execute(
                text(
                    f"INSERT INTO users (username, full_name, {home or 'phone'}, {keep})"
                    f" SELECT 'bench-{role}-' || g, 'Nguyễn Văn ' || g,"
                    f" {home_value}, {keep}"
                    f" FROM users, generate_series(1, {count}) AS g WHERE id = :t"
                ),
                {"t": templates[role]},
            )
        couriers: dict[int, list[int]] = {p: [] for p in pos}
        desks: dict[int, int] = {}
        clerks: dict[int, int] = {}
        citizens: list[int] = []
        for uid, role, po, office in session.execute(
            select(User.id, User.role, User.post_office_id, User.office_id)
            .where(User.username.like("bench-%"))
            .order_by(User.id)
        ):
            if role == "courier" and po is not None:
                couriers[po].append(uid)
            elif role == "desk_officer" and office is not None:
                desks[office] = uid
            elif role == "counter_clerk" and po is not None:
                clerks[po] = uid
            else:
                citizens.append(uid)
    return Places(pos, offices, couriers, desks, procedures, citizens, clerks)


def _copy_value(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        out = orjson.dumps(value).decode()
    else:
        out = str(value)
    # Generated values never hold COPY's special characters; a change that adds one fails.
    assert "\t" not in out and "\n" not in out and "\\" not in out, out
    return out


def _line(values: tuple[object, ...]) -> str:
    return "\t".join(_copy_value(v) for v in values) + "\n"


@dataclass
class Sitting:
    """A courier's hand-over at one office desk on one day (a ``handovers`` row)."""

    id: int
    courier: int
    office: int
    opened_at: datetime
    completed_at: datetime
    # State fees handed over with the dossiers at this sitting: (case, đồng).
    fees: list[tuple[int, int]] = field(default_factory=list)


class Ledger:
    """Event rows of one item, chained as core.custody chains them."""

    def __init__(self, item_id: int, code: str, lines: list[str]) -> None:
        self.item_id, self.code, self.lines = item_id, code, lines
        self.seq, self.last_hash = 0, GENESIS_HASH
        self.events: list[EventRow] = []
        self.last_kind = ""
        self.custodian = ""
        self.status = ""
        self.attempts = 0
        self.last_at: datetime | None = None

    def add(self, kind: str, at: datetime, actor: tuple[int | None, str, str], *,
            frm: str | None, to: str | None, details: dict[str, Any] | None = None,
            evidence: dict[str, Any] | None = None) -> None:  # fmt: skip
        rule = TRANSITIONS[kind]
        self.seq += 1
        user, role, party = actor
        row: dict[str, Any] = {
            "event_id": uuid.uuid4(), "client_event_id": None if user is None else uuid.uuid4(),
            "item_id": self.item_id, "seq": self.seq, "kind": kind, "biz_step": rule.biz_step,
            "disposition": rule.disposition, "upu_code": rule.upu_code, "from_party": frm,
            "to_party": to, "actor_user_id": user, "actor_role": role, "actor_party": party,
            "device_id": None, "occurred_at": at, "occurred_offset": offset_of(at),
            "recorded_at": at + timedelta(seconds=3), "place": None, "lat": None, "lon": None,
            "gps_accuracy_m": None, "bag_id": None, "evidence": evidence or {},
            "details": details or {}, "raw_code": self.code, "corrects_event_id": None,
            "prev_hash": self.last_hash,
        }  # fmt: skip
        row["item_code"], row["bag_code"] = self.code, None
        row["hash"] = chain_hash(self.last_hash, row)
        self.last_hash = row["hash"]
        self.lines.append(_event_line(row))
        self.events.append(EventRow(kind, at, user, to, row["event_id"]))
        if rule.to_status is not None:
            self.status = rule.to_status
        if kind == "attempt_failed":
            self.attempts += 1
        if kind in ("picked_up", "out_for_delivery", "attempt_failed", "delivered",
                    "result_registered", "booked"):  # fmt: skip
            self.custodian = to or self.custodian
        if kind == "handover_confirmed":
            self.custodian = to or self.custodian
            to_office = str(to).startswith("office:")
            dossier = self.code.startswith("DH")
            self.status = (
                ("handed_over" if dossier else "returned_to_office") if to_office else "collected"
            )
        self.last_at = at


CHECKLIST = [{"doc": "Tờ khai", "present": True}]
Actor = tuple[int | None, str, str]  # user, role, party
Step = tuple[str, datetime, Actor, str | None, str | None, dict[str, Any], dict[str, Any]]


def agency_code(case_id: int) -> str:
    return f"000.00.24.B-{case_id:08d}"


def _vn(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=VN) + timedelta(minutes=minute)


class Generator:
    """Writes COPY lines for one case at a time and keeps what the roll-ups need."""

    def __init__(self, places: Places, targets: Targets, now: datetime, seed: int,
                 part: int = 0, parts: int = 1) -> None:  # fmt: skip
        self.p, self.targets, self.now = places, targets, now
        self.rnd = random.Random(seed * 1000 + part)
        # Parts take whole post offices (and so their couriers' sittings); a sitting's id
        # tells the part that made it.
        self.part, self.parts = part, parts
        self.sittings: dict[tuple[int, int, date], Sitting] = {}
        self.built = Built()
        self.fact_lines: list[str] = []
        self.reasons = list(RATING_REASONS)
        # Procedures are not asked for equally: a few carry most cases.
        self.procedure_weights = [1 / (n + 1) for n in range(len(places.procedures))]

    def sitting(self, courier: int, office: int, day: date) -> Sitting:
        key = (courier, office, day)
        found = self.sittings.get(key)
        if found is None:
            rnd = random.Random(f"{courier}-{office}-{day}")
            opened = _vn(day, 15, rnd.randrange(0, 150))
            minutes = rnd.choice((8, 12, 15, 18, 20, 25, 28, 35, 45, 60))
            ident = self.part + 1 + self.parts * len(self.sittings)
            found = Sitting(ident, courier, office, opened, opened + timedelta(minutes=minutes))
            self.sittings[key] = found
        return found

    def case(self, n: int, day: date, out: dict[str, list[str]]) -> None:
        rnd, p, now = self.rnd, self.p, self.now
        case_id = n
        dossier_id, result_id = 2 * n - 1, 2 * n
        po = p.post_offices[(n - 1) % len(p.post_offices)]
        # Half the cases go to a province department, half to the post office's own communes.
        office = (p.offices[rnd.randrange(PROVINCE_DEPARTMENTS)] if rnd.random() < 0.5
                  else p.offices[PROVINCE_DEPARTMENTS
                                 + (p.post_offices.index(po) * 3 + rnd.randrange(3))
                                 % (OFFICES - PROVINCE_DEPARTMENTS)])  # fmt: skip
        procedure, processing_days, fee = rnd.choices(p.procedures, self.procedure_weights)[0]
        courier = rnd.choice(p.couriers[po])
        citizen = p.citizens[n % len(p.citizens)]
        start = _vn(day, rnd.randrange(7, 17))
        end = start + timedelta(hours=2)
        booked_at = start - timedelta(hours=rnd.randrange(4, 48))
        c_party, o_party = f"courier:{courier}", f"office:{office}"
        desk = (p.desks[office], "desk_officer", o_party)
        citizen_party = f"citizen:case-{case_id}"
        dossier_code = make_item_id("DH", SERIAL_BASE + dossier_id)
        dossier = Ledger(dossier_id, dossier_code, out["events"])
        dossier.add("booked", booked_at, (None, "system", "agency:hoso"), frm=None,
                    to=citizen_party)  # fmt: skip
        appointment: date | None = None
        result: Ledger | None = None
        rating: tuple[int, list[str], datetime] | None = None
        collected: datetime | None = None
        handed: datetime | None = None
        if fee and booked_at <= now:
            # The accepted quote charges the citizen (core.money.charges.charge_case).
            self._money(4 * n - 3, "charge", f"charge:case:{n}", n, None, None, None, po,
                        booked_at, [(f"citizen:{n}", POSTAGE_VND, "postage", n),
                                    ("postage_revenue", -POSTAGE_VND, "postage", n),
                                    (f"citizen:{n}", fee, "state_fee", n),
                                    (f"agency_payable:{office}", -fee, "state_fee", n)],
                        out)  # fmt: skip
        # Pickup: most inside the window, some late.
        roll = rnd.random()
        picked = (start + timedelta(minutes=rnd.randrange(0, 120)) if roll < 0.9
                  else end + timedelta(minutes=rnd.randrange(10, 150)))  # fmt: skip
        if picked <= now:
            seal = {"seal_number": f"SEAL-{n}", "checklist": CHECKLIST}
            dossier.add("picked_up", picked, (courier, "courier", c_party), frm=citizen_party,
                        to=c_party, details=seal)  # fmt: skip
            if fee and booked_at <= now:
                # Paid in cash at the door (core.money.doorstep): into the courier's cash,
                # with a receipt.
                collected = picked
                ref = f"doorstep:{dossier.events[-1].event_id}"
                self._money(4 * n - 2, "payment", ref, n, "cash", None, courier, po, picked,
                            [(f"courier_cash:{courier}", POSTAGE_VND, "postage", n),
                             (f"citizen:{n}", -POSTAGE_VND, "postage", n),
                             (f"courier_cash:{courier}", fee, "state_fee", n),
                             (f"citizen:{n}", -fee, "state_fee", n)], out)  # fmt: skip
                amounts = {"postage": POSTAGE_VND, "state_fee": fee}
                out["money_receipts"].append(_line((
                    4 * n - 2, po, picked.astimezone(VN).year, n, "Trần Thị Hoa", "cash",
                    receipt_lines(amounts), POSTAGE_VND + fee, picked, courier,
                )))  # fmt: skip
            desk_day = picked.astimezone(VN).date() + timedelta(
                days=rnd.choices((0, 1, 2), (0.85, 0.1, 0.05))[0]
            )
            sit = self.sitting(courier, office, desk_day)
            if sit.opened_at < picked:
                sit = self.sitting(courier, office, desk_day + timedelta(days=1))
            if sit.completed_at <= now:
                if collected is not None:
                    # Handed to the office with the dossier: the sitting's agency_handover.
                    sit.fees.append((n, fee))
                    handed = sit.completed_at
                code = f"BG-B-{sit.id:08d}"
                dossier.add("handover_offered", sit.opened_at, (courier, "courier", c_party),
                            frm=c_party, to=o_party, details={"handover_code": code})  # fmt: skip
                dossier.add("handover_confirmed", sit.completed_at - timedelta(minutes=1), desk,
                            frm=c_party, to=o_party, details={"handover_code": code})  # fmt: skip
                dossier.add("record_sealed", sit.completed_at, desk, frm=o_party, to=o_party,
                            details={"ref": code, "record": "handover",
                                     "content_sha256": f"{sit.id:064x}"})  # fmt: skip
                appointment = sit.completed_at.astimezone(VN).date() + timedelta(
                    days=processing_days
                )
                recorded = sit.completed_at + timedelta(hours=1)
                dossier.add("record_sealed", recorded, desk, frm=o_party, to=o_party,
                            details={"ref": str(case_id), "record": "dossier_code",
                                     "content_sha256": f"{case_id:064x}",
                                     "appointment_date": appointment.isoformat(),
                                     "agency_dossier_code": agency_code(case_id)})  # fmt: skip
                result = self._result(case_id, result_id, appointment, po, desk, citizen_party,
                                      out)  # fmt: skip
                if result is not None and result.status == "delivered" and rnd.random() < 0.62:
                    stars = rnd.choices((5, 4, 3, 2, 1), (0.55, 0.3, 0.08, 0.04, 0.03))[0]
                    chips = rnd.sample(self.reasons, rnd.choice((0, 0, 1, 1, 2)))
                    assert result.last_at is not None
                    rated = result.last_at + timedelta(hours=rnd.randrange(1, 30))
                    if rated <= now:
                        rating = (stars, chips, rated)
        self._write_case(n, po, office, procedure, citizen, start, end, booked_at, appointment,
                         dossier, result, rating, (collected, handed), out)  # fmt: skip

    def _money(self, ident: int, kind: str, key: str, case_id: int | None, method: str | None,
               reference: str | None, actor: int | None, po: int | None, at: datetime,
               legs: list[tuple[str, int, str, int]], out: dict[str, list[str]],
               details: dict[str, Any] | None = None) -> None:  # fmt: skip
        """A balanced money transaction as core.money.ledger.post writes it, staged: the
        main process moves it into the ledger with its triggers on (``_load_money``)."""
        assert sum(leg[1] for leg in legs) == 0, legs
        out["money_tx"].append(_line((
            ident, kind, key, case_id, method, reference, actor, po, at,
            at + timedelta(seconds=2), details or {},
        )))  # fmt: skip
        for account, amount, line, leg_case in legs:
            out["money_postings"].append(_line((ident, account, amount, line, leg_case)))
        self.built.money_transactions += 1

    def _result(self, case_id: int, result_id: int, appointment: date, po: int,
                desk: tuple[int, str, str], citizen_party: str,
                out: dict[str, list[str]]) -> Ledger | None:  # fmt: skip
        rnd, now = self.rnd, self.now
        registered = _vn(appointment - timedelta(days=1), 14, rnd.randrange(0, 180))
        if registered > now:
            return None
        code = make_item_id("DR", SERIAL_BASE + result_id)
        result = Ledger(result_id, code, out["events"])
        o_party = desk[2]
        result.add("result_registered", registered, desk, frm=None, to=o_party)
        # Most results go out on the appointment day; some a day to three late.
        out_day = appointment + timedelta(days=rnd.choices((0, 1, 2, 3), (0.9, 0.05, 0.03,
                                                                         0.02))[0])  # fmt: skip
        courier = rnd.choice(self.p.couriers[po])
        c_party = f"courier:{courier}"
        c_actor = (courier, "courier", c_party)
        steps: list[Step] = []
        collected = _vn(out_day, 7, rnd.randrange(0, 30))
        steps.append(("handover_offered", collected, c_actor, o_party, c_party, {}, {}))
        steps.append(("handover_confirmed", collected + timedelta(minutes=1), desk, o_party,
                      c_party, {}, {}))  # fmt: skip
        attempt_day = out_day
        proof = {"proof": "otp", "otp_verified": True}
        for attempt in range(2):
            leave = _vn(attempt_day, 8, rnd.randrange(0, 60))
            steps.append(("out_for_delivery", leave, c_actor, c_party, c_party, {}, {}))
            at = leave + timedelta(minutes=rnd.randrange(20, 300))
            if rnd.random() < (0.13 if attempt == 0 else 0.25):
                reason = {"reason_code": rnd.choice(("not_home", "wrong_address"))}
                steps.append(("attempt_failed", at, c_actor, c_party, c_party, reason, {}))
                attempt_day += timedelta(days=1)
                continue
            steps.append(("delivered", at, c_actor, c_party, citizen_party, {}, proof))
            break
        else:
            back = _vn(attempt_day, 14, rnd.randrange(0, 60))
            steps.append(("handover_offered", back, c_actor, c_party, o_party, {}, {}))
            steps.append(("handover_confirmed", back + timedelta(minutes=2), desk, c_party,
                          o_party, {}, {}))  # fmt: skip
        for kind, at, actor, frm, to, details, evidence in steps:
            if at > now:
                break
            result.add(kind, at, actor, frm=frm, to=to, details=details, evidence=evidence)
        return result

    def _write_case(self, n: int, po: int, office: int, procedure: int, citizen: int,
                    start: datetime, end: datetime, booked_at: datetime,
                    appointment: date | None, dossier: Ledger, result: Ledger | None,
                    rating: tuple[int, list[str], datetime] | None,
                    fees: tuple[datetime | None, datetime | None],
                    out: dict[str, list[str]]) -> None:  # fmt: skip
        pickup_courier = next((e.actor_user_id for e in dossier.events if e.kind == "picked_up"),
                              None)  # fmt: skip
        delivery_courier = (
            next((e.actor_user_id for e in result.events if e.kind == "out_for_delivery"), None)
            if result
            else None
        )
        out["bookings"].append(_line((
            n, citizen, "both", procedure, office, po, "Trần Thị Hoa", "0912345678",
            f"Số {n % 300 + 1} đường Lý Thái Tổ, Tỉnh Bắc Ninh", KINH_BAC, PROVINCE,
            21.18 + (n % 97) / 1000, 106.06 + (n % 89) / 1000, "gps", 15.0, start, end, booked_at,
        )))  # fmt: skip
        out["cases"].append(_line((
            n, n, dossier.item_id, result.item_id if result else None,
            agency_code(n) if appointment else None, appointment, pickup_courier,
            delivery_courier, booked_at,
        )))  # fmt: skip
        for ledger, kind in ((dossier, "dossier"), (result, "result")):
            if ledger is None:
                continue
            out["items"].append(_line((ledger.item_id, ledger.code, kind, n,
                                       ledger.events[0].occurred_at)))  # fmt: skip
            out["item_states"].append(_line((
                ledger.item_id, ledger.status, ledger.custodian, ledger.attempts, ledger.seq,
                ledger.last_hash, ledger.last_at, self.now,
            )))  # fmt: skip
            self.built.events += len(ledger.events)
        if rating is not None:
            stars, chips, rated = rating
            out["ratings"].append(_line((n, citizen, stars, chips, rated)))
            self.built.ratings += 1
        facts = case_facts(
            CaseInput(
                case_id=n, province_code=PROVINCE, post_office_id=po, office_id=office,
                procedure_id=procedure, window_start=start, window_end=end,
                appointment_date=appointment, dossier_item_id=dossier.item_id,
                result_item_id=result.item_id if result else None,
                dossier_events=dossier.events, result_events=result.events if result else (),
                rating_stars=rating[0] if rating else None,
                rating_reasons=tuple(rating[1]) if rating else (),
                fees_collected_at=fees[0], fees_handed_at=fees[1],
            ),
            self.targets,
        )  # fmt: skip
        self._facts("case", n, facts, out)
        self.built.cases += 1
        self.built.open_cases += facts.open_stage is not None

    def _facts(self, subject: str, ident: int, facts: Any, out: dict[str, list[str]]) -> None:
        rows = [c.as_row() for c in facts.contributions]
        place = facts.place
        out["facts"].append(_line((
            subject, ident, place.province_code, place.post_office_id, place.office_id,
            place.courier_id, place.procedure_id, facts.open_stage, facts.due_at, facts.item_id,
            rows, self.now,
        )))  # fmt: skip
        out["contributions"].extend(_line(tuple(row)) for row in rows)

    def handovers(self, out: dict[str, list[str]]) -> None:
        for sit in self.sittings.values():
            if sit.completed_at > self.now:
                continue
            desk = self.p.desks[sit.office]
            out["handovers"].append(_line((
                sit.id, f"BG-B-{sit.id:08d}", f"courier:{sit.courier}", f"office:{sit.office}",
                f"courier:{sit.courier}", sit.courier, desk, "completed", sit.opened_at,
                sit.completed_at, 0, 0, f"{sit.id:064x}", f"{sit.id + 1:064x}", f"{sit.id:064x}",
            )))  # fmt: skip
            facts = handover_facts(
                HandoverInput(sit.id, PROVINCE, sit.office, self._home(sit.courier), sit.courier,
                              sit.opened_at, sit.completed_at, "completed"),
                self.targets,
            )  # fmt: skip
            self._facts("handover", sit.id, facts, out)
            self.built.handovers += 1
            if sit.fees:
                # core.money.handover.post_agency_handover: once per hand-over, a pair of
                # legs per dossier; at the desk's confirmation (``now`` of the hand-over).
                legs = [
                    leg
                    for case_id, fee in sit.fees
                    for leg in (
                        (f"agency_payable:{sit.office}", fee, "state_fee", case_id),
                        (f"courier_cash:{sit.courier}", -fee, "state_fee", case_id),
                    )
                ]
                self._money(4 * sit.id - 1, "agency_handover", f"handover:{sit.id}", None, None,
                            f"handover:{sit.id}", desk, None, sit.completed_at, legs, out,
                            {"handover_id": sit.id, "office_id": sit.office})  # fmt: skip

    def tickets(self, cases: int, first: date, out: dict[str, list[str]]) -> None:
        """Queue tickets of walk-ins at this part's post offices, day by day: taken between
        7:30 and 16:30, most called within 30 minutes, some after, then served 3–25
        minutes (core.counter.queue's columns; numbers restart each day)."""
        rnd, now = self.rnd, self.now
        per_day = cases * TICKETS_PER_CASE / (len(self.p.post_offices) * 365)
        count = 0
        for index, po in enumerate(self.p.post_offices):
            if index % self.parts != self.part:
                continue
            clerk = self.p.clerks[po]
            for offset in range(365):
                day = first + timedelta(days=offset)
                taken = int(per_day) + (rnd.random() < per_day % 1)
                issued = sorted(_vn(day, 7, rnd.randrange(30, 570)) + timedelta(
                    seconds=rnd.randrange(60)) for _ in range(taken))  # fmt: skip
                for number, at in enumerate(issued, start=1):
                    if at > now:
                        break
                    wait = (rnd.randrange(31, 95) if rnd.random() < 0.12
                            else rnd.randrange(1, 28))  # fmt: skip
                    called: datetime | None = at + timedelta(
                        minutes=wait, seconds=rnd.randrange(60)
                    )
                    finished: datetime | None = None
                    if called is not None and called > now:
                        called = None
                    if called is not None:
                        finished = called + timedelta(minutes=rnd.randrange(3, 25))
                        finished = finished if finished <= now else None
                    ident = self.part + 1 + self.parts * count
                    count += 1
                    out["tickets"].append(_line((
                        ident, po, day, number, at, called,
                        clerk if called is not None else None,
                        str(1 + number % 3) if called is not None else None, finished,
                    )))  # fmt: skip
                    facts = ticket_facts(TicketInput(ident, PROVINCE, po, at, called, finished),
                                         self.targets)  # fmt: skip
                    self._facts("ticket", ident, facts, out)
                    self.built.tickets += 1

    def _home(self, courier: int) -> int:
        for po, couriers in self.p.couriers.items():
            if courier in couriers:
                return po
        return 0


COPY_INTO = {
    "bookings": "bookings (id, citizen_user_id, service_option, procedure_id, office_id,"
    " post_office_id, contact_name, contact_phone, address_text, commune_code, province_code,"
    " lat, lon, position_source, position_accuracy_m, pickup_window_start, pickup_window_end,"
    " created_at)",
    "cases": "cases (id, booking_id, dossier_item_id, result_item_id, agency_dossier_code,"
    " appointment_date, pickup_courier_id, delivery_courier_id, created_at)",
    "items": "items (id, code, kind, case_id, created_at)",
    "events": f"custody_events ({', '.join(EVENT_COLUMNS)})",
    "item_states": "item_states (item_id, status, custodian, delivery_attempts, last_seq,"
    " last_hash, last_event_at, updated_at)",
    "ratings": "case_ratings (case_id, citizen_user_id, stars, reasons, created_at)",
    "handovers": "handovers (id, code, from_party, to_party, opened_by_party, opened_by_user_id,"
    " completed_by_user_id, status, opened_at, completed_at, fees_declared_vnd,"
    " fees_confirmed_vnd, giver_signature_sha256, receiver_signature_sha256, content_sha256)",
    "contributions": "sla_bench_contributions (measure, day, province, po, office, courier,"
    " procedure, total, hits, value)",
    "facts": "sla_facts (subject, subject_id, province_code, post_office_id, office_id,"
    " courier_id, procedure_id, open_stage, due_at, item_id, contributions, updated_at)",
    "tickets": "counter_tickets (id, post_office_id, day, number, issued_at, called_at,"
    " called_by_user_id, counter_label, finished_at)",
    # Staged money: moved into the ledger by ``_load_money``, with its triggers on.
    "money_tx": "sla_bench_money_tx (id, kind, idempotency_key, case_id, method, reference,"
    " actor_user_id, post_office_id, occurred_at, recorded_at, details)",
    "money_postings": "sla_bench_money_postings (transaction_id, account_key, amount, line,"
    " case_id)",
    "money_receipts": "sla_bench_money_receipts (transaction_id, post_office_id, year, case_id,"
    " payer, method, lines, total, issued_at, issued_by)",
}

MONEY_STAGING = (
    "CREATE UNLOGGED TABLE sla_bench_money_tx (id bigint, kind text, idempotency_key text,"
    " case_id int, method text, reference text, actor_user_id int, post_office_id int,"
    " occurred_at timestamptz, recorded_at timestamptz, details jsonb)",
    "CREATE UNLOGGED TABLE sla_bench_money_postings (transaction_id bigint, account_key text,"
    " amount bigint, line text, case_id int)",
    "CREATE UNLOGGED TABLE sla_bench_money_receipts (transaction_id bigint, post_office_id int,"
    " year int, case_id int, payer text, method text, lines jsonb, total bigint,"
    " issued_at timestamptz, issued_by int)",
)


BULK_TABLES = ("bookings", "cases", "items", "custody_events", "item_states", "case_ratings",
               "handovers", "sla_facts", "sla_daily", "counter_tickets")  # fmt: skip


def _drop_secondary_indexes(cursor: Any) -> list[str]:
    """Drops the bulk tables' indexes and unique constraints other than primary keys, and
    returns the statements that make them again: built once after the load, not row by row
    (the event ids' unique index alone, on random UUIDs, made the load several times
    slower). The same indexes stand when the pages are timed."""
    cursor.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)"
        " FROM pg_constraint c WHERE c.contype = 'u'"
        " AND c.conrelid::regclass::text = ANY(%s)"
        # A key another table's foreign key points at stays (device signatures name events).
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint f"
        " WHERE f.contype = 'f' AND f.conindid = c.conindid)",
        (list(BULK_TABLES),),
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        (list(BULK_TABLES),),
    )
    indexes = cursor.fetchall()
    again = []
    for table, name, definition in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        again.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for name, definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
        again.append(definition)
    return again


def _flush(cursor: Any, out: dict[str, list[str]], tables: tuple[str, ...]) -> None:
    for name in tables:
        lines = out[name]
        if not lines:
            continue
        with cursor.copy(f"COPY {COPY_INTO[name]} FROM STDIN") as copy:
            for start in range(0, len(lines), 5000):
                copy.write("".join(lines[start : start + 5000]))
        lines.clear()


def generate(engine: Engine, factory: sessionmaker[Session], settings: Settings, *,
             cases: int, now: datetime, seed: int = 7, parts: int = 2,
             progress: Any = print) -> Built:  # fmt: skip
    """Writes ``cases`` cases booked evenly over the 365 days up to ``now``, and their
    roll-ups, in ``parts`` processes (each its own post offices). The database must be
    freshly migrated and seeded."""
    rnd = random.Random(seed)
    began = perf_counter()
    places = make_places(factory, rnd)
    with transaction(factory) as session:
        targets = TargetBook.load(session, settings).for_place(PROVINCE, None)
    url = engine.url.render_as_string(hide_password=False)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        rebuild = _drop_secondary_indexes(cursor)
        cursor.execute(
            "CREATE UNLOGGED TABLE sla_bench_contributions (measure text, day date,"
            " province text, po int, office int, courier int, procedure int, total bigint,"
            " hits bigint, value bigint)"
        )
        for statement in MONEY_STAGING:
            cursor.execute(statement)
        raw.commit()
        # No connection crosses the fork: the parts open their own.
        raw.close()
        engine.dispose()
        jobs = [(url, places, targets, now, seed, cases, part, parts, began)
                for part in range(parts)]  # fmt: skip
        with multiprocessing.get_context("fork").Pool(parts) as pool:
            done = pool.starmap(_load_part, jobs)
        raw = engine.raw_connection()
        cursor = raw.cursor()
        built = Built()
        for part in done:
            built.add(part)
        progress(f"  {_clock()} {perf_counter() - began:6.0f} s: rows written")
        _load_money(cursor, raw, progress, began)
        _roll_up(
            cursor, lambda what: progress(f"  {_clock()} {perf_counter() - began:6.0f} s: {what}")
        )
        progress(
            f"  {_clock()} {perf_counter() - began:6.0f} s: roll-ups written;"
            f" {len(rebuild)} indexes to build"
        )
        for statement in rebuild:
            cursor.execute(statement)
        for table, column in (("bookings", "id"), ("cases", "id"), ("items", "id"),
                              ("handovers", "id"), ("counter_tickets", "id"),
                              ("money_transactions", "id")):  # fmt: skip
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                f" (SELECT max({column}) FROM {table}))"
            )
        # The roll-up has read everything written: its marks stand where a live one's would.
        cursor.execute(
            "INSERT INTO sla_watermarks (name, last_event_id, last_time, updated_at)"
            " SELECT 'ledger', max(id), NULL, %(now)s FROM custody_events UNION ALL"
            " SELECT 'ratings', 0, %(mark)s, %(now)s UNION ALL"
            " SELECT 'handovers', 0, %(mark)s, %(now)s UNION ALL"
            " SELECT 'money', 0, %(mark)s, %(now)s UNION ALL"
            " SELECT 'tickets_issued', 0, %(mark)s, %(now)s UNION ALL"
            " SELECT 'tickets_called', 0, %(mark)s, %(now)s UNION ALL"
            " SELECT 'tickets_done', 0, %(mark)s, %(now)s",
            {"now": now, "mark": now - SETTLE},
        )
        for table in (
            *BULK_TABLES,
            "money_transactions",
            "money_postings",
            "money_accounts",
            "money_receipts",
        ):
            cursor.execute(f"ANALYZE {table}")
        raw.commit()
        progress(f"  {_clock()} {perf_counter() - began:6.0f} s: indexes built, tables analysed")
    finally:
        raw.close()
    return built


def _load_part(url: str, places: Places, targets: Targets, now: datetime, seed: int,
               cases: int, part: int, parts: int, began: float) -> Built:  # fmt: skip
    """One process's share: the cases of its post offices, and their couriers' sittings."""
    gen = Generator(places, targets, now, seed, part, parts)
    first = now.astimezone(VN).date() - timedelta(days=364)
    offices = len(places.post_offices)
    tables = ("bookings", "cases", "items", "events", "item_states", "ratings", "facts",
              "contributions", "handovers", "tickets", "money_tx", "money_postings",
              "money_receipts")  # fmt: skip
    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # A bulk load of rows whose references are written in the same load: the foreign
        # keys' triggers are off for this session only (cases and items name each other).
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET synchronous_commit = off")
        raw.commit()
        # PostgreSQL takes one batch while Python makes the next (the COPY waits on the
        # server with the GIL released).
        batches: queue.Queue[dict[str, list[str]] | None] = queue.Queue(maxsize=2)
        failed: list[BaseException] = []

        def writer() -> None:
            while (batch := batches.get()) is not None:
                if failed:
                    continue  # drain, so the maker never blocks on a dead writer
                try:
                    _flush(cursor, batch, tables)
                    raw.commit()
                except BaseException as exc:  # noqa: BLE001 - re-raised in the maker below
                    failed.append(exc)

        writing = threading.Thread(target=writer, daemon=True)
        writing.start()
        out: dict[str, list[str]] = {name: [] for name in COPY_INTO}
        made = 0
        for n in range(1, cases + 1):
            if ((n - 1) % offices) % parts != part:
                continue
            gen.case(n, first + timedelta(days=(n - 1) * 365 // cases), out)
            made += 1
            if made % 20000 == 0:
                batches.put(out)
                out = {name: [] for name in COPY_INTO}
                print(f"  {_clock()} {perf_counter() - began:6.0f} s: part {part + 1}/{parts}:"
                      f" {made:,} cases, {gen.built.events:,} events", flush=True)  # fmt: skip
            if failed:
                break
        gen.handovers(out)
        gen.tickets(cases, first, out)
        batches.put(out)
        batches.put(None)
        writing.join()
        if failed:
            raise failed[0]
    finally:
        raw.close()
        engine.dispose()
    return gen.built


def _clock() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S UTC")


def _load_money(cursor: Any, raw: Any, progress: Any, began: float) -> None:
    """The staged money into the ledger, with its triggers on (this connection is not a
    replica): each batch of transactions is written with its postings and receipts in one
    database transaction, so the deferred triggers check at commit that every transaction
    balances, has two postings or more and, for a payment, its receipt; the postings' own
    trigger that they are written with their transaction. Receipts are numbered per post
    office and year in the order they were issued, as ``core.money.receipts`` numbers them."""
    cursor.execute(
        "INSERT INTO money_accounts (key, kind, ref_id)"
        " SELECT key, split_part(key, ':', 1), NULLIF(split_part(key, ':', 2), '')::int"
        " FROM (SELECT DISTINCT account_key AS key FROM sla_bench_money_postings) k"
        " ORDER BY key ON CONFLICT (key) DO NOTHING"
    )
    cursor.execute(
        "CREATE TEMP TABLE sla_bench_numbered AS SELECT r.*, row_number() OVER"
        " (PARTITION BY r.post_office_id, r.year ORDER BY r.issued_at, r.transaction_id)"
        " AS serial FROM sla_bench_money_receipts r"
    )
    cursor.execute("SELECT coalesce(max(id), 0) FROM sla_bench_money_tx")
    (last,) = cursor.fetchone()
    raw.commit()
    step = 200_000
    for low in range(0, last + 1, step):
        bounds = {"low": low, "high": low + step}
        cursor.execute(
            "INSERT INTO money_transactions (id, kind, idempotency_key, case_id, method,"
            " reference, actor_user_id, post_office_id, occurred_at, recorded_at, details)"
            " SELECT id, kind, idempotency_key, case_id, method, reference, actor_user_id,"
            " post_office_id, occurred_at, recorded_at, details FROM sla_bench_money_tx"
            " WHERE id >= %(low)s AND id < %(high)s ORDER BY id",
            bounds,
        )
        cursor.execute(
            "INSERT INTO money_postings (transaction_id, account_id, amount_vnd, line, case_id)"
            " SELECT p.transaction_id, a.id, p.amount, p.line, p.case_id"
            " FROM sla_bench_money_postings p JOIN money_accounts a ON a.key = p.account_key"
            " WHERE p.transaction_id >= %(low)s AND p.transaction_id < %(high)s"
            " ORDER BY p.transaction_id",
            bounds,
        )
        cursor.execute(
            "INSERT INTO money_receipts (number, serial, post_office_id, year, kind, case_id,"
            " transaction_id, payer, method, lines, total_vnd, issued_at, issued_by_user_id)"
            " SELECT 'BL-' || po.code || '-' || r.year || '-' || lpad(r.serial::text, 6, '0'),"
            " r.serial, r.post_office_id, r.year, 'receipt', r.case_id, r.transaction_id,"
            " r.payer, r.method, r.lines, r.total, r.issued_at, r.issued_by"
            " FROM sla_bench_numbered r JOIN post_offices po ON po.id = r.post_office_id"
            " WHERE r.transaction_id >= %(low)s AND r.transaction_id < %(high)s",
            bounds,
        )
        raw.commit()  # the deferred balance, completeness and receipt checks run here
    cursor.execute(
        "INSERT INTO money_receipt_series (post_office_id, year, last_serial)"
        " SELECT post_office_id, year, max(serial) FROM sla_bench_numbered"
        " GROUP BY post_office_id, year"
    )
    for table in ("sla_bench_numbered", "sla_bench_money_receipts", "sla_bench_money_postings",
                  "sla_bench_money_tx"):  # fmt: skip
        cursor.execute(f"DROP TABLE {table}")
    raw.commit()
    progress(f"  {_clock()} {perf_counter() - began:6.0f} s: money ledger written")


def _roll_up(cursor: Any, progress: Any) -> None:
    """The contributions summed per day × place, then spread over every grain, daily and
    monthly (what ``core.sla.measures.expand`` does for one subject)."""
    cursor.execute(
        "CREATE TEMP TABLE sla_bench_base AS SELECT measure, day, province, po, office,"
        " courier, procedure, sum(total) AS total, sum(hits) AS hits, sum(value) AS value"
        " FROM sla_bench_contributions"
        " GROUP BY measure, day, province, po, office, courier, procedure"
    )
    cursor.execute("DROP TABLE sla_bench_contributions")
    progress("contributions summed per day and place")
    columns = {"post_office_id": "po", "office_id": "office", "courier_id": "courier",
               "procedure_id": "procedure"}  # fmt: skip
    for grain, dims in GRAINS.items():
        pick = ", ".join(columns[d] if d in dims else "0" for d in columns)
        group = ", ".join(columns[d] for d in dims)
        for suffix, day in (("", "day"), (MONTHLY, "date_trunc('month', day)::date")):
            cursor.execute(
                "INSERT INTO sla_daily (grain, province_code, day, measure, post_office_id,"
                " office_id, courier_id, procedure_id, total, hits, value_sum)"
                f" SELECT '{grain}{suffix}', province, {day}, measure, {pick}, sum(total),"
                f" sum(hits), sum(value) FROM sla_bench_base"
                f" GROUP BY province, {day}, measure{', ' + group if group else ''}"
            )
        progress(f"grain {grain} rolled up")
    cursor.execute("DROP TABLE sla_bench_base")


def check_sample(factory: sessionmaker[Session], settings: Settings, *, now: datetime,
                 size: int = 2000, seed: int = 11) -> tuple[int, int]:  # fmt: skip
    """The real roll-up (``core.sla.rollup.refresh``) recomputes a sample of cases (and of
    those with money in the ledger), hand-overs and queue tickets from the written rows.
    Returns (subjects checked, subjects whose fact row or counters it would change); rolled
    back, so it changes nothing."""
    rnd = random.Random(seed)
    facts = text(
        "SELECT subject, subject_id, province_code, post_office_id, office_id, courier_id,"
        " procedure_id, open_stage, due_at, item_id, contributions FROM sla_facts"
        " WHERE (subject = 'case' AND subject_id = ANY(:cases))"
        " OR (subject = 'handover' AND subject_id = ANY(:handovers))"
        " OR (subject = 'ticket' AND subject_id = ANY(:tickets)) ORDER BY 1, 2"
    )
    totals = text("SELECT measure, sum(total), sum(hits), sum(value_sum) FROM sla_daily"
                  " WHERE grain = 'p@m' GROUP BY measure ORDER BY measure")  # fmt: skip
    with factory() as session:
        case_ids = list(session.scalars(text("SELECT id FROM cases")))
        handover_ids = list(session.scalars(text("SELECT id FROM handovers")))
        ticket_ids = list(session.scalars(text("SELECT id FROM counter_tickets")))
        money_ids = list(session.scalars(text(
            "SELECT DISTINCT case_id FROM money_postings WHERE case_id IS NOT NULL")))  # fmt: skip
        cases = set(rnd.sample(case_ids, min(size, len(case_ids))))
        cases |= set(rnd.sample(money_ids, min(size // 4, len(money_ids))))
        chosen = {
            "cases": sorted(cases),
            "handovers": rnd.sample(handover_ids, min(size // 4, len(handover_ids))),
            "tickets": rnd.sample(ticket_ids, min(size // 4, len(ticket_ids))),
        }
        before = session.execute(facts, chosen).all()
        counters = session.execute(totals).all()
        changed = refresh(session, settings, cases=chosen["cases"],
                          handovers=chosen["handovers"], tickets=chosen["tickets"],
                          now=now)  # fmt: skip
        after = session.execute(facts, chosen).all()
        moved = session.execute(totals).all() != counters
        differ = sum(1 for a, b in zip(before, after, strict=True) if a != b)
        session.rollback()
    checked = len(chosen["cases"]) + len(chosen["handovers"]) + len(chosen["tickets"])
    return checked, max(changed, differ, int(moved))
