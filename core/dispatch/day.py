"""A post office's day as the planner sees it, read from the database.

``sync_stops`` makes sure every piece of today's work has its ``RouteStop`` rows and that
each row's status agrees with the custody ledger (the ledger is the truth about what was
picked up or delivered; the plan only says what should happen). ``build_day`` turns the
rows and the post office's couriers into a ``routing.model.Problem``: stop ids are row ids,
vehicle ids are user ids, so a plan maps straight back to rows.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session, aliased

from core.cases.models import Booking, Case
from core.custody.attempts import attempts_used_up
from core.custody.models import Item, ItemState
from core.dispatch.models import DispatchPlan, RouteStop
from core.errors import InvalidInput, NotFound
from core.identity.models import User
from core.places.models import Commune, Office, PostOffice
from core.settings import Settings
from routing.address import AddressNotRecognised, parse_address
from routing.geocode import Geocoder, PositionError, resolve_position
from routing.model import (
    AreaType,
    Break,
    Job,
    Location,
    Problem,
    Shipment,
    Stop,
    StopKind,
    TimeWindow,
    TravelMatrix,
    Vehicle,
)
from routing.road import RoadRouterConfig, road_matrix
from routing.travel import great_circle_matrix, haversine_matrix
from vntime import VN

# Vietnam keeps one offset all year (no daylight saving), so a fixed zone is exact.
DAY_S = 24 * 3600

# Status of a stop that the courier has finished (or given up on) or is standing at: it
# stays where it is in the route when the rest of the day is re-planned.
STARTED = ("arrived", "done", "failed")
PICKUP_KINDS = ("home_pickup", "office_pickup", "post_office_pickup")
# Stop kinds routing.model knows by name; the post office's own stops are "other" to it.
PLANNER_KINDS = ("home_pickup", "office_drop", "office_pickup", "home_delivery")
# First key of the two-key advisory lock on a post office's day: keeps it apart from any
# other advisory lock the application takes (a hash collision of two days only serialises).
_DAY_LOCK_SPACE = 73_001

# Item statuses with courier work still to do (a dossier to pick up or drop, a result to
# collect or deliver).
LIVE_STATUSES = (
    "booked", "picked_up", "result_registered", "collected", "out_for_delivery", "attempt_failed",
)  # fmt: skip


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VN)


def seconds_of(moment: datetime, midnight: datetime) -> int:
    return int((moment - midnight).total_seconds())


def today_in_vietnam(now: datetime) -> date:
    return now.astimezone(VN).date()


# -- positions ------------------------------------------------------------------------------


def make_geocoder(settings: Settings) -> Geocoder | None:
    """The configured geopy geocoder, or None (the default: no network)."""
    if not settings.geocoder:
        return None
    from geopy.geocoders import get_geocoder_for_service

    cls = get_geocoder_for_service(settings.geocoder)
    kwargs: dict[str, object] = {"user_agent": settings.geocoder_user_agent}
    if settings.geocoder_domain:
        kwargs["domain"] = settings.geocoder_domain
        kwargs["scheme"] = settings.geocoder_scheme
    geocoder: Geocoder = cls(**kwargs)
    return geocoder


@dataclass(frozen=True)
class _Point:
    lat: float
    lon: float
    source: str
    accuracy_m: float


def home_position(booking: Booking, geocoder: Geocoder | None) -> _Point:
    """GPS pin from the booking, else the geocoder (when configured), else the centroid.

    A booking placed without a pin carries the commune centroid (source ``centroid``); only
    then is the geocoder asked, with the parsed address, and only its answer near the commune
    is kept (``routing.geocode``).
    """
    # The booking page writes "commune_centroid" for a booking without a pin; the stop row
    # (12 characters) calls that "centroid".
    if booking.position_source not in ("centroid", "commune_centroid"):
        return _Point(booking.lat, booking.lon, booking.position_source,
                      booking.position_accuracy_m)  # fmt: skip
    if geocoder is None:
        return _Point(booking.lat, booking.lon, "centroid", booking.position_accuracy_m)
    try:
        address = parse_address(booking.address_text, province_hint=booking.province_code)
    except (AddressNotRecognised, ValueError):
        address = None
    try:
        pos = resolve_position(
            gps=None, address=address, commune_code=booking.commune_code, geocoder=geocoder
        )
    except PositionError:
        return _Point(booking.lat, booking.lon, "centroid", booking.position_accuracy_m)
    return _Point(pos.lat, pos.lon, pos.source, pos.accuracy_m)


# -- travel ---------------------------------------------------------------------------------

_ROAD_CACHE: OrderedDict[tuple[object, ...], TravelMatrix] = OrderedDict()
_ROAD_CACHE_SIZE = 8


def travel_matrix(settings: Settings, locations: list[Location]) -> TravelMatrix:
    """Road router table when configured (cached per set of points), else great-circle.

    The great-circle estimate has its own cache in ``routing.travel``. A router answer is
    kept only when it really came from the router, so a router that was down is asked
    again next time instead of its fallback being remembered.
    """
    if settings.road_router == "off" or not settings.road_router_url:
        return great_circle_matrix(locations)
    config = RoadRouterConfig(
        kind=settings.road_router,
        base_url=settings.road_router_url,
        enabled=True,
        timeout_s=settings.road_router_timeout_s,
    )
    key = (
        config.kind,
        config.base_url,
        tuple((round(loc.lat, 5), round(loc.lon, 5), loc.area) for loc in locations),
    )
    hit = _ROAD_CACHE.get(key)
    if hit is not None:
        _ROAD_CACHE.move_to_end(key)
        return hit
    matrix = road_matrix(locations, config)
    if matrix.source == config.kind:
        _ROAD_CACHE[key] = matrix
        if len(_ROAD_CACHE) > _ROAD_CACHE_SIZE:
            _ROAD_CACHE.popitem(last=False)
    return matrix


# -- syncing rows with bookings and the ledger -----------------------------------------------


@dataclass
class _Leg:
    """Rows of one case's leg (dossier or result) today: a pickup (maybe absent) and a drop,
    with what the problem needs of the case: its commune (urban or rural travel) and who
    holds the item (a drop of an item on board is that courier's)."""

    case_id: int
    commune_code: str
    custodian: str
    pickup: RouteStop | None
    drop: RouteStop


@dataclass
class DayRows:
    post_office: PostOffice
    day: date
    midnight: datetime
    legs: list[_Leg] = field(default_factory=list)


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(haversine_matrix([lat1, lat2], [lon1, lon2])[0, 1]) / 1000


def _holder(state: ItemState) -> int | None:
    return _holder_of(state.custodian)


def _holder_of(custodian: str) -> int | None:
    if custodian.startswith("courier:"):
        return int(custodian.split(":", 1)[1])
    return None


def _window_today(
    booking: Booking, midnight: datetime, settings: Settings
) -> tuple[datetime, datetime]:
    """The citizen's window carried to this day (a result is brought in the slot they chose)."""
    start = booking.pickup_window_start.astimezone(VN)
    end = booking.pickup_window_end.astimezone(VN)
    s = midnight + timedelta(hours=start.hour, minutes=start.minute)
    e = s + (end - start)
    close = midnight + timedelta(seconds=_at_s(settings.dispatch_shift_end))
    if e > close or e <= s:
        e = max(close, s + timedelta(minutes=30))
    return s, e


def _office_hours(midnight: datetime, settings: Settings) -> tuple[datetime, datetime]:
    return (
        midnight + timedelta(seconds=_at_s(settings.dispatch_office_open)),
        midnight + timedelta(seconds=_at_s(settings.dispatch_office_close)),
    )


def post_office_by_code(session: Session, code: str) -> PostOffice:
    post = session.scalar(select(PostOffice).where(PostOffice.code == code))
    if post is None:
        raise NotFound(f"no post office with code {code!r}", field="post_office")
    return post


def sync_stops(
    session: Session,
    settings: Settings,
    *,
    post_office_id: int,
    day: date,
    geocoder: Geocoder | None = None,
) -> DayRows:
    """Create rows for the day's work that has none; align every row's status with the ledger."""
    post = session.get(PostOffice, post_office_id)
    if post is None:
        raise NotFound(f"no post office {post_office_id}", field="post_office_id")
    # One planner per post office and day at a time (until this transaction ends): two
    # dispatchers pressing "re-plan" together would otherwise both create the day's rows
    # and overwrite each other's assignments half-way.
    session.execute(
        text("SELECT pg_advisory_xact_lock(:space, hashtext(:day))"),
        {"space": _DAY_LOCK_SPACE, "day": f"{post_office_id}:{day.isoformat()}"},
    )
    midnight = local_midnight(day)
    next_midnight = midnight + timedelta(days=1)
    existing = {
        (r.case_id, r.kind): r
        for r in session.scalars(
            select(RouteStop).where(
                RouteStop.post_office_id == post_office_id,
                RouteStop.service_date == day,
                RouteStop.case_id.is_not(None),
            )
        )
    }
    rows = DayRows(post, day, midnight)
    office_open, office_close = _office_hours(midnight, settings)
    offices: dict[int, Office] = {}

    def office(office_id: int) -> Office:
        if office_id not in offices:
            found = session.get(Office, office_id)
            assert found is not None
            offices[office_id] = found
        return offices[office_id]

    def new_row(case: Case, kind: str, **values: object) -> RouteStop:
        row = RouteStop(
            post_office_id=post_office_id, service_date=day, kind=kind, status="planned",
            case_id=case.id, **values,
        )  # fmt: skip
        session.add(row)
        existing[(case.id, kind)] = row
        return row

    moved: set[int] = set()  # cases whose pickup window changed since their rows were made

    def revived(row: RouteStop | None) -> RouteStop | None:
        """A row cancelled earlier (a booking moved away and back) is live work again."""
        if row is not None and row.status == "cancelled":
            row.status = "planned"
            row.unassigned_reason = None
            row.locked = False
        return row

    def office_row(case: Case, booking: Booking, kind: str) -> RouteStop:
        row = revived(existing.get((case.id, kind)))
        if row is None:
            o = office(booking.office_id)
            row = new_row(case, kind, office_id=o.id, lat=o.lat, lon=o.lon,
                          window_start=office_open, window_end=office_close,
                          service_minutes=settings.dispatch_service_seconds.get(kind, 240) / 60,
                          position_source="office", position_accuracy_m=0.0)  # fmt: skip
        return row

    def dossier_drop(case: Case, booking: Booking) -> RouteStop:
        """At the office, or at the post office when the office is too far to ride to."""
        row = existing.get((case.id, "office_drop")) or existing.get((case.id, "post_office_drop"))
        if row is not None:
            return revived(row) or row
        o = office(booking.office_id)
        if _km(post.lat, post.lon, o.lat, o.lon) <= settings.dispatch_travel_on_km:
            return office_row(case, booking, "office_drop")
        # The dossier travels on from the post office (bagged, by the hub's transport).
        return post_office_row(case)

    def counter_drop(case: Case) -> RouteStop:
        """A result the citizen collects at the counter: left at the post office."""
        return revived(existing.get((case.id, "post_office_drop"))) or post_office_row(case)

    def post_office_row(case: Case) -> RouteStop:
        start, end = _at_s(settings.dispatch_shift_start), _at_s(settings.dispatch_shift_end)
        return new_row(case, "post_office_drop", lat=post.lat, lon=post.lon,
                       window_start=midnight + timedelta(seconds=start),
                       window_end=midnight + timedelta(seconds=end),
                       service_minutes=settings.dispatch_service_seconds.get(
                           "post_office_drop", 120) / 60,
                       position_source="post_office", position_accuracy_m=0.0)  # fmt: skip

    def home_row(case: Case, booking: Booking, kind: str) -> RouteStop:
        row = revived(existing.get((case.id, kind)))
        if (
            row is not None
            and kind == "home_pickup"
            and row.status == "planned"
            and (row.window_start, row.window_end)
            != (booking.pickup_window_start, booking.pickup_window_end)
        ):
            # The citizen moved the booking within the day: the stop takes the new window
            # and leaves its route (with its drop, below) to be inserted again.
            row.window_start, row.window_end = (
                booking.pickup_window_start,
                booking.pickup_window_end,
            )
            moved.add(case.id)
        if row is None:
            point = home_position(booking, geocoder)
            start, end = (
                (booking.pickup_window_start, booking.pickup_window_end)
                if kind == "home_pickup"
                else _window_today(booking, midnight, settings)
            )
            row = new_row(case, kind, lat=point.lat, lon=point.lon, window_start=start,
                          window_end=end,
                          service_minutes=settings.dispatch_service_seconds.get(kind, 300) / 60,
                          position_source=point.source,
                          position_accuracy_m=point.accuracy_m)  # fmt: skip
        return row

    here = f"post_office:{post_office_id}"
    own_couriers = set(
        session.scalars(select(User.id).where(User.post_office_id == post_office_id,
                                              User.role == "courier"))
    )  # fmt: skip

    def held_here(state: ItemState) -> bool:
        """At this post office, or on one of its couriers."""
        holder = _holder(state)
        return state.custodian == here or (holder is not None and holder in own_couriers)

    def transit_leg(
        case: Case, booking: Booking, item: Item, state: ItemState, booked_today: bool
    ) -> tuple[RouteStop | None, RouteStop] | None:
        """The rows of a case addressed to another province's office (core/booking/transit.py)
        on this post office's side: at the citizen's post office, home to the post office and
        (once the result is back here) to the door; at the far post office, to the office's
        desk and back. The bag between them is the hubs' transport, not a courier's stop."""
        far_side = booking.transit_post_office_id == post_office_id
        status = state.status
        if item.kind == "dossier" and not far_side:
            pickup = existing.get((case.id, "home_pickup"))
            drop = existing.get((case.id, "post_office_drop"))
            if status == "booked" and booked_today:
                pickup = home_row(case, booking, "home_pickup")
                drop = revived(drop) or post_office_row(case)
            elif status == "picked_up" and (pickup is not None or _holder(state) is not None):
                drop = revived(drop) or post_office_row(case)
            return (pickup, drop) if drop is not None else None
        if item.kind == "dossier":
            drop = existing.get((case.id, "office_drop"))
            if status in ("arrived", "in_transit") and held_here(state):
                drop = office_row(case, booking, "office_drop")
            return (None, drop) if drop is not None else None
        if far_side:
            pickup = existing.get((case.id, "office_pickup"))
            drop = existing.get((case.id, "post_office_drop"))
            if status == "result_registered":
                pickup = office_row(case, booking, "office_pickup")
                drop = counter_drop(case)
            elif status == "collected" and held_here(state):
                drop = counter_drop(case)
            return (pickup, drop) if drop is not None else None
        # Back at the citizen's post office: to the door once one of its couriers holds it
        # (collected at the counter otherwise: nothing to ride).
        drop = existing.get((case.id, "home_delivery"))
        if (
            not booking.result_at_post_office
            and status in ("collected", "out_for_delivery", "attempt_failed")
            and _holder(state) in own_couriers
            and (drop is not None or not attempts_used_up(state.delivery_attempts, settings))
        ):
            drop = home_row(case, booking, "home_delivery")
        return (None, drop) if drop is not None else None

    query = (
        select(Case, Booking, Item, ItemState)
        .join(Booking, Booking.id == Case.booking_id)
        .join(Item, Item.case_id == Case.id)
        .join(ItemState, ItemState.item_id == Item.id)
        .where(
            or_(
                Booking.post_office_id == post_office_id,
                Booking.transit_post_office_id == post_office_id,
            )
        )
        .order_by(Case.id, Item.kind)
    )
    # Only live work and today's rows: the post office's finished cases of past months are
    # never read, so the cost follows the day's size, not the history's. A case addressed to
    # another province also has work while its items are between the two post offices.
    live_work = or_(
        ItemState.status.in_(LIVE_STATUSES),
        and_(
            Booking.transit_post_office_id.is_not(None),
            ItemState.status.in_(("arrived", "in_transit")),
        ),
    )
    row_cases = {case_id for case_id, _ in existing}
    query = query.where(or_(live_work, Case.id.in_(row_cases)) if row_cases else live_work)
    for case, booking, item, state in session.execute(query).all():
        status = state.status
        today_event = midnight <= state.last_event_at < next_midnight
        if booking.transit_post_office_id is not None:
            booked_today = midnight <= booking.pickup_window_start < next_midnight
            found = transit_leg(case, booking, item, state, booked_today)
            if found is None:
                continue
            far_pickup, far_drop = found
            if item.kind == "dossier":
                _sync_dossier(far_pickup, far_drop, state, status, today_event)
            elif status in ("result_registered", "collected", "out_for_delivery", "attempt_failed"):
                _sync_result(far_pickup, far_drop, state, status, today_event)
            else:
                # Left this side (bagged on, or delivered): its stops here are done.
                _done(far_pickup, state)
                _done(far_drop, state)
            rows.legs.append(
                _Leg(case.id, booking.commune_code, state.custodian, far_pickup, far_drop)
            )
            continue
        if item.kind == "dossier":
            pickup = existing.get((case.id, "home_pickup"))
            drop = existing.get((case.id, "office_drop")) or existing.get(
                (case.id, "post_office_drop")
            )
            booked_today = midnight <= booking.pickup_window_start < next_midnight
            if status == "booked" and booked_today:
                pickup = home_row(case, booking, "home_pickup")
                drop = dossier_drop(case, booking)
            elif status == "booked":
                continue  # moved to another day: its rows of this day leave the plan below
            elif status == "picked_up" and (pickup is not None or _holder(state) is not None):
                # On board a courier (picked up today, or earlier and never dropped).
                drop = dossier_drop(case, booking)
            if drop is None:
                continue
            _sync_dossier(pickup, drop, state, status, today_event)
            rows.legs.append(_Leg(case.id, booking.commune_code, state.custodian, pickup, drop))
        else:
            pickup = existing.get((case.id, "office_pickup"))
            # "Nhận tại bưu cục": the result rides from the office to the post office's
            # counter, not to the citizen's door. (A case's dossier and result never share a
            # day's post-office drop: the agency takes days in between.)
            to_counter = booking.result_at_post_office
            drop = existing.get((case.id, "post_office_drop" if to_counter else "home_delivery"))
            # A result the courier holds is delivered today, unless its attempts are used up
            # or today's attempt already failed (before any plan made a row for it).
            retry = not attempts_used_up(state.delivery_attempts, settings) and not (
                status == "attempt_failed" and today_event
            )
            if status == "result_registered" or (
                status in ("collected", "out_for_delivery", "attempt_failed")
                and (drop is not None or retry)
                and _holder(state) is not None
            ):
                if status == "result_registered":
                    pickup = office_row(case, booking, "office_pickup")
                drop = (
                    counter_drop(case) if to_counter else home_row(case, booking, "home_delivery")
                )
            if drop is None:
                continue
            _sync_result(pickup, drop, state, status, today_event)
            rows.legs.append(_Leg(case.id, booking.commune_code, state.custodian, pickup, drop))
    session.flush()
    for leg in rows.legs:
        if leg.pickup is not None and leg.drop.paired_stop_id != leg.pickup.id:
            leg.drop.paired_stop_id = leg.pickup.id
            leg.pickup.paired_stop_id = leg.drop.id
    for leg in rows.legs:
        if leg.case_id in moved:
            for r in (leg.pickup, leg.drop):
                if r is not None and r.status == "planned":
                    # A lock was for the old window; the new one is placed afresh.
                    r.courier_id, r.sequence, r.eta, r.unassigned_reason = None, None, None, None
                    r.locked = False
    # Rows for work that vanished (a cancelled booking, a case moved elsewhere) leave the plan.
    live = {id(r) for leg in rows.legs for r in (leg.pickup, leg.drop) if r is not None}
    for row in existing.values():
        if id(row) not in live and row.status == "planned":
            if row.kind == "home_pickup" and row.courier_id is not None:
                # The courier of a pickup that left this day is no longer the case's courier.
                owner = session.get(Case, row.case_id)
                if owner is not None and owner.pickup_courier_id == row.courier_id:
                    owner.pickup_courier_id = None
            _unroute(row, "cancelled")
    session.flush()
    return rows


def routed_rows(session: Session, *, post_office_id: int, day: date) -> DayRows:
    """The day's stops now in a route, as they were last saved: no sync with the ledger, no
    lock, no writes. For the booking page, which only needs the routes to insert into and is
    read far more often than the plan changes (every change re-syncs the day anyway)."""
    post = session.get(PostOffice, post_office_id)
    if post is None:
        raise NotFound(f"no post office {post_office_id}", field="post_office_id")
    dossier = aliased(ItemState)
    result = aliased(ItemState)
    found = session.execute(
        select(RouteStop, Booking.commune_code, dossier.custodian, result.custodian)
        .join(Case, Case.id == RouteStop.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .outerjoin(dossier, dossier.item_id == Case.dossier_item_id)
        .outerjoin(result, result.item_id == Case.result_item_id)
        .where(
            RouteStop.post_office_id == post_office_id,
            RouteStop.service_date == day,
            RouteStop.courier_id.is_not(None),
            RouteStop.status != "cancelled",
        )
        .order_by(RouteStop.case_id, RouteStop.id)
    ).all()
    rows = DayRows(post, day, local_midnight(day))
    routed = {row.id for row, *_ in found}
    pickup_of = {row.paired_stop_id: row for row, *_ in found if row.kind in PICKUP_KINDS}
    for row, commune, dossier_holder, result_holder in found:
        if row.kind in PICKUP_KINDS and row.paired_stop_id in routed:
            continue  # listed with its drop
        pickup = pickup_of.get(row.id)
        is_result = row.kind in ("home_delivery", "office_pickup")
        custodian = (result_holder if is_result else dossier_holder) or ""
        rows.legs.append(_Leg(row.case_id or 0, commune, custodian, pickup, row))
    return rows


def _done(row: RouteStop | None, state: ItemState, status: str = "done") -> None:
    if row is None or row.status == status:
        return
    row.status = status
    row.completed_at = state.last_event_at
    holder = _holder(state)
    if row.courier_id is None and holder is not None:
        row.courier_id = holder
        row.sequence = 0  # renumbered when the plan is saved


def _unroute(row: RouteStop, status: str) -> None:
    row.status = status
    row.courier_id = None
    row.sequence = None
    row.eta = None


def _sync_dossier(
    pickup: RouteStop | None, drop: RouteStop, state: ItemState, status: str, today: bool
) -> None:
    if status == "booked":
        return
    if status in ("cancelled", "refused"):
        if pickup is not None and pickup.status in ("planned", "arrived"):
            if status == "refused":
                _done(pickup, state, "failed")
            else:
                _unroute(pickup, "cancelled")
        if drop.status == "planned":
            _unroute(drop, "cancelled")
        return
    _done(pickup, state)
    receiver = "post_office:" if drop.kind == "post_office_drop" else "office:"
    delivered = (
        status in ("at_post_office", "in_transit", "arrived", "handed_over")
        if drop.kind == "post_office_drop"
        else status == "handed_over"
    )
    if delivered:
        _done(drop, state)
    elif state.pending_to is not None and state.pending_to.startswith(receiver):
        if drop.status == "planned":
            drop.status = "arrived"


def _sync_result(
    pickup: RouteStop | None, drop: RouteStop, state: ItemState, status: str, today: bool
) -> None:
    if status == "result_registered":
        if state.pending_to is not None and pickup is not None and pickup.status == "planned":
            pickup.status = "arrived"  # the courier is at the desk, the hand-off is open
        return
    _done(pickup, state)
    if drop.kind == "post_office_drop":
        # Left at the counter: done once the post office holds it (or handed it out).
        if status in ("at_post_office", "delivered"):
            _done(drop, state)
        return
    if status == "delivered":
        _done(drop, state)
    elif status == "attempt_failed" and today:
        _done(drop, state, "failed")
    elif status == "out_for_delivery" and drop.status == "planned" and today:
        drop.status = "arrived"
    elif status in ("lost", "returned_to_office") and drop.status == "planned":
        _unroute(drop, "cancelled")


# -- the planner's problem ---------------------------------------------------------------------


@dataclass
class Day:
    """The problem for one post office's day and the rows and couriers behind its ids."""

    rows: DayRows
    problem: Problem
    stop_rows: dict[str, RouteStop]
    couriers: dict[str, User]
    available_at: int | None
    # Breaks the last saved plan started before now (taken, or under way), by courier id:
    # not planned again, and kept in the next saved plan's header (``save_plan``).
    taken_breaks: dict[str, dict[str, Any]] = field(default_factory=dict)


def _places(session: Session, rows: DayRows) -> tuple[dict[str, AreaType], dict[int, Office]]:
    """Urban/rural for every commune the day touches and its offices, in two queries."""
    office_ids = {
        r.office_id for leg in rows.legs for r in (leg.pickup, leg.drop)
        if r is not None and r.office_id is not None
    }  # fmt: skip
    offices: dict[int, Office] = {}
    if office_ids:
        offices = {
            o.id: o for o in session.scalars(select(Office).where(Office.id.in_(office_ids)))
        }
    codes = {rows.post_office.commune_code} | {leg.commune_code for leg in rows.legs}
    codes |= {office.commune_code for office in offices.values()}
    found = session.execute(select(Commune.code, Commune.area_type).where(Commune.code.in_(codes)))
    kinds: dict[str, str] = {row[0]: row[1] for row in found}
    areas: dict[str, AreaType] = {
        code: "urban" if kinds.get(code, "urban") == "urban" else "rural" for code in codes
    }
    return areas, offices


def couriers_of(session: Session, post_office_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.post_office_id == post_office_id, User.role == "courier", User.active)
            .order_by(User.username)
        )
    )


def vehicle_for(
    settings: Settings,
    courier: User,
    depot: int,
    *,
    available_at: int | None,
    prefix: tuple[str, ...] = (),
    break_taken: bool = False,
) -> Vehicle:
    start = _at_s(settings.dispatch_shift_start)
    end = _at_s(settings.dispatch_shift_end)
    brk = None
    if settings.dispatch_break_minutes > 0 and not break_taken:
        b_lo, b_hi = _at_s(settings.dispatch_break_earliest), _at_s(settings.dispatch_break_latest)
        if available_at is not None:
            b_lo = max(b_lo, available_at)
        b_lo = max(b_lo, start)
        length = settings.dispatch_break_minutes * 60
        # A break whose latest start has passed is taken (or skipped): not planned again. A
        # shift that ends before the break could be over (a morning shift) has none.
        if b_lo <= b_hi and b_lo + length <= end:
            brk = Break(TimeWindow(b_lo, b_hi), length)
    ready = None if available_at is None else min(max(available_at, start), end)
    return Vehicle(
        id=str(courier.id),
        start=depot,
        end=depot,
        shift=TimeWindow(start, end),
        capacity=settings.dispatch_courier_capacity,
        brk=brk,
        fixed_prefix=prefix,
        available_at=ready,
    )


def taken_breaks(
    session: Session, post_office_id: int, day: date, now: datetime
) -> dict[str, dict[str, Any]]:
    """The breaks (by courier id) that the day's last saved plan started before ``now``.

    Nobody scans a lunch, so the plan is the record: a break planned to start before now is
    taken (or under way). Without this, every re-plan between 11:30 and 13:00 would plan a
    second lunch for a courier who has had one."""
    return {vid: brk for vid, brk in saved_breaks(session, post_office_id, day).items()
            if datetime.fromisoformat(str(brk["start"])) <= now}  # fmt: skip


def saved_breaks(session: Session, post_office_id: int, day: date) -> dict[str, dict[str, Any]]:
    """The breaks of the day's last saved plan, by courier id (``DispatchPlan.breaks``)."""
    saved = session.scalar(
        select(DispatchPlan.breaks)
        .where(DispatchPlan.post_office_id == post_office_id, DispatchPlan.service_date == day)
        .order_by(DispatchPlan.id.desc())
        .limit(1)
    )
    return dict(saved or {})


def _at_s(clock: time) -> int:
    return clock.hour * 3600 + clock.minute * 60 + clock.second


def _prefix_key(row: RouteStop) -> tuple[int, float, int, int]:
    done_at = row.completed_at.timestamp() if row.completed_at else float("inf")
    # "arrived" (in progress) after everything finished; pickups before drops on a tie,
    # so a pair marked done in one sync keeps its order.
    return (
        1 if row.status == "arrived" else 0,
        done_at,
        row.sequence if row.sequence is not None else 10**6,
        0 if row.kind in PICKUP_KINDS else 1,
    )


def build_day(
    session: Session,
    settings: Settings,
    *,
    post_office_id: int,
    day: date,
    now: datetime,
    geocoder: Geocoder | None = None,
    assigned_only: bool = False,
    synced: bool = True,
) -> Day:
    """The planner's problem for the day; ``assigned_only`` keeps only stops now in routes;
    ``synced=False`` reads the routes as last saved (``routed_rows``) instead of syncing."""
    if day < today_in_vietnam(now):
        raise InvalidInput(f"{day.isoformat()} is in the past; only today or later can be planned",
                           field="date")  # fmt: skip
    if synced:
        rows = sync_stops(session, settings, post_office_id=post_office_id, day=day,
                          geocoder=geocoder)  # fmt: skip
    else:
        rows = routed_rows(session, post_office_id=post_office_id, day=day)
    midnight = rows.midnight
    available_at = seconds_of(now, midnight) if day == today_in_vietnam(now) else None
    post = rows.post_office
    areas, offices = _places(session, rows)
    locations = [Location("post_office", post.lat, post.lon, areas[post.commune_code])]
    office_loc: dict[int, int] = {}
    service = settings.dispatch_service_seconds

    def stop_for(row: RouteStop, leg: _Leg) -> Stop:
        if row.kind.startswith("post_office"):
            loc = 0  # the post office itself
        elif row.office_id is not None:
            if row.office_id not in office_loc:
                office = offices[row.office_id]
                office_loc[row.office_id] = len(locations)
                locations.append(Location(f"office:{office.id}", row.lat, row.lon,
                                          areas.get(office.commune_code, "urban")))  # fmt: skip
            loc = office_loc[row.office_id]
        else:
            loc = len(locations)
            locations.append(Location(f"stop:{row.id}", row.lat, row.lon,
                                      areas[leg.commune_code]))  # fmt: skip
        lo = max(0, seconds_of(row.window_start, midnight))
        hi = min(DAY_S, seconds_of(row.window_end, midnight))
        kind: StopKind = row.kind if row.kind in PLANNER_KINDS else "other"  # type: ignore[assignment]
        # A started or finished stop is history: when it really happened (perhaps outside
        # its window) must not make every later re-plan of the day infeasible.
        window = None if row.status in STARTED else TimeWindow(lo, max(lo, hi))
        return Stop(str(row.id), loc, kind, window, service=service.get(row.kind, 240))

    couriers = {str(c.id): c for c in couriers_of(session, post_office_id)}
    stop_rows: dict[str, RouteStop] = {}
    jobs: list[Job] = []
    shipments: list[Shipment] = []
    prefix_rows: dict[str, list[RouteStop]] = {vid: [] for vid in couriers}

    def take(row: RouteStop | None) -> RouteStop | None:
        if row is None or row.status == "cancelled":
            return None
        if assigned_only and row.courier_id is None:
            return None
        if row.status in STARTED and str(row.courier_id) not in couriers:
            # Done by someone who is not (or no longer) a courier here: history, not plan.
            return None
        return row

    def lock_of(*ends: RouteStop | None) -> str | None:
        for end in ends:
            if end is not None and end.locked and end.courier_id is not None:
                return str(end.courier_id)
        return None

    for leg in rows.legs:
        pickup, drop = take(leg.pickup), take(leg.drop)
        for row in (pickup, drop):
            if row is not None and row.status in STARTED:
                prefix_rows[str(row.courier_id)].append(row)
        if (
            pickup is not None
            and drop is not None
            and pickup.status != "failed"
            and (drop.status not in STARTED or pickup.courier_id == drop.courier_id)
        ):
            p, d = stop_for(pickup, leg), stop_for(drop, leg)
            stop_rows[p.id], stop_rows[d.id] = pickup, drop
            locked = lock_of(pickup, drop)
            if pickup.status in STARTED:
                # Picked up: the drop stays with whoever holds the item.
                locked = str(pickup.courier_id)
            shipments.append(Shipment(f"case{leg.case_id}:{drop.kind}", p, d, 1, locked_to=locked))
            continue
        if pickup is not None:
            p = stop_for(pickup, leg)
            stop_rows[p.id] = pickup
            jobs.append(Job(p, locked_to=lock_of(pickup)))
        if drop is not None:
            d = stop_for(drop, leg)
            stop_rows[d.id] = drop
            holder = _holder_of(leg.custodian)
            on_board = holder is not None and drop.status not in STARTED and pickup is None
            jobs.append(
                Job(
                    d,
                    delivery=1 if on_board else 0,
                    locked_to=str(holder) if on_board else lock_of(drop),
                )
            )

    taken: dict[str, dict[str, Any]] = {}
    if available_at is not None and settings.dispatch_break_minutes > 0:
        taken = taken_breaks(session, post_office_id, day, now)
    vehicles = []
    for vid, courier in couriers.items():
        prefix = tuple(str(r.id) for r in sorted(prefix_rows.get(vid, []), key=_prefix_key))
        ready, had_break = available_at, vid in taken
        if had_break and ready is not None:
            # A courier at lunch goes on when it ends.
            brk = taken[vid]
            over = datetime.fromisoformat(brk["start"]) + timedelta(minutes=int(brk["minutes"]))
            ready = max(ready, seconds_of(over, midnight))
        vehicles.append(vehicle_for(settings, courier, 0, available_at=ready, prefix=prefix,
                                    break_taken=had_break))  # fmt: skip
    matrix = travel_matrix(settings, locations)
    problem = Problem(
        tuple(locations),
        matrix,
        tuple(vehicles),
        jobs=tuple(jobs),
        shipments=tuple(shipments),
    )
    return Day(rows, problem, stop_rows, couriers, available_at, taken)
