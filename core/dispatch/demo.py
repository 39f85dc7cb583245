"""Today's plan for the demo: bookings around the Bắc Ninh hub and a morning plan of them.

Called by ``hoso demo`` (and ``hoso seed --demo``) after the demo cases exist, so the
dispatcher ``dieuphoi`` opens /dispatch on a planned day. Idempotent per day: a day that
already has a plan at the hub is left alone.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.service import BookingRequest, open_case
from core.custody.parties import Actor
from core.dispatch.day import couriers_of, local_midnight, today_in_vietnam
from core.dispatch.service import PlanSummary, latest_plan, plan_day
from core.identity.models import User
from core.identity.service import create_user
from core.places.models import Office, PostOffice, Procedure
from core.settings import Settings
from routing.admin_units import communes_in_province
from vntime import VN

HUB_CODE = "BN-01"
EXTRA_COURIERS = (("buuta13", "Phan Văn Phúc"), ("buuta14", "Mai Thị Quỳnh"))
COURIER_PASSWORD = "hoso-buuta-2026"  # the demo couriers' password (core.seed.DEMO_LOGINS)
SLOTS = ((8, 10), (10, 12), (13, 15), (15, 17))
NEAR_KM = 9.0


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dlat = (lat2 - lat1) * 111.0
    dlon = (lon2 - lon1) * 111.0 * math.cos(math.radians(lat1))
    return math.hypot(dlat, dlon)


def plan_demo_day(
    session: Session, settings: Settings, *, now: datetime, bookings: int = 18
) -> PlanSummary | None:
    """Add today's home pickups near the hub and plan the day as of the morning."""
    hub = session.scalar(select(PostOffice).where(PostOffice.code == HUB_CODE))
    dispatcher = session.scalar(select(User).where(User.username == "dieuphoi"))
    if hub is None or dispatcher is None:
        return None  # no demo data
    day = today_in_vietnam(now)
    if latest_plan(session, hub.id, day) is not None:
        return None
    for username, name in EXTRA_COURIERS:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(session, username=username, full_name=name, role="courier",
                        password=COURIER_PASSWORD, post_office_id=hub.id)  # fmt: skip
    rng = random.Random(day.toordinal())
    near = [c for c in communes_in_province("24") if _km(hub.lat, hub.lon, c.lat, c.lon) < NEAR_KM]
    offices = list(session.scalars(select(Office).where(Office.province_code == "24")))
    offices.sort(key=lambda o: _km(hub.lat, hub.lon, o.lat, o.lon))
    procedures = list(session.scalars(select(Procedure).order_by(Procedure.id)))
    midnight = local_midnight(day)
    for index in range(bookings):
        commune = rng.choice(near)
        lo, hi = SLOTS[index % len(SLOTS)]
        start = midnight + timedelta(hours=lo)
        open_case(
            session,
            settings,
            Actor.system(),
            BookingRequest(
                service_option="both",
                procedure_id=procedures[index % len(procedures)].id,
                office_id=offices[index % 3].id,
                post_office_id=hub.id,
                contact_name=f"Khách hàng {index + 1:02d}",
                contact_phone=f"09{rng.randrange(10**7, 10**8)}",
                address_text=f"Số {rng.randrange(1, 200)} đường {index + 1}, {commune.name}, "
                "Tỉnh Bắc Ninh",
                commune_code=commune.code,
                lat=commune.lat + rng.uniform(-0.008, 0.008),
                lon=commune.lon + rng.uniform(-0.008, 0.008),
                position_source="gps",
                position_accuracy_m=float(rng.choice((8, 15, 30))),
                pickup_window_start=start,
                pickup_window_end=start + timedelta(hours=hi - lo),
            ),
            now=midnight - timedelta(hours=5),
        )
    session.flush()
    if not couriers_of(session, hub.id):
        return None
    # The plan a dispatcher makes before the couriers leave: as of 07:00 (or now, if earlier).
    morning = datetime.combine(day, time(7, 0), tzinfo=VN)
    return plan_day(session, settings, post_office_id=hub.id, day=day, now=min(now, morning),
                    time_limit_s=settings.dispatch_time_limit_s, user_id=dispatcher.id)  # fmt: skip
