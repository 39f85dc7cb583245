"""Service-quality dashboards (/sla), their exports, the monthly report, and the JSON API.

Every level uses one page: which figures a person may see is ``core.access.sla_reach``
(a supervisor their province and all in it, a dispatcher their post office, a desk officer
their office, a courier their own). Figures come from the roll-ups (core.sla.report).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.citizens.auth import CurrentCitizen
from api.staff import staff_user
from api.web import page_user, render, request_lang
from core.access import SlaReach, default_sla_reach, sla_reach
from core.booking.service import RATING_REASONS
from core.errors import DomainError, InvalidInput
from core.identity.models import User
from core.settings import Settings
from core.sla.complaints import answer_complaint, complaints_of_province, file_complaint
from core.sla.measures import MEASURES, NOT_YET_MEASURED
from core.sla.monthly import monthly_report_pdf
from core.sla.report import (
    STAGES,
    BreakdownRow,
    Figure,
    LateItem,
    Period,
    Point,
    QueueMedians,
    breakdown,
    breakdowns_of,
    bucket_of,
    check_measure,
    figures,
    late_now,
    period_of,
    place_name,
    queue_medians,
    reason_counts,
    trends,
)
from core.sla.tables import (
    BY_TITLES,
    Table,
    breakdown_table,
    figures_table,
    late_table,
    to_csv,
    to_xlsx,
)
from edge.deps import NowDep, SessionDep, SettingsDep
from edge.errors import status_for
from labels.charts import Bar, rate_chart
from vntime import VN

page_router = APIRouter(include_in_schema=False)
router = APIRouter(prefix="/api/v1/sla", tags=["sla"])
citizen_router = APIRouter(prefix="/api/v1/my", tags=["citizen"])
QualityPage = Annotated[User, Depends(page_user("quality"))]
QualityStaff = Annotated[User, Depends(staff_user("quality"))]


@dataclass(frozen=True)
class Asked:
    """The query every view of the dashboard takes."""

    level: str | None = None
    id: str | None = None
    range: str | None = None
    start: str | None = None
    end: str | None = None


def _asked(
    level: str | None = None,
    id: str | None = None,
    range: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Asked:
    return Asked(level, id, range, start, end)


AskedDep = Annotated[Asked, Depends(_asked)]


@dataclass
class Dashboard:
    reach: SlaReach
    name: str
    period: Period
    figures: list[Figure]
    trends: dict[str, list[Point]]
    breakdowns: dict[str, list[BreakdownRow]]
    late: list[LateItem]
    reasons: dict[str, int]
    queue: QueueMedians


def _reach(session: Session, user: User, asked: Asked) -> SlaReach:
    if asked.level is None and asked.id is None:
        return default_sla_reach(session, user)
    if asked.level is None or asked.id is None:
        raise InvalidInput("give both level and id, or neither", field="level")
    return sla_reach(session, user, asked.level, asked.id)


def _period(settings: Settings, asked: Asked, now: datetime) -> Period:
    return period_of(settings, range_name=asked.range, start=asked.start, end=asked.end,
                     today=now.astimezone(VN).date())  # fmt: skip


def build(
    session: Session, settings: Settings, user: User, asked: Asked, now: datetime, lang: str
) -> Dashboard:
    reach = _reach(session, user, asked)
    period = _period(settings, asked, now)
    return Dashboard(
        reach=reach,
        name=place_name(session, reach, lang),
        period=period,
        figures=figures(session, reach, period),
        trends=trends(session, reach, period),
        breakdowns={by: breakdown(session, reach, period, by, lang) for by in breakdowns_of(reach)},
        late=late_now(session, reach, now=now),
        reasons=reason_counts(session, reach, period),
        queue=queue_medians(session, reach, period),
    )


def _label(on: date, bucket: str) -> str:
    return on.strftime("%m/%Y") if bucket == "month" else on.strftime("%d/%m")


def _charts(board: Dashboard, lang: str) -> dict[str, str]:
    bucket = bucket_of(board.period)
    out = {}
    for key, points in board.trends.items():
        m = MEASURES[key]
        out[key] = rate_chart(
            [Bar(_label(p.start, bucket), p.rate, p.total) for p in points],
            title=m.en if lang == "en" else m.vi,
            goal=m.goal,
            lower_is_better=m.kind == "lower_is_better",
        )
    return out


def _query(board: Dashboard, **extra: str) -> str:
    from urllib.parse import urlencode

    ident = board.reach.province_code if board.reach.level == "province" else board.reach.ident
    values = {
        "level": board.reach.level,
        "id": str(ident),
        "range": board.period.name,
        "start": board.period.start.isoformat(),
        "end": board.period.end.isoformat(),
    }
    values.update(extra)
    return urlencode(values)


def _may_drill(user: User, level: str, by: str) -> bool:
    """Links to a row's own dashboard, where the viewer may open it (the page refuses
    anyway; this only avoids links that would be refused)."""
    if by == "procedure":
        return False
    if user.role in ("admin", "province_supervisor"):
        return True
    return level == "post_office" and by == "courier"


@page_router.get("/sla", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    user: QualityPage,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    asked: AskedDep,
) -> HTMLResponse:
    lang = request_lang(request)
    try:
        board = build(session, settings, user, asked, now, lang)
    except DomainError as refusal:
        return render(request, "sla/refused.html", {"error": refusal},
                      status_code=status_for(refusal))  # fmt: skip
    return render(request, "sla/dashboard.html", {
        "board": board, "measures": MEASURES, "charts": _charts(board, lang),
        "not_yet": NOT_YET_MEASURED, "stages": STAGES, "rating_reasons": RATING_REASONS,
        "by_titles": BY_TITLES,
        "query": _query(board), "user_role": user.role,
        "may_drill": lambda by: _may_drill(user, board.reach.level, by),
        "any_figures": any(f.total for f in board.figures), "VN": VN, "now": now,
        "bucket": bucket_of(board.period),
        "complaints": complaints_of_province(session, board.reach.province_code or "")
        if board.reach.level == "province" and user.role in ("admin", "province_supervisor")
        else None,
        "answered": request.query_params.get("answered"),
    })  # fmt: skip


@page_router.post("/sla/complaints/{complaint_id}/answer")
def answer_page(
    request: Request,
    complaint_id: int,
    user: QualityPage,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    answer: Annotated[str, Form()] = "",
) -> Response:
    """The supervisor's answer to a complaint, from the province dashboard."""
    try:
        with session.begin_nested():
            complaint = answer_complaint(session, settings, user, complaint_id, answer, now=now)
    except DomainError as refusal:
        return render(request, "sla/refused.html", {"error": refusal},
                      status_code=status_for(refusal))  # fmt: skip
    return RedirectResponse(f"/sla?answered={complaint.id}#sla-complaints", status_code=303)


def _tables(board: Dashboard, lang: str) -> dict[str, Table]:
    tables = {
        "figures": figures_table(board.figures, lang, board.queue),
        "late": late_table(board.late, lang),
    }
    for by, rows in board.breakdowns.items():
        tables[f"by_{by}"] = breakdown_table(by, rows, lang)
    return tables


@page_router.get("/sla/export/{table}.{fmt}")
def export_table(
    request: Request,
    table: str,
    fmt: str,
    user: QualityPage,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    asked: AskedDep,
) -> Response:
    """One table of the dashboard as CSV or Excel."""
    lang = request_lang(request)
    try:
        if fmt not in ("csv", "xlsx"):
            raise InvalidInput("the format is csv or xlsx", field="fmt")
        board = build(session, settings, user, asked, now, lang)
        tables = _tables(board, lang)
        if table not in tables:
            raise InvalidInput(f"table is one of {', '.join(tables)}", field="table")
    except DomainError as refusal:
        return render(request, "sla/refused.html", {"error": refusal},
                      status_code=status_for(refusal))  # fmt: skip
    chosen = tables[table]
    stem = f"sla-{table}-{board.period.start:%Y%m%d}-{board.period.end:%Y%m%d}"
    if fmt == "csv":
        disposition = f'attachment; filename="{stem}.csv"'
        return Response(to_csv(chosen), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": disposition})  # fmt: skip
    subtitle = f"{board.name} · {board.period.start:%d/%m/%Y}–{board.period.end:%d/%m/%Y}"
    return Response(
        to_xlsx(chosen, subtitle=subtitle, made_at=now),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'},
    )


@page_router.get("/sla/report.pdf")
def monthly_report(
    request: Request,
    user: QualityPage,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    month: str = "",
    province: str = "",
) -> Response:
    """The monthly report of a province, as a provincial department files it."""
    try:
        reach = sla_reach(session, user, "province", province)
        pdf = monthly_report_pdf(session, settings, province_code=reach.province_code or "",
                                 month=month, now=now)  # fmt: skip
    except DomainError as refusal:
        return render(request, "sla/refused.html", {"error": refusal},
                      status_code=status_for(refusal))  # fmt: skip
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="bao-cao-{province}-{month}.pdf"'})  # fmt: skip


# -- JSON -------------------------------------------------------------------------------------


class FigureRead(BaseModel):
    measure: str
    label_vi: str
    label_en: str
    total: int
    hits: int
    rate: float | None
    goal: float | None
    average: float | None


class PointRead(BaseModel):
    start: date
    total: int
    hits: int


class LateRead(BaseModel):
    stage: str
    item_code: str | None
    case_id: int | None
    holder: str
    holder_name: str
    due_at: datetime
    late_hours: float


class DashboardRead(BaseModel):
    level: str
    province_code: str | None
    id: int | None
    name: str
    start: date
    end: date
    figures: list[FigureRead]
    late: list[LateRead]
    # The counter's medians in whole minutes (docs/sla.md); None without tickets.
    median_wait_minutes: int | None = None
    median_serve_minutes: int | None = None


def _figure(f: Figure) -> FigureRead:
    m = f.measure
    return FigureRead(measure=m.key, label_vi=m.vi, label_en=m.en, total=f.total, hits=f.hits,
                      rate=f.rate, goal=m.goal, average=f.average)  # fmt: skip


@router.get("/figures")
def figures_api(
    request: Request,
    user: QualityStaff,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    asked: AskedDep,
) -> DashboardRead:
    """The figures of a level for a period (``range`` today, week, month, or ``start``/
    ``end``), and what is late now. Without ``level`` and ``id``: the caller's own."""
    board = build(session, settings, user, asked, now, request_lang(request))
    return DashboardRead(
        level=board.reach.level, province_code=board.reach.province_code, id=board.reach.ident,
        name=board.name, start=board.period.start, end=board.period.end,
        figures=[_figure(f) for f in board.figures],
        late=[LateRead(stage=i.stage, item_code=i.item_code, case_id=i.case_id, holder=i.holder,
                       holder_name=i.holder_name, due_at=i.due_at, late_hours=i.late_hours)
              for i in board.late],
        median_wait_minutes=board.queue.wait_minutes,
        median_serve_minutes=board.queue.serve_minutes,
    )  # fmt: skip


@router.get("/trend")
def trend_api(
    user: QualityStaff,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    asked: AskedDep,
    measure: Annotated[str, Query()] = "pickup_on_time",
) -> list[PointRead]:
    """One measure per day (per week past two months, per month past a year)."""
    check_measure(measure)
    reach = _reach(session, user, asked)
    period = _period(settings, asked, now)
    return [PointRead(start=p.start, total=p.total, hits=p.hits)
            for p in trends(session, reach, period).get(measure, [])]  # fmt: skip


class ComplaintCreate(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class ComplaintRead(BaseModel):
    id: int
    case_id: int
    created_at: datetime
    due_at: datetime


@citizen_router.post("/cases/{case_id}/complaints", status_code=201)
def complain(
    case_id: int,
    body: ComplaintCreate,
    citizen: CurrentCitizen,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> ComplaintRead:
    """A complaint about one of the citizen's cases; the province supervisor answers it
    within the province's complaint target (days)."""
    complaint = file_complaint(session, settings, citizen, case_id, body.text, now=now)
    return ComplaintRead(id=complaint.id, case_id=complaint.case_id,
                         created_at=complaint.created_at, due_at=complaint.due_at)  # fmt: skip
