"""What the dashboards, exports and the monthly report read: figures for a period, a trend
per measure, breakdowns, and the "late now" list. All from the roll-ups (``sla_daily``) and
the per-subject facts; never a scan of the ledger.

Which grain answers which question (core.sla.measures.GRAINS):

| level       | totals | by post office | by office | by courier | by procedure |
|-------------|--------|----------------|-----------|------------|--------------|
| province    | p      | po             | of        | —          | pr           |
| post office | po     | —              | po_of     | po_c       | po_pr        |
| office      | of     | po_of          | —         | of_c       | of_pr        |
| courier     | c      | —              | —         | —          | —            |

A province has about a thousand couriers: a per-courier table over a province-year would be
millions of counters to sum, and no one reads a thousand rows; couriers are listed from a
post office or an office down.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from core.access import SlaReach
from core.cases.models import Case
from core.custody.models import Item, ItemState
from core.errors import InvalidInput
from core.identity.models import User
from core.places.models import Office, PostOffice, Procedure
from core.settings import Settings
from core.sla.measures import (
    LAST_MINUTE,
    MEASURES,
    MONTHLY,
    REASON_PREFIX,
    SERVE_MINUTE,
    WAIT_MINUTE,
    Measure,
)
from core.sla.models import SlaDaily, SlaFact
from vntime import VN

Breakdown = Literal["post_office", "office", "courier", "procedure"]
RangeName = Literal["today", "week", "month", "custom"]
RANGES: tuple[RangeName, ...] = ("today", "week", "month", "custom")

_TOTALS = {"province": "p", "post_office": "po", "office": "of", "courier": "c"}
_BREAKDOWNS: dict[str, dict[Breakdown, str]] = {
    "province": {"post_office": "po", "office": "of", "procedure": "pr"},
    "post_office": {"courier": "po_c", "office": "po_of", "procedure": "po_pr"},
    "office": {"post_office": "po_of", "courier": "of_c", "procedure": "of_pr"},
    "courier": {},
}
_DIM_COLUMN = {
    "post_office": SlaDaily.post_office_id,
    "office": SlaDaily.office_id,
    "courier": SlaDaily.courier_id,
    "procedure": SlaDaily.procedure_id,
}


def breakdowns_of(reach: SlaReach) -> tuple[Breakdown, ...]:
    return tuple(_BREAKDOWNS[reach.level])


# -- the period -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    name: RangeName = "custom"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _date(value: str | None, field: str) -> date | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    for parse in (date.fromisoformat, lambda t: datetime.strptime(t, "%d/%m/%Y").date()):
        try:
            return parse(text)
        except ValueError:
            continue
    raise InvalidInput(f"{text!r} is not a date (yyyy-mm-dd or dd/mm/yyyy)", field=field,
                       reason="sla.not_a_date", params={"value": text})  # fmt: skip


def period_of(
    settings: Settings,
    *,
    range_name: str | None,
    start: str | None,
    end: str | None,
    today: date,
) -> Period:
    """The days asked for: today, this week (Monday on), this month, or ``start``–``end``."""
    name = range_name or ("custom" if start or end else "today")
    if name not in RANGES:
        raise InvalidInput(f"range must be one of {', '.join(RANGES)}", field="range",
                           reason="sla.range_unknown")  # fmt: skip
    if name == "today":
        return Period(today, today, "today")
    if name == "week":
        return Period(today - timedelta(days=today.weekday()), today, "week")
    if name == "month":
        return Period(today.replace(day=1), today, "month")
    first, last = _date(start, "start"), _date(end, "end")
    if first is None:
        raise InvalidInput("a chosen range needs a start date", field="start",
                           reason="sla.start_missing")  # fmt: skip
    last = last or today
    if last < first:
        raise InvalidInput("the end date is before the start date", field="end",
                           reason="sla.end_before_start")  # fmt: skip
    if (last - first).days + 1 > settings.sla_max_range_days:
        raise InvalidInput(
            f"a range covers at most {settings.sla_max_range_days} days; "
            f"this one covers {(last - first).days + 1}",
            field="end",
            reason="sla.range_too_long",
            params={"most": settings.sla_max_range_days, "days": (last - first).days + 1},
        )
    return Period(first, last, "custom")


def month_period(settings: Settings, month: str) -> Period:
    """``yyyy-mm`` as a period (the monthly report)."""
    try:
        first = datetime.strptime(month.strip(), "%Y-%m").date()
    except ValueError:
        raise InvalidInput(f"{month!r} is not a month (yyyy-mm)", field="month",
                           reason="sla.not_a_month", params={"value": month}) from None  # fmt: skip
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return Period(first, following - timedelta(days=1), "custom")


def check_measure(key: str) -> Measure:
    measure = MEASURES.get(key)
    if measure is None:
        raise InvalidInput(f"unknown measure {key!r}; one of {', '.join(MEASURES)}",
                           field="measure", reason="sla.measure_unknown",
                           params={"value": key})  # fmt: skip
    return measure


# -- figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    measure: Measure
    total: int
    hits: int
    value_sum: int

    @property
    def rate(self) -> float | None:
        return self.hits / self.total if self.total else None

    @property
    def average(self) -> float | None:
        return self.value_sum / self.total if self.total and self.measure.average else None

    @property
    def meets_goal(self) -> bool | None:
        if self.rate is None or self.measure.goal is None:
            return None
        return self.rate >= self.measure.goal


def _spans(period: Period) -> tuple[list[tuple[date, date]], tuple[date, date] | None]:
    """The period as daily spans and one run of whole months: (days, (first, last month))."""
    first = period.start if period.start.day == 1 else _next_month(period.start)
    last = _next_month(period.end) - timedelta(days=1)
    last_whole = period.end.replace(day=1) if period.end == last else None
    if last_whole is None:
        last_whole = _previous_month(period.end.replace(day=1))
    if first > last_whole:
        return [(period.start, period.end)], None
    days = []
    if period.start < first:
        days.append((period.start, first - timedelta(days=1)))
    after = _next_month(last_whole)
    if after <= period.end:
        days.append((after, period.end))
    return days, (first, last_whole)


def _next_month(on: date) -> date:
    return (on.replace(day=28) + timedelta(days=4)).replace(day=1)


def _previous_month(first_of_month: date) -> date:
    return (first_of_month - timedelta(days=1)).replace(day=1)


def _over(grain: str, period: Period) -> ColumnElement[bool]:
    """The rows of ``grain`` covering the period: whole months from the monthly rows
    (``grain@m``, dated the 1st), the days around them from the daily rows. A province-year
    is then 12 monthly rows per counter instead of 365."""
    days, months = _spans(period)
    parts = [and_(SlaDaily.grain == grain, SlaDaily.day.between(a, b)) for a, b in days]
    if months is not None:
        parts.append(and_(SlaDaily.grain == grain + MONTHLY, SlaDaily.day.between(*months)))
    return or_(*parts)


def _scope(reach: SlaReach, grain: str, period: Period | None = None) -> ColumnElement[bool]:
    where = [SlaDaily.grain == grain] if period is None else [_over(grain, period)]
    if reach.level == "province":
        where.append(SlaDaily.province_code == reach.province_code)
    elif reach.level == "post_office":
        where.append(SlaDaily.post_office_id == reach.ident)
    elif reach.level == "office":
        where.append(SlaDaily.office_id == reach.ident)
    else:
        where.append(SlaDaily.courier_id == reach.ident)
    return and_(*where)


def _sums() -> tuple[Any, ...]:
    return (
        func.coalesce(func.sum(SlaDaily.total), 0),
        func.coalesce(func.sum(SlaDaily.hits), 0),
        func.coalesce(func.sum(SlaDaily.value_sum), 0),
    )


def figures(session: Session, reach: SlaReach, period: Period) -> list[Figure]:
    """Every measure for the period, in the order of ``MEASURES`` (zeros where none)."""
    rows = session.execute(
        select(SlaDaily.measure, *_sums())
        .where(_scope(reach, _TOTALS[reach.level], period))
        .group_by(SlaDaily.measure)
    ).all()  # fmt: skip
    found = {m: (int(t), int(h), int(v)) for m, t, h, v in rows}
    return [Figure(m, *found.get(k, (0, 0, 0))) for k, m in measures_at(reach.level).items()]


# Measures whose subjects belong to a post office alone (a queue ticket names no one else).
POST_OFFICE_ONLY = frozenset({"counter_wait"})


def measures_at(level: str) -> dict[str, Measure]:
    """The measures a level's dashboard shows (the counter's queue is a post office's)."""
    return {k: m for k, m in MEASURES.items() if level in m.levels}


@dataclass(frozen=True)
class QueueMedians:
    """Median waiting and serving minutes at the counter, to the whole minute: the roll-up
    counts tickets per minute ("wait_min:12" = waited 12 to 13 minutes), and the median is
    the first minute whose running count reaches half the tickets. None: no ticket."""

    wait_minutes: int | None
    serve_minutes: int | None
    tickets_waited: int
    tickets_served: int


def _median_minute(counts: dict[int, int]) -> int | None:
    total = sum(counts.values())
    if total == 0:
        return None
    running = 0
    for minute in sorted(counts):
        running += counts[minute]
        if 2 * running >= total:
            return minute
    return LAST_MINUTE


def queue_medians(session: Session, reach: SlaReach, period: Period) -> QueueMedians:
    rows = session.execute(
        select(SlaDaily.measure, func.sum(SlaDaily.total))
        .where(_scope(reach, _TOTALS[reach.level], period),
               or_(SlaDaily.measure.startswith(WAIT_MINUTE),
                   SlaDaily.measure.startswith(SERVE_MINUTE)))
        .group_by(SlaDaily.measure)
    ).all()  # fmt: skip
    waits: dict[int, int] = {}
    serves: dict[int, int] = {}
    for measure, n in rows:
        if measure.startswith(WAIT_MINUTE):
            waits[int(measure.removeprefix(WAIT_MINUTE))] = int(n)
        else:
            serves[int(measure.removeprefix(SERVE_MINUTE))] = int(n)
    return QueueMedians(_median_minute(waits), _median_minute(serves), sum(waits.values()),
                        sum(serves.values()))  # fmt: skip


def reason_counts(session: Session, reach: SlaReach, period: Period) -> dict[str, int]:
    """How often each rating reason chip was ticked (ratings of results delivered in the
    period), most frequent first."""
    rows = session.execute(
        select(SlaDaily.measure, func.sum(SlaDaily.total))
        .where(_scope(reach, _TOTALS[reach.level], period),
               SlaDaily.measure.startswith(REASON_PREFIX))
        .group_by(SlaDaily.measure)
        .order_by(func.sum(SlaDaily.total).desc())
    ).all()  # fmt: skip
    return {m.removeprefix(REASON_PREFIX): int(n) for m, n in rows if n}


@dataclass(frozen=True)
class Point:
    start: date
    total: int
    hits: int

    @property
    def rate(self) -> float | None:
        return self.hits / self.total if self.total else None


def bucket_of(period: Period) -> Literal["day", "week", "month"]:
    if period.days <= 62:
        return "day"
    return "week" if period.days <= 400 else "month"


def trends(session: Session, reach: SlaReach, period: Period) -> dict[str, list[Point]]:
    """Per measure, its rate per day (per week over a longer range, per month past a year),
    with empty buckets kept so the chart's axis is the period's."""
    bucket = bucket_of(period)
    start_of = func.date_trunc(bucket, SlaDaily.day).cast(SlaDaily.day.type)
    rows = session.execute(
        select(SlaDaily.measure, start_of, *_sums()[:2])
        .where(_scope(reach, _TOTALS[reach.level]),
               SlaDaily.day.between(period.start, period.end),
               SlaDaily.measure.in_(list(measures_at(reach.level))))
        .group_by(SlaDaily.measure, start_of)
    ).all()  # fmt: skip
    found: dict[str, dict[date, tuple[int, int]]] = defaultdict(dict)
    for measure, on, total, hits in rows:
        found[measure][on] = (int(total), int(hits))
    starts = _bucket_starts(period, bucket)
    return {key: [Point(s, *found[key].get(s, (0, 0))) for s in starts]
            for key in measures_at(reach.level)}  # fmt: skip


def _bucket_starts(period: Period, bucket: str) -> list[date]:
    if bucket == "day":
        return [period.start + timedelta(days=i) for i in range(period.days)]
    if bucket == "week":
        first = period.start - timedelta(days=period.start.weekday())
        return [first + timedelta(weeks=i) for i in range((period.end - first).days // 7 + 1)]
    out, on = [], period.start.replace(day=1)
    while on <= period.end:
        out.append(on)
        on = (on.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


@dataclass(frozen=True)
class BreakdownRow:
    ident: int
    name: str
    figures: dict[str, Figure]


def breakdown(
    session: Session, reach: SlaReach, period: Period, by: str, lang: str = "vi"
) -> list[BreakdownRow]:
    """One row per post office, office, courier or procedure, named, busiest first."""
    grains = _BREAKDOWNS[reach.level]
    if by not in grains:
        raise InvalidInput(
            f"at the {reach.level.replace('_', ' ')} level the figures break down by "
            f"{', '.join(grains) or 'nothing'}",
            field="by",
            reason="sla.breakdown_unknown",
        )
    column = _DIM_COLUMN[by]
    shown = measures_at(reach.level)
    # A ticket has a post office only: no courier, office or procedure row.
    wanted = [k for k in shown if by == "post_office" or k not in POST_OFFICE_ONLY]
    rows = session.execute(
        # Only the measures shown: a post office's rows also hold the queue's per-minute
        # counts and the reason chips (a hundred and more keys a month), which summed and
        # thrown away made the province-year's breakdown by post office ten times slower
        # than by office at a million cases (bench/sla/README.md).
        select(column, SlaDaily.measure, *_sums())
        .where(_scope(reach, grains[by], period), SlaDaily.measure.in_(wanted))
        .group_by(column, SlaDaily.measure)
    ).all()  # fmt: skip
    per: dict[int, dict[str, tuple[int, int, int]]] = defaultdict(dict)
    for ident, measure, total, hits, value in rows:
        if by == "procedure" and ident == 0:
            continue  # a desk hand-over carries many procedures: it has no row of its own
        per[int(ident)][measure] = (int(total), int(hits), int(value))
    names = _names(session, by, set(per), lang)
    out = [
        BreakdownRow(ident, names.get(ident, _unknown(ident, lang)),
                     {k: Figure(m, *per[ident].get(k, (0, 0, 0)))
                      for k, m in measures_at(reach.level).items()})
        for ident in per
    ]  # fmt: skip
    out.sort(key=lambda r: (-sum(f.total for f in r.figures.values()), r.name))
    return out


def _unknown(ident: int, lang: str) -> str:
    if ident == 0:
        return "(not recorded)" if lang == "en" else "(chưa ghi nhận)"
    return f"#{ident}"


def _names(session: Session, by: str, ids: set[int], lang: str) -> dict[int, str]:
    if not ids:
        return {}
    query: Any
    if by == "post_office":
        query = select(PostOffice.id, PostOffice.name).where(PostOffice.id.in_(ids))
    elif by == "office":
        name = Office.name_en if lang == "en" else Office.name_vi
        query = select(Office.id, name).where(Office.id.in_(ids))
    elif by == "courier":
        query = select(User.id, User.full_name).where(User.id.in_(ids))
    else:
        name = Procedure.name_en if lang == "en" else Procedure.name_vi
        query = select(Procedure.id, name).where(Procedure.id.in_(ids))
    return {int(i): str(n) for i, n in session.execute(query).all()}


def place_name(session: Session, reach: SlaReach, lang: str = "vi") -> str:
    """The dashboard's heading: the province's, post office's, office's or courier's name."""
    from core.places.models import Province

    if reach.level == "province":
        name = session.scalar(select(Province.name).where(Province.code == reach.province_code))
        return name or str(reach.province_code)
    by = {"post_office": "post_office", "office": "office", "courier": "courier"}[reach.level]
    assert reach.ident is not None
    return _names(session, by, {reach.ident}, lang).get(reach.ident, f"#{reach.ident}")


# -- late now ---------------------------------------------------------------------------------

STAGES: dict[str, tuple[str, str]] = {
    "pickup": ("Chưa lấy hồ sơ (quá khung giờ hẹn)", "Not picked up (window passed)"),
    "door_to_desk": ("Chưa bàn giao cho bộ phận một cửa", "Not yet handed to the desk"),
    "result": ("Chưa trả kết quả (quá ngày hẹn)", "Result not delivered (past appointment)"),
    "desk": ("Bàn giao tại bàn một cửa chưa xong", "Desk hand-over still open"),
    "complaint": ("Khiếu nại chưa được trả lời", "Complaint not answered"),
    "counter": ("Người dân chờ tại quầy quá hạn", "Citizen waiting at the counter too long"),
    "fees": ("Phí, lệ phí thu hộ chưa bàn giao", "Fees collected not yet handed over"),
}


@dataclass(frozen=True)
class LateItem:
    stage: str
    subject: str
    subject_id: int
    case_id: int | None
    item_code: str | None
    status: str | None
    holder: str
    holder_name: str
    due_at: datetime
    late_hours: float


def _late_scope(reach: SlaReach) -> ColumnElement[bool]:
    if reach.level == "province":
        return SlaFact.province_code == reach.province_code
    if reach.level == "post_office":
        return SlaFact.post_office_id == reach.ident
    if reach.level == "office":
        return SlaFact.office_id == reach.ident
    return or_(
        SlaFact.courier_id == reach.ident,
        ItemState.custodian == f"courier:{reach.ident}",
        and_(SlaFact.open_stage == "pickup", Case.pickup_courier_id == reach.ident),
    )


def late_now(
    session: Session, reach: SlaReach, *, now: datetime, limit: int = 200
) -> list[LateItem]:
    """What is past its target right now, most overdue first, with who holds it."""
    rows = session.execute(
        select(SlaFact.open_stage, SlaFact.subject, SlaFact.subject_id, SlaFact.due_at,
               Item.code, Item.case_id, ItemState.status, ItemState.custodian,
               Case.pickup_courier_id, SlaFact.post_office_id)
        .outerjoin(Item, Item.id == SlaFact.item_id)
        .outerjoin(ItemState, ItemState.item_id == SlaFact.item_id)
        .outerjoin(Case, Case.id == Item.case_id)
        .where(SlaFact.open_stage.is_not(None), SlaFact.due_at < now, _late_scope(reach))
        .order_by(SlaFact.due_at)
        .limit(limit)
    ).all()  # fmt: skip
    holders: list[str] = []
    for r in rows:
        holder = r.custodian or ""
        if r.open_stage == "pickup" and r.pickup_courier_id:
            holder = f"courier:{r.pickup_courier_id}"
        elif r.subject == "ticket":
            holder = f"post_office:{r.post_office_id}"  # the citizen waits at its counter
        holders.append(holder)
    names = _party_names(session, holders)
    out = []
    for r, holder in zip(rows, holders, strict=True):
        case_id = r.case_id if r.subject != "case" else r.subject_id
        out.append(LateItem(
            stage=r.open_stage, subject=r.subject, subject_id=r.subject_id, case_id=case_id,
            item_code=r.code, status=r.status, holder=holder,
            holder_name=names.get(holder, holder), due_at=r.due_at.astimezone(VN),
            late_hours=round((now - r.due_at).total_seconds() / 3600, 1),
        ))  # fmt: skip
    return out


def _party_names(session: Session, parties: list[str]) -> dict[str, str]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for value in parties:
        kind, _, ident = value.partition(":")
        if ident.isdigit():
            wanted[kind].add(int(ident))
    names: dict[str, str] = {}
    queries: dict[str, tuple[Any, Any]] = {
        "courier": (User.id, User.full_name),
        "office": (Office.id, Office.name_vi),
        "post_office": (PostOffice.id, PostOffice.name),
    }
    for kind, (ident_col, name_col) in queries.items():
        if wanted.get(kind):
            found = session.execute(
                select(ident_col, name_col).where(ident_col.in_(wanted[kind]))
            ).all()
            names.update({f"{kind}:{row[0]}": str(row[1]) for row in found})
    for value in parties:
        if value.startswith("citizen:"):
            names[value] = "Người dân / citizen"
    return names
