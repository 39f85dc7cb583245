"""A hand-built day of service in its own post office and office, with known answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from core.access import SlaReach
from core.booking.service import rate_case
from core.cases.models import Case
from core.cases.service import register_result
from core.custody.parties import party
from core.custody.service import record_one
from core.handovers.service import complete_handover, open_handover, receive_item
from core.identity.models import User
from core.identity.service import actor_for
from core.papers.codes import record_dossier_code
from core.places.models import Office, PostOffice
from core.settings import Settings
from core.sla.rollup import catch_up
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of, make_case, make_office, make_post_office, make_user
from tests.journey import both_signatures
from vntime import VN

# Monday 23 November 2026 in Vietnam: every pickup window is 08:00–10:00 that day.
DAY = date(2026, 11, 23)


def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=VN) + timedelta(
        days=day_offset
    )


@dataclass
class World:
    post_office: PostOffice
    office: Office
    courier: User
    desk: User
    citizen: User
    cases: list[Case] = field(default_factory=list)
    late_pickups: list[str] = field(default_factory=list)
    undelivered: list[str] = field(default_factory=list)

    @property
    def province(self) -> SlaReach:
        return SlaReach("province", province_code=self.post_office.province_code)

    @property
    def at_post_office(self) -> SlaReach:
        return SlaReach("post_office", province_code="24", ident=self.post_office.id)


def build_day(db: Session, settings: Settings, *, province: str = "24") -> World:
    """Ten bookings, 08:00–10:00 on ``DAY``:

    - pickups: 7 at 09:00 (on time), 3 at 11:00 (late) → 7 of 10 on time;
    - desk: cases 0–4 confirmed at 15:00 the same day (6 h, within 24 h), cases 5–7 at 10:00
      two days later (> 24 h), cases 8–9 never (late now, at the courier);
    - results (appointment DAY+3) for cases 0–3: 0 and 1 delivered DAY+3 at the first
      attempt; 2 fails DAY+3 and is delivered DAY+4 (late, not first); 3 fails and is
      returned to the office DAY+4. → on time 2 of 3, first attempt 2 of 4, returns 1 of 4;
    - ratings: case 0 five stars (on time, courteous), case 1 three (late) → satisfied 1 of
      2, response 2 of 3;
    - the desk's hand-overs: one sitting of 20 minutes (cases 0–4), one of 45 (cases 5–7)
      → within 30 minutes: 1 of 2.
    """
    post_office = make_post_office(db, name="Bưu cục Ngày Mẫu", province_code=province)
    office = make_office(db, name_vi="Bộ phận một cửa Ngày Mẫu", province_code=province)
    courier = make_user(db, "courier", post_office_id=post_office.id, full_name="Lê Văn Bưu")
    desk = make_user(db, "desk_officer", office_id=office.id)
    citizen = make_user(db, "citizen")
    world = World(post_office, office, courier, desk, citizen)
    c, d = actor_for(courier), actor_for(desk)
    for i in range(10):
        case = make_case(db, settings, post_office=post_office, office=office,
                         pickup_window_start=at(0, 8), pickup_window_end=at(0, 10),
                         citizen_user_id=citizen.id,
                         now=at(-1, 12))  # fmt: skip
        world.cases.append(case)
        code = dossier_of(db, case).code
        picked = at(0, 9) if i < 7 else at(0, 11)
        record_one(db, c, scan("picked_up", code, details=PICKUP_DETAILS, occurred_at=picked))
    codes = [dossier_of(db, case).code for case in world.cases]
    _sitting(db, courier, office, codes[0:5], at(0, 15), minutes=20)
    _sitting(db, courier, office, codes[5:8], at(2, 10), minutes=45)
    world.undelivered = codes[8:10]
    for i, case in enumerate(world.cases[:4]):
        # The desk records the code and its appointment (DAY+3): a sealed record, as in life.
        record_dossier_code(
            db, settings, case, f"000.00.24.H05-{DAY:%y%m%d}-{case.id % 10000:04d}",
            DAY + timedelta(days=3),
            actor=d, recorded_by=desk.full_name, source="desk", now=at(2, 11),
        )  # fmt: skip
        result = register_result(db, settings, d, case, now=at(3, 7)).code
        record_one(db, c, scan("handover_offered", result, to_party=c.party,
                               occurred_at=at(3, 7, 30)))  # fmt: skip
        record_one(db, d, scan("handover_confirmed", result, occurred_at=at(3, 7, 31)))
        record_one(db, c, scan("out_for_delivery", result, occurred_at=at(3, 8)))
        proof = {"proof": "otp", "otp_verified": True}
        if i < 2:
            record_one(db, c, scan("delivered", result, evidence=proof, occurred_at=at(3, 9)))
            continue
        record_one(db, c, scan("attempt_failed", result, details={"reason_code": "not_home"},
                               occurred_at=at(3, 9)))  # fmt: skip
        if i == 2:
            record_one(db, c, scan("out_for_delivery", result, occurred_at=at(4, 8)))
            record_one(db, c, scan("delivered", result, evidence=proof, occurred_at=at(4, 9)))
        else:
            record_one(
                db,
                c,
                scan(
                    "handover_offered",
                    result,
                    to_party=party("office", office.id),
                    occurred_at=at(4, 14),
                ),
            )
            record_one(db, d, scan("handover_confirmed", result, occurred_at=at(4, 15)))
    for case, stars, reasons in ((world.cases[0], 5, ["on_time", "courteous"]),
                                 (world.cases[1], 3, ["late"])):  # fmt: skip
        rate_case(db, world.citizen, case.id, stars, None, now=at(3, 12), reasons=reasons)
    catch_up(db, settings, now=datetime.now(VN))
    return world


def _sitting(
    db: Session, courier: User, office: Office, codes: list[str], start: datetime, *, minutes: int
) -> None:
    """One hand-over at the desk: opened at ``start``, every item received, completed."""
    desk_user = make_user(db, "desk_officer", office_id=office.id)
    opened = open_handover(db, actor_for(courier), giver=party("courier", courier.id),
                           receiver=party("office", office.id), item_codes=codes,
                           now=start)  # fmt: skip
    for code in codes:
        receive_item(db, actor_for(desk_user), opened.handover.id, code,
                     now=start + timedelta(minutes=minutes - 1))  # fmt: skip
    complete_handover(db, actor_for(desk_user), opened.handover.id, fees_confirmed_vnd=0,
                      now=start + timedelta(minutes=minutes), **both_signatures(db))  # fmt: skip


@dataclass
class CourierDay:
    courier: User
    colleague: User
    dispatcher: User
    citizen: User


def todays_courier_work(db: Session, settings: Settings, *, now: datetime) -> CourierDay:
    """A courier's work in the 40 minutes before ``now``, with known figures for today:

    - pickups (window ``now``-40 to -30 min): 3 inside it, 1 after it → 3 of 4 on time;
    - results: 2 delivered, one at the first attempt, one after a failed attempt → first
      attempt 1 of 2;
    - ratings: one, five stars → satisfied 1 of 1, response 1 of 2;
    - a colleague of the same post office picks one up late: never in the courier's figures.
    """

    def ago(minutes: int) -> datetime:
        return now - timedelta(minutes=minutes)

    post_office = make_post_office(db, name="Bưu cục Số Liệu")
    office = make_office(db)
    courier = make_user(db, "courier", post_office_id=post_office.id, full_name="Lê Văn Số")
    colleague = make_user(db, "courier", post_office_id=post_office.id)
    dispatcher = make_user(db, "dispatcher", post_office_id=post_office.id)
    desk = make_user(db, "desk_officer", office_id=office.id)
    citizen = make_user(db, "citizen")
    c, d = actor_for(courier), actor_for(desk)
    cases = []
    for i in range(5):
        case = make_case(db, settings, post_office=post_office, office=office,
                         pickup_window_start=ago(40), pickup_window_end=ago(30),
                         citizen_user_id=citizen.id, now=ago(60))  # fmt: skip
        by = c if i < 4 else actor_for(colleague)
        picked = ago(35) if i < 3 else ago(25)
        record_one(db, by, scan("picked_up", dossier_of(db, case).code, details=PICKUP_DETAILS,
                                occurred_at=picked))  # fmt: skip
        cases.append(case)
    proof = {"proof": "otp", "otp_verified": True}
    for i, case in enumerate(cases[:2]):
        result = register_result(db, settings, d, case, now=ago(20)).code
        record_one(db, c, scan("handover_offered", result, to_party=c.party,
                               occurred_at=ago(19)))  # fmt: skip
        record_one(db, d, scan("handover_confirmed", result, occurred_at=ago(18)))
        record_one(db, c, scan("out_for_delivery", result, occurred_at=ago(17)))
        if i == 1:
            record_one(db, c, scan("attempt_failed", result, details={"reason_code": "not_home"},
                                   occurred_at=ago(15)))  # fmt: skip
            record_one(db, c, scan("out_for_delivery", result, occurred_at=ago(12)))
        record_one(db, c, scan("delivered", result, evidence=proof, occurred_at=ago(10)))
    rate_case(db, citizen, cases[0].id, 5, None, now=ago(5), reasons=["on_time"])
    catch_up(db, settings, now=now)
    return CourierDay(courier, colleague, dispatcher, citizen)
