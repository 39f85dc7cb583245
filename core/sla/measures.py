"""The service-quality measures, and what one subject (a case, a desk hand-over, a
complaint) contributes to them. Pure: plain values in, contributions out; docs/sla.md defines
each measure with the same start and end events as the code below.

A contribution is counted on one day (Vietnam time) for one place: ``total`` subjects
measured, ``hits`` of them meeting the target, ``value`` the measured amount (seconds for a
duration, stars for a rating). ``expand`` spreads it over the grains a dashboard reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from vntime import VN

Kind = Literal["rate", "lower_is_better"]


@dataclass(frozen=True)
class Measure:
    key: str
    vi: str
    en: str
    kind: Kind
    # What ``value_sum / total`` means, when it means anything: shown as an average.
    average: Literal["seconds", "stars", ""] = ""
    # The goal a rate is judged against on the dashboard (a share of 1), or None.
    goal: float | None = None
    # The dashboard levels that show it (a courier has no counter queue of their own).
    levels: tuple[str, ...] = ("province", "post_office", "office", "courier")


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure("pickup_on_time", "Lấy hồ sơ đúng khung giờ hẹn",
                "Pickups within the booked window", "rate", "seconds", 0.9),
        Measure("door_to_desk", "Từ nhà dân đến bộ phận một cửa trong hạn",
                "Door to desk within target", "rate", "seconds", 0.9),
        Measure("result_on_time", "Trả kết quả đúng hẹn", "Results delivered on time",
                "rate", "seconds", 0.9),
        Measure("first_attempt", "Phát thành công ngay lần đầu",
                "Delivered at the first attempt", "rate", "", 0.9),
        Measure("returns", "Kết quả phải trả lại bộ phận một cửa",
                "Results returned to the office", "lower_is_better", "", None),
        Measure("desk_handover", "Bàn giao tại bộ phận một cửa trong hạn",
                "Desk hand-overs within target", "rate", "seconds", 0.9),
        Measure("satisfaction", "Người dân hài lòng (4–5 sao)", "Satisfied citizens (4–5 stars)",
                "rate", "stars", 0.95),
        Measure("rating_response", "Tỷ lệ người dân đánh giá", "Rating response rate",
                "rate", "", None),
        Measure("complaint_on_time", "Khiếu nại được trả lời đúng hạn",
                "Complaints answered on time", "rate", "seconds", 0.9),
        Measure("counter_wait", "Chờ tại quầy trong hạn (phiếu xếp hàng)",
                "Counter waits within target (queue tickets)", "rate", "seconds", 0.9,
                ("province", "post_office")),
        Measure("digitised_share", "Hồ sơ được số hóa", "Dossiers digitised", "rate", "",
                None, ("province", "post_office", "office")),
        Measure("fees_handed_on_time", "Phí, lệ phí thu hộ bàn giao đúng hạn",
                "Fees collected handed over on time", "rate", "seconds", 0.9,
                ("province", "post_office", "office")),
    )
}  # fmt: skip

# Reason chips of ratings are rolled up as counts under "reason:<key>" (not in MEASURES).
REASON_PREFIX = "reason:"

# A queue ticket's waiting and serving times are also counted per whole minute under
# "<prefix><minute>" (not in MEASURES: counts), so a median is read from the roll-up.
WAIT_MINUTE = "wait_min:"
SERVE_MINUTE = "serve_min:"
# Longer waits fall in this last minute bucket ("this long or longer").
LAST_MINUTE = 240

# Measures the issue names whose data hoso does not hold yet: listed, never given a figure.
NOT_YET_MEASURED: dict[str, tuple[str, str]] = {}

# Grains: which dimensions a roll-up row keeps (the others are 0). Each level of the
# dashboard reads its totals from one grain and each breakdown from another.
Dim = Literal["post_office_id", "office_id", "courier_id", "procedure_id"]
GRAINS: dict[str, tuple[Dim, ...]] = {
    "p": (),
    "po": ("post_office_id",),
    "of": ("office_id",),
    "pr": ("procedure_id",),
    "po_c": ("post_office_id", "courier_id"),
    "po_pr": ("post_office_id", "procedure_id"),
    "po_of": ("post_office_id", "office_id"),
    "of_c": ("office_id", "courier_id"),
    "of_pr": ("office_id", "procedure_id"),
    "c": ("courier_id",),
}


# Each grain is also kept per month (``"po@m"``, dated the 1st): a year's breakdown sums 12
# rows per counter, not 365.
MONTHLY = "@m"


@dataclass(frozen=True)
class Place:
    province_code: str
    post_office_id: int = 0
    office_id: int = 0
    courier_id: int = 0
    procedure_id: int = 0


@dataclass(frozen=True)
class Contribution:
    measure: str
    day: date
    place: Place
    total: int
    hits: int
    value: int

    def as_row(self) -> list[object]:
        p = self.place
        return [self.measure, self.day.isoformat(), p.province_code, p.post_office_id,
                p.office_id, p.courier_id, p.procedure_id, self.total, self.hits,
                self.value]  # fmt: skip


RollKey = tuple[str, str, date, str, int, int, int, int]  # grain, province, day, measure, dims


def expand(rows: Iterable[Sequence[object]]) -> dict[RollKey, list[int]]:
    """Stored contribution rows spread over every grain: key → [total, hits, value]."""
    out: dict[RollKey, list[int]] = {}
    for row in rows:
        measure, day, province, po, office, courier, procedure, total, hits, value = row
        values: dict[str, int] = {"post_office_id": int(str(po)), "office_id": int(str(office)),
                                  "courier_id": int(str(courier)),
                                  "procedure_id": int(str(procedure))}  # fmt: skip
        on = date.fromisoformat(str(day))
        for grain, dims in GRAINS.items():
            key: RollKey = (grain, str(province), on, str(measure),
                            values["post_office_id"] if "post_office_id" in dims else 0,
                            values["office_id"] if "office_id" in dims else 0,
                            values["courier_id"] if "courier_id" in dims else 0,
                            values["procedure_id"] if "procedure_id" in dims else 0)  # fmt: skip
            month: RollKey = (grain + MONTHLY, key[1], on.replace(day=1), *key[3:])
            for k in (key, month):
                acc = out.setdefault(k, [0, 0, 0])
                acc[0] += int(str(total))
                acc[1] += int(str(hits))
                acc[2] += int(str(value))
    return out


def difference(
    old: Iterable[Sequence[object]], new: Iterable[Sequence[object]]
) -> dict[RollKey, list[int]]:
    """What the roll-up must add (negative: take away) to move from ``old`` to ``new``."""
    delta = expand(new)
    for key, (total, hits, value) in expand(old).items():
        acc = delta.setdefault(key, [0, 0, 0])
        acc[0] -= total
        acc[1] -= hits
        acc[2] -= value
    return {k: v for k, v in delta.items() if v != [0, 0, 0]}


# -- targets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """The targets that apply to one subject (office overrides province overrides default)."""

    pickup_grace_minutes: int
    door_to_desk_hours: int
    result_days: int
    desk_handover_minutes: int
    complaint_days: int
    counter_wait_minutes: int = 30
    fees_handover_hours: int = 24


# -- cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    kind: str
    occurred_at: datetime
    actor_user_id: int | None
    to_party: str | None
    event_id: uuid.UUID
    corrects_event_id: uuid.UUID | None = None


@dataclass(frozen=True)
class CaseInput:
    case_id: int
    province_code: str
    post_office_id: int
    office_id: int
    procedure_id: int
    window_start: datetime
    window_end: datetime
    appointment_date: date | None
    dossier_item_id: int | None
    result_item_id: int | None
    dossier_events: Sequence[EventRow] = ()
    result_events: Sequence[EventRow] = ()
    rating_stars: int | None = None
    rating_reasons: Sequence[str] = ()
    cancelled: bool = False
    # When the case's state fees were taken from the citizen and handed to the office
    # (core.sla.rollup reads them from the money ledger; None: not yet, or no fee).
    fees_collected_at: datetime | None = None
    fees_handed_at: datetime | None = None


@dataclass
class Facts:
    """A subject's contributions and, when it waits on someone, its stage and deadline."""

    place: Place
    contributions: list[Contribution] = field(default_factory=list)
    open_stage: str | None = None
    due_at: datetime | None = None
    item_id: int | None = None


def vn_day(moment: datetime) -> date:
    return moment.astimezone(VN).date()


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in Vietnam: a date-only deadline ends there."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=VN)


def standing(events: Sequence[EventRow]) -> list[EventRow]:
    """The events that stand: without error declarations and the events they declare wrong."""
    declared = {e.corrects_event_id for e in events if e.kind == "error_declared"}
    return [e for e in events if e.kind != "error_declared" and e.event_id not in declared]


def _confirmed_to_office(events: Sequence[EventRow]) -> list[EventRow]:
    """The confirmations of hand-offs whose receiver was an office (custody moved to it)."""
    out = []
    pending_to: str | None = None
    for e in events:
        if e.kind == "handover_offered":
            pending_to = e.to_party
        elif e.kind == "handover_confirmed":
            if pending_to is not None and pending_to.startswith("office:"):
                out.append(e)
            pending_to = None
        elif e.kind == "handover_declined":
            pending_to = None
    return out


def _first(events: Sequence[EventRow], kind: str) -> EventRow | None:
    return next((e for e in events if e.kind == kind), None)


def case_facts(case: CaseInput, targets: Targets) -> Facts:
    place = Place(case.province_code, case.post_office_id, case.office_id, 0, case.procedure_id)
    facts = Facts(place=place)
    add = facts.contributions.append
    dossier = standing(case.dossier_events)
    kinds = {e.kind for e in dossier}
    pickup = _first(dossier, "picked_up")
    pickup_courier = (pickup.actor_user_id or 0) if pickup else 0
    if pickup is not None:
        grace = timedelta(minutes=targets.pickup_grace_minutes)
        at = pickup.occurred_at
        on_time = case.window_start - grace <= at <= case.window_end + grace
        late_by = max(0, int((at - case.window_end).total_seconds()))
        add(Contribution("pickup_on_time", vn_day(at), _with(place, pickup_courier), 1,
                         int(on_time), late_by))  # fmt: skip
    desk = next(iter(_confirmed_to_office(dossier)), None)
    if pickup is not None and desk is not None:
        seconds = max(0, int((desk.occurred_at - pickup.occurred_at).total_seconds()))
        within = seconds <= targets.door_to_desk_hours * 3600
        add(Contribution("door_to_desk", vn_day(desk.occurred_at),
                         _with(place, pickup_courier), 1, int(within), seconds))  # fmt: skip
    if pickup is not None:
        # Digitised share: dossiers received (at the door or the counter) that were scanned.
        add(Contribution("digitised_share", vn_day(pickup.occurred_at),
                         _with(place, pickup_courier), 1, int("digitised" in kinds),
                         0))  # fmt: skip
    _fee_facts(case, targets, facts, _with(place, pickup_courier))
    if case.dossier_item_id is not None and not kinds & {"cancelled", "lost"}:
        if pickup is None and "pickup_refused" not in kinds and not case.cancelled:
            facts.open_stage, facts.due_at = (
                "pickup",
                case.window_end + timedelta(minutes=targets.pickup_grace_minutes),
            )
            facts.item_id = case.dossier_item_id
        elif pickup is not None and desk is None:
            facts.open_stage = "door_to_desk"
            facts.due_at = pickup.occurred_at + timedelta(hours=targets.door_to_desk_hours)
            facts.item_id = case.dossier_item_id
    _result_facts(case, targets, facts)
    return facts


def _fee_facts(case: CaseInput, targets: Targets, facts: Facts, place: Place) -> None:
    """Fees collected on the office's behalf, from the citizen's payment to the hand-over to
    the office; counted on the hand-over day. Not handed yet: late once past the target
    (a case has one late stage: a later pickup, desk or result stage replaces it)."""
    if case.fees_collected_at is None:
        return
    limit = timedelta(hours=targets.fees_handover_hours)
    if case.fees_handed_at is not None:
        seconds = max(0, int((case.fees_handed_at - case.fees_collected_at).total_seconds()))
        facts.contributions.append(
            Contribution(
                "fees_handed_on_time",
                vn_day(case.fees_handed_at),
                place,
                1,
                int(seconds <= limit.total_seconds()),
                seconds,
            )  # fmt: skip
        )
    elif facts.open_stage is None:
        facts.open_stage, facts.due_at = "fees", case.fees_collected_at + limit
        facts.item_id = case.dossier_item_id


def _result_facts(case: CaseInput, targets: Targets, facts: Facts) -> None:
    if case.result_item_id is None:
        return
    events = standing(case.result_events)
    delivered = _first(events, "delivered")
    returns = _confirmed_to_office(events)
    outs = [e for e in events if e.kind == "out_for_delivery"]
    courier = (
        delivered.actor_user_id
        if delivered is not None
        else (outs[-1].actor_user_id if outs else None)
    ) or 0
    place = _with(facts.place, courier)
    due_day = (
        case.appointment_date + timedelta(days=targets.result_days)
        if case.appointment_date is not None
        else None
    )
    add = facts.contributions.append
    if delivered is not None:
        day = vn_day(delivered.occurred_at)
        before = [e for e in events if e.occurred_at <= delivered.occurred_at]
        failed = sum(1 for e in before if e.kind == "attempt_failed")
        returned_before = any(e.occurred_at <= delivered.occurred_at for e in returns)
        if due_day is not None:
            late_by = max(0, int((delivered.occurred_at - end_of_day(due_day)).total_seconds()))
            add(Contribution("result_on_time", day, place, 1, int(day <= due_day), late_by))
        add(Contribution("first_attempt", day, place, 1,
                         int(failed == 0 and not returned_before), 0))  # fmt: skip
        add(Contribution("returns", day, place, 1, 0, 0))
        add(Contribution("rating_response", day, place, 1, int(case.rating_stars is not None), 0))
        if case.rating_stars is not None:
            add(Contribution("satisfaction", day, place, 1, int(case.rating_stars >= 4),
                             case.rating_stars))  # fmt: skip
            # Each ticked reason chip is counted beside the stars (not a rate: a count).
            for reason in case.rating_reasons:
                add(Contribution(REASON_PREFIX + reason, day, place, 1, 1, 0))
        return
    if returns:
        day = vn_day(returns[-1].occurred_at)
        add(Contribution("first_attempt", day, place, 1, 0, 0))
        add(Contribution("returns", day, place, 1, 1, 0))
        return
    if any(e.kind == "lost" for e in events) or due_day is None:
        return
    facts.open_stage, facts.due_at = "result", end_of_day(due_day)
    facts.item_id = case.result_item_id
    facts.place = place


def _with(place: Place, courier_id: int) -> Place:
    return Place(place.province_code, place.post_office_id, place.office_id, courier_id,
                 place.procedure_id)  # fmt: skip


# -- desk hand-overs ------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoverInput:
    handover_id: int
    province_code: str
    office_id: int
    post_office_id: int
    courier_id: int
    opened_at: datetime
    completed_at: datetime | None
    status: str


def handover_facts(handover: HandoverInput, targets: Targets) -> Facts:
    """A sitting at an office desk: from opened to completed (the desk's waiting and serving
    time, until counter queue tickets exist)."""
    place = Place(handover.province_code, handover.post_office_id, handover.office_id,
                  handover.courier_id, 0)  # fmt: skip
    facts = Facts(place=place)
    limit = timedelta(minutes=targets.desk_handover_minutes)
    if handover.status == "completed" and handover.completed_at is not None:
        seconds = max(0, int((handover.completed_at - handover.opened_at).total_seconds()))
        facts.contributions.append(
            Contribution(
                "desk_handover",
                vn_day(handover.completed_at),
                place,
                1,
                int(seconds <= limit.total_seconds()),
                seconds,
            )  # fmt: skip
        )
    elif handover.status == "open":
        facts.open_stage, facts.due_at = "desk", handover.opened_at + limit
    return facts


# -- complaints -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintInput:
    complaint_id: int
    place: Place
    created_at: datetime
    due_at: datetime
    answered_at: datetime | None


def complaint_facts(complaint: ComplaintInput) -> Facts:
    """Counted on the day it is answered; while unanswered it waits in the "complaint" stage."""
    facts = Facts(place=complaint.place)
    if complaint.answered_at is not None:
        seconds = max(0, int((complaint.answered_at - complaint.created_at).total_seconds()))
        facts.contributions.append(
            Contribution(
                "complaint_on_time",
                vn_day(complaint.answered_at),
                complaint.place,
                1,
                int(complaint.answered_at <= complaint.due_at),
                seconds,
            )  # fmt: skip
        )
    else:
        facts.open_stage, facts.due_at = "complaint", complaint.due_at
    return facts


# -- counter queue tickets --------------------------------------------------------------------


@dataclass(frozen=True)
class TicketInput:
    ticket_id: int
    province_code: str
    post_office_id: int
    issued_at: datetime
    called_at: datetime | None
    finished_at: datetime | None


def _minute(seconds: int) -> int:
    return min(seconds // 60, LAST_MINUTE)


def ticket_facts(ticket: TicketInput, targets: Targets) -> Facts:
    """A citizen's queue ticket: waiting is taken → called (counted on the call's day),
    serving is called → finished (on the finish's day). Not called yet: late once past the
    waiting target."""
    place = Place(ticket.province_code, ticket.post_office_id)
    facts = Facts(place=place)
    limit = timedelta(minutes=targets.counter_wait_minutes)
    add = facts.contributions.append
    if ticket.called_at is None:
        facts.open_stage, facts.due_at = "counter", ticket.issued_at + limit
        return facts
    waited = max(0, int((ticket.called_at - ticket.issued_at).total_seconds()))
    day = vn_day(ticket.called_at)
    add(Contribution("counter_wait", day, place, 1, int(waited <= limit.total_seconds()),
                     waited))  # fmt: skip
    add(Contribution(f"{WAIT_MINUTE}{_minute(waited)}", day, place, 1, 1, 0))
    if ticket.finished_at is not None:
        served = max(0, int((ticket.finished_at - ticket.called_at).total_seconds()))
        add(Contribution(f"{SERVE_MINUTE}{_minute(served)}", vn_day(ticket.finished_at), place,
                         1, 1, served))  # fmt: skip
    return facts
