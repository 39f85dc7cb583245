"""The dispatcher's page (/dispatch) and the JSON it uses (/api/v1/dispatch/...).

Thin: every decision is in ``core.dispatch.service``. A dispatcher sees and changes only
their own post office; an admin names one (``post_office`` code). The JSON endpoints use
the same web session as the page (cookie, SameSite=Strict) and answer 401/403 as JSON.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Security
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.web import optional_web_user, page_user, render
from core.access import reach_of, require_area, require_post_office
from core.cases.models import Booking, Case
from core.dispatch.day import post_office_by_code, today_in_vietnam
from core.dispatch.live import started_plan
from core.dispatch.models import RouteStop
from core.dispatch.reasons import reason_code
from core.dispatch.service import DayView, day_view, move_stop, plan_day, set_lock
from core.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from core.identity.models import User
from core.places.models import Office, PostOffice
from edge.deps import NowDep, SessionDep, SettingsDep
from edge.security import session_cookie
from edge.texts import Lang, text

page_router = APIRouter(include_in_schema=False)
router = APIRouter(prefix="/api/v1/dispatch", tags=["dispatch"])

COLOURS = ("#0b5cab", "#c2410c", "#15803d", "#7c3aed", "#be123c", "#0e7490", "#a16207",
           "#4d7c0f", "#9d174d", "#1d4ed8", "#b45309", "#047857")  # fmt: skip
KIND_LABELS = {
    "home_pickup": ("Nhận hồ sơ tại nhà", "Pickup at home"),
    "office_drop": ("Nộp hồ sơ tại một cửa", "Drop at office"),
    "office_pickup": ("Nhận kết quả tại một cửa", "Collect result at office"),
    "home_delivery": ("Phát kết quả tại nhà", "Deliver result at home"),
    "post_office_drop": ("Để lại tại bưu cục", "Leave at post office"),
    "post_office_pickup": ("Nhận tại bưu cục", "Take at post office"),
}
STATUS_LABELS = {
    "planned": ("Dự kiến", "Planned"),
    "arrived": ("Đang thực hiện", "In progress"),
    "done": ("Đã xong", "Done"),
    "failed": ("Không thành công", "Failed"),
}
POSITION_LABELS = {
    "gps": ("GPS của người dân", "citizen's GPS"),
    "geocoder": ("tra địa chỉ", "geocoded address"),
    "centroid": ("tâm xã/phường", "commune centre"),
    "office": ("vị trí một cửa", "office location"),
}


def reason_text(reason: str | None, lang: Lang) -> str:
    """Why a stop is unassigned, from the catalogue (a stored planner sentence maps to its
    code first, so no stop shows an English sentence or an empty reason)."""
    return text(reason_code(reason), None, lang)


# -- who and where ----------------------------------------------------------------------------


def dispatch_api_user(
    user: Annotated[User | None, Depends(optional_web_user)],
    # The page's session cookie, declared for the OpenAPI document.
    _cookie: Annotated[str | None, Security(session_cookie)],
) -> User:
    if user is None:
        raise Unauthorized("sign in as a dispatcher first", field="authorization")
    require_area(user, "dispatch", field="role")
    return user


def _post_office(session: Session, user: User, code: str | None) -> PostOffice:
    reach = reach_of(user)
    if not reach.everything:
        post = session.get(PostOffice, reach.post_office_id)
        assert post is not None
        if code and code != post.code:
            raise Forbidden("a dispatcher plans only their own post office", field="post_office")
        return post
    if code:
        return post_office_by_code(session, code)
    post = session.scalar(select(PostOffice).order_by(PostOffice.code).limit(1))
    if post is None:
        raise NotFound("no post office exists yet", field="post_office")
    return post


DispatchUser = Annotated[User, Depends(dispatch_api_user)]
PostOfficeCode = Annotated[
    str | None, Query(alias="post_office", description="Post office code (admins only).")
]


# -- schemas -------------------------------------------------------------------------------------


class StopRead(BaseModel):
    id: int
    kind: str
    kind_label: str
    status: str
    courier_id: int | None
    sequence: int | None
    eta: datetime | None
    window_start: datetime
    window_end: datetime
    lat: float
    lon: float
    position_source: str | None
    position_accuracy_m: float | None
    locked: bool
    paired_stop_id: int | None
    case_id: int | None
    label: str
    unassigned_reason: str | None
    unassigned_reason_code: str | None


class CourierRead(BaseModel):
    id: int
    name: str
    colour: str
    stops: list[StopRead]


class PlanRead(BaseModel):
    id: int
    trigger: str
    planned_at: datetime
    engine: str
    matrix_source: str
    wall_time_s: float
    stops_assigned: int
    stops_unassigned: int
    distance_km: float
    breaks: dict[str, Any]


class PostOfficeRead(BaseModel):
    id: int
    code: str
    name: str
    lat: float
    lon: float


class DayRead(BaseModel):
    post_office: PostOfficeRead
    date: date
    plan: PlanRead | None
    couriers: list[CourierRead]
    unassigned: list[StopRead]


class PlanRequest(BaseModel):
    date: date
    time_limit_s: float | None = Field(default=None, gt=0, le=60)


class MoveRequest(BaseModel):
    courier_id: int


class LockRequest(BaseModel):
    locked: bool


# -- reading ------------------------------------------------------------------------------------


def _labels(session: Session, stops: list[RouteStop]) -> dict[int, str]:
    case_ids = {s.case_id for s in stops if s.case_id is not None}
    office_ids = {s.office_id for s in stops if s.office_id is not None}
    bookings: dict[int, Booking] = {}
    if case_ids:
        query = (
            select(Case.id, Booking)
            .join(Booking, Booking.id == Case.booking_id)
            .where(Case.id.in_(case_ids))
        )
        bookings = {row[0]: row[1] for row in session.execute(query)}
    offices = (
        {o.id: o for o in session.scalars(select(Office).where(Office.id.in_(office_ids)))}
        if office_ids
        else {}
    )
    out: dict[int, str] = {}
    for s in stops:
        if s.office_id is not None and s.office_id in offices:
            out[s.id] = offices[s.office_id].name_vi
        elif s.case_id in bookings:
            b = bookings[s.case_id]
            out[s.id] = f"{b.contact_name} — {b.address_text}"
        else:
            out[s.id] = f"#{s.id}"
    return out


def day_read(session: Session, view: DayView, lang: Lang = "vi") -> DayRead:
    labels = _labels(session, view.stops)

    def stop_read(s: RouteStop) -> StopRead:
        vi, en = KIND_LABELS.get(s.kind, (s.kind, s.kind))
        unassigned = s.courier_id is None
        code = reason_code(s.unassigned_reason) if unassigned else None
        return StopRead(
            id=s.id, kind=s.kind, kind_label=en if lang == "en" else vi, status=s.status,
            courier_id=s.courier_id, sequence=s.sequence, eta=s.eta,
            window_start=s.window_start, window_end=s.window_end, lat=s.lat, lon=s.lon,
            position_source=s.position_source, position_accuracy_m=s.position_accuracy_m,
            locked=s.locked, paired_stop_id=s.paired_stop_id, case_id=s.case_id,
            label=labels[s.id], unassigned_reason=reason_text(code, lang) if code else None,
            unassigned_reason_code=code,
        )  # fmt: skip

    couriers = []
    for index, courier in enumerate(view.couriers):
        own = [s for s in view.stops if s.courier_id == courier.id]
        own.sort(key=lambda s: s.sequence or 0)
        couriers.append(CourierRead(id=courier.id, name=courier.full_name,
                                    colour=COLOURS[index % len(COLOURS)],
                                    stops=[stop_read(s) for s in own]))  # fmt: skip
    header = view.header
    plan = None
    if header is not None:
        plan = PlanRead(
            id=header.id, trigger=header.trigger, planned_at=header.planned_at,
            engine=header.engine, matrix_source=header.matrix_source,
            wall_time_s=header.wall_time_s, stops_assigned=header.stops_assigned,
            stops_unassigned=header.stops_unassigned,
            distance_km=round(header.distance_m / 1000, 1), breaks=header.breaks,
        )  # fmt: skip
    post = view.post_office
    return DayRead(
        post_office=PostOfficeRead(id=post.id, code=post.code, name=post.name, lat=post.lat,
                                   lon=post.lon),
        date=view.day,
        plan=plan,
        couriers=couriers,
        unassigned=[stop_read(s) for s in view.stops if s.courier_id is None],
    )  # fmt: skip


def _day(value: date | None, now: datetime) -> date:
    return value or today_in_vietnam(now)


@router.get("/day", response_model=DayRead, summary="A post office's plan for a day")
def get_day(
    request: Request,
    session: SessionDep,
    user: DispatchUser,
    now: NowDep,
    day: Annotated[date | None, Query(alias="date")] = None,
    post_office: PostOfficeCode = None,
) -> DayRead:
    post = _post_office(session, user, post_office)
    view = day_view(session, post_office_id=post.id, day=_day(day, now))
    return day_read(session, view, "en" if request.query_params.get("lang") == "en" else "vi")


@router.post("/plan", response_model=DayRead, summary="Plan or re-plan the day")
def post_plan(
    session: SessionDep,
    settings: SettingsDep,
    user: DispatchUser,
    now: NowDep,
    body: PlanRequest,
    post_office: PostOfficeCode = None,
) -> DayRead:
    """Started and finished stops stay; locked stops stay with their courier."""
    post = _post_office(session, user, post_office)
    trigger = "replan" if started_plan(session, post.id, body.date) else "plan"
    plan_day(session, settings, post_office_id=post.id, day=body.date, now=now,
             time_limit_s=body.time_limit_s, trigger=trigger, user_id=user.id)  # fmt: skip
    return day_read(session, day_view(session, post_office_id=post.id, day=body.date))


def _own_stop(session: Session, user: User, stop_id: int) -> RouteStop:
    row = session.get(RouteStop, stop_id)
    if row is None:
        raise NotFound(f"no stop {stop_id}", field="stop_id")
    require_post_office(user, row.post_office_id, "stop", field="stop_id")
    return row


@router.post("/stops/{stop_id}/move", response_model=DayRead,
             summary="Give a stop (and its pair) to another courier")  # fmt: skip
def post_move(
    stop_id: int,
    session: SessionDep,
    settings: SettingsDep,
    user: DispatchUser,
    now: NowDep,
    body: MoveRequest,
) -> DayRead:
    """The stop is locked to that courier and the rest of the day re-planned (interactive
    budget). 409 with the reason, and nothing changed, when the courier cannot take it."""
    row = _own_stop(session, user, stop_id)
    move_stop(session, settings, stop_id=stop_id, courier_id=body.courier_id, now=now, user=user)
    return day_read(session, day_view(session, post_office_id=row.post_office_id,
                                      day=row.service_date))  # fmt: skip


@router.post("/stops/{stop_id}/lock", response_model=DayRead,
             summary="Lock a stop (and its pair) to its courier, or release it")  # fmt: skip
def post_lock(
    stop_id: int, session: SessionDep, settings: SettingsDep, user: DispatchUser, body: LockRequest
) -> DayRead:
    """409 with the reason, and nothing changed, for a stop that is done or under way."""
    row = _own_stop(session, user, stop_id)
    set_lock(session, stop_id=stop_id, locked=body.locked, user=user, settings=settings)
    return day_read(session, day_view(session, post_office_id=row.post_office_id,
                                      day=row.service_date))  # fmt: skip


# -- the page ----------------------------------------------------------------------------------


@page_router.get("/dispatch", response_class=HTMLResponse)
def dispatch_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: Annotated[User, Depends(page_user("dispatch"))],
    day: Annotated[str | None, Query(alias="date")] = None,
    post_office: PostOfficeCode = None,
) -> HTMLResponse:
    try:
        chosen = date.fromisoformat(day) if day else today_in_vietnam(now)
    except ValueError:
        raise InvalidInput(f"{day!r} is not a date YYYY-MM-DD", field="date") from None
    post = _post_office(session, user, post_office)
    view = day_view(session, post_office_id=post.id, day=chosen)
    lang: Lang = "en" if request.query_params.get("lang") == "en" or (
        request.cookies.get("hoso_lang") == "en" and not request.query_params.get("lang")
    ) else "vi"  # fmt: skip
    data = day_read(session, view, lang)
    return render(
        request,
        "dispatch.html",
        {
            "day": data,
            # Inside a <script> element: "</" would end it early, whatever the address says.
            "day_json": data.model_dump_json().replace("</", "<\\/"),
            "kind_labels": KIND_LABELS,
            "status_labels": STATUS_LABELS,
            "position_labels": POSITION_LABELS,
            "tile_url": settings.map_tile_url,
            "tile_attribution": settings.map_tile_attribution,
            "admin_post_office": post.code if reach_of(user).everything else None,
        },
    )
