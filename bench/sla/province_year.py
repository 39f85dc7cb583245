"""A province-year of real rows: bookings, cases, items, the custody ledger (hash-chained),
desk hand-overs and ratings, written with COPY into a scratch database, and the roll-ups
(``sla_facts``, ``sla_daily``) those rows give.

Each case follows the path a real one takes (the event rows have the columns, parties,
details and hashes ``core.custody`` writes; ``bench/sla/README.md`` lists what is left
out): booked → picked up (late for some) → handed to the office at a desk sitting (a
``handovers`` row; some a day or two later) → the paper sealed and the dossier code recorded
→ the result registered, collected by a courier, out for delivery; a failed attempt for
some, then delivered or returned to the office; a rating (1–5 stars, reason chips) for many.
Events after "now" are not written, so the last days hold open cases as a live province
does: the late list is what the measures make of them.

The roll-ups are computed by the real measure code (``core.sla.measures.case_facts`` and
``handover_facts``) on the same values the rows hold, summed per day × place in Python and
spread over the grains in SQL (what ``core.sla.rollup`` does subject by subject, set-based);
``check_sample`` then runs the real roll-up (``core.sla.rollup.refresh``) on a random sample
of the written cases and hand-overs, reading them back from the tables: it must find nothing
to change.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import threading
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
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
from core.settings import Settings
from core.sla.measures import (
    GRAINS,
    MONTHLY,
    CaseInput,
    EventRow,
    HandoverInput,
    Targets,
    case_facts,
    handover_facts,
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
    procedures: list[tuple[int, int]]  # (id, processing days)
    citizens: list[int]


@dataclass
class Built:
    cases: int = 0
    events: int = 0
    handovers: int = 0
    ratings: int = 0
    open_cases: int = 0


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
            (make_procedure(session, slug=f"bench-{n}", processing_days=days[n]).id, days[n])
            for n in range(PROCEDURES)
        ]
        templates = {
            "courier": make_user(session, "courier", post_office_id=pos[0]).id,
            "desk_officer": make_user(session, "desk_officer", office_id=offices[0]).id,
            "citizen": make_user(session, "citizen").id,
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
        ):
            places = pos if role == "courier" else offices
            home_value = {
                "courier": f"(ARRAY{places})[1 + (g - 1) / {COURIERS_PER_POST_OFFICE}]",
                "desk_officer": f"(ARRAY{places})[g]",
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
            else:
                citizens.append(uid)
    return Places(pos, offices, couriers, desks, procedures, citizens)


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
        procedure, processing_days = rnd.choices(p.procedures, self.procedure_weights)[0]
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
        # Pickup: most inside the window, some late.
        roll = rnd.random()
        picked = (start + timedelta(minutes=rnd.randrange(0, 120)) if roll < 0.9
                  else end + timedelta(minutes=rnd.randrange(10, 150)))  # fmt: skip
        if picked <= now:
            seal = {"seal_number": f"SEAL-{n}", "checklist": CHECKLIST}
            dossier.add("picked_up", picked, (courier, "courier", c_party), frm=citizen_party,
                        to=c_party, details=seal)  # fmt: skip
            desk_day = picked.astimezone(VN).date() + timedelta(
                days=rnd.choices((0, 1, 2), (0.85, 0.1, 0.05))[0]
            )
            sit = self.sitting(courier, office, desk_day)
            if sit.opened_at < picked:
                sit = self.sitting(courier, office, desk_day + timedelta(days=1))
            if sit.completed_at <= now:
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
                         dossier, result, rating, out)  # fmt: skip

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
}


BULK_TABLES = ("bookings", "cases", "items", "custody_events", "item_states", "case_ratings",
               "handovers", "sla_facts", "sla_daily")  # fmt: skip


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
            for name in ("cases", "events", "handovers", "ratings", "open_cases"):
                setattr(built, name, getattr(built, name) + getattr(part, name))
        progress(f"  {perf_counter() - began:6.0f} s: rows written")
        _roll_up(cursor)
        progress(f"  {perf_counter() - began:6.0f} s: roll-ups written; {len(rebuild)} indexes")
        for statement in rebuild:
            cursor.execute(statement)
        for table, column in (("bookings", "id"), ("cases", "id"), ("items", "id"),
                              ("handovers", "id")):  # fmt: skip
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                f" (SELECT max({column}) FROM {table}))"
            )
        # The roll-up has read everything written: its marks stand where a live one's would.
        cursor.execute(
            "INSERT INTO sla_watermarks (name, last_event_id, last_time, updated_at)"
            " SELECT 'ledger', max(id), NULL, %(now)s FROM custody_events UNION ALL"
            " SELECT 'ratings', 0, %(mark)s, %(now)s UNION ALL"
            " SELECT 'handovers', 0, %(mark)s, %(now)s",
            {"now": now, "mark": now - SETTLE},
        )
        for table in ("custody_events", "items", "cases", "bookings", "item_states",
                      "case_ratings", "handovers", "sla_facts", "sla_daily"):  # fmt: skip
            cursor.execute(f"ANALYZE {table}")
        raw.commit()
        progress(f"  {perf_counter() - began:6.0f} s: indexes built, tables analysed")
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
              "contributions", "handovers")  # fmt: skip
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
                print(f"  {perf_counter() - began:6.0f} s: part {part + 1}/{parts}: {made:,}"
                      f" cases, {gen.built.events:,} events", flush=True)  # fmt: skip
            if failed:
                break
        gen.handovers(out)
        batches.put(out)
        batches.put(None)
        writing.join()
        if failed:
            raise failed[0]
    finally:
        raw.close()
        engine.dispose()
    return gen.built


def _roll_up(cursor: Any) -> None:
    """The contributions summed per day × place, then spread over every grain, daily and
    monthly (what ``core.sla.measures.expand`` does for one subject)."""
    cursor.execute(
        "CREATE TEMP TABLE sla_bench_base AS SELECT measure, day, province, po, office,"
        " courier, procedure, sum(total) AS total, sum(hits) AS hits, sum(value) AS value"
        " FROM sla_bench_contributions"
        " GROUP BY measure, day, province, po, office, courier, procedure"
    )
    cursor.execute("DROP TABLE sla_bench_contributions")
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
    cursor.execute("DROP TABLE sla_bench_base")


def check_sample(factory: sessionmaker[Session], settings: Settings, *, now: datetime,
                 size: int = 2000, seed: int = 11) -> tuple[int, int]:  # fmt: skip
    """The real roll-up (``core.sla.rollup.refresh``) recomputes a sample of cases and
    hand-overs from the written rows. Returns (subjects checked, subjects whose fact row or
    counters it would change); rolled back, so it changes nothing."""
    rnd = random.Random(seed)
    facts = text(
        "SELECT subject, subject_id, province_code, post_office_id, office_id, courier_id,"
        " procedure_id, open_stage, due_at, item_id, contributions FROM sla_facts"
        " WHERE (subject = 'case' AND subject_id = ANY(:cases))"
        " OR (subject = 'handover' AND subject_id = ANY(:handovers)) ORDER BY 1, 2"
    )
    totals = text("SELECT measure, sum(total), sum(hits), sum(value_sum) FROM sla_daily"
                  " WHERE grain = 'p@m' GROUP BY measure ORDER BY measure")  # fmt: skip
    with factory() as session:
        case_ids = list(session.scalars(text("SELECT id FROM cases")))
        handover_ids = list(session.scalars(text("SELECT id FROM handovers")))
        chosen = {
            "cases": rnd.sample(case_ids, min(size, len(case_ids))),
            "handovers": rnd.sample(handover_ids, min(size // 4, len(handover_ids))),
        }
        before = session.execute(facts, chosen).all()
        counters = session.execute(totals).all()
        changed = refresh(session, settings, cases=chosen["cases"],
                          handovers=chosen["handovers"], now=now)  # fmt: skip
        after = session.execute(facts, chosen).all()
        moved = session.execute(totals).all() != counters
        differ = sum(1 for a, b in zip(before, after, strict=True) if a != b)
        session.rollback()
    checked = len(chosen["cases"]) + len(chosen["handovers"])
    return checked, max(changed, differ, int(moved))
