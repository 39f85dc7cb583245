"""Today's plan for the demo: bookings around the Bắc Ninh hub and a morning plan of them.

Called by ``hoso demo`` (and ``hoso seed --demo``) after the demo cases exist, so the
dispatcher ``dieuphoi`` opens /dispatch on a planned day. The bookings are the citizens',
made the evening before through the booking service in the windows it offers. Idempotent
per day: a day that already has a plan at the hub is left alone.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.booking.models import BookingTerms
from core.booking.places import distance_km
from core.booking.service import BookingInput, create_booking
from core.booking.slots import offerable_windows
from core.cases.models import Booking, Case
from core.custody.models import Item, ItemState
from core.custody.parties import party, party_row_id
from core.demo.journeys import home_in, hub_communes
from core.demo.people import CITIZENS, cccd_for, citizen_sex
from core.dispatch.day import couriers_of, local_midnight, today_in_vietnam
from core.dispatch.service import PlanSummary, latest_plan, plan_day
from core.handovers.service import open_handover
from core.identity.models import User
from core.identity.service import actor_for, create_user
from core.places.models import Office, PostOffice, Procedure
from core.settings import Settings
from vntime import VN

HUB_CODE = "BN-01"
EXTRA_COURIERS = (("buuta13", "Phan Văn Phúc"), ("buuta14", "Mai Thị Quỳnh"))
COURIER_PASSWORD = "hoso-buuta-2026"  # the demo couriers' password (core.demo.people)


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
    near = hub_communes(session, hub)
    offices = list(session.scalars(select(Office).where(Office.province_code == hub.province_code)))
    offices.sort(key=lambda o: (distance_km(hub.lat, hub.lon, o.lat, o.lon), o.id))
    procedures = list(session.scalars(select(Procedure).order_by(Procedure.id)))
    citizens = {u.phone: u for u in session.scalars(select(User).where(User.role == "citizen"))}
    midnight = local_midnight(day)
    # The citizens booked last evening: every window of today was still open to them.
    evening = midnight - timedelta(hours=5)
    for index in range(bookings):
        commune = near[index % len(near)]
        name, phone, year = CITIZENS[index % len(CITIZENS)]
        citizen = citizens.get(phone)
        if citizen is None:
            continue
        lat, lon = home_in(session, hub, commune, rng)
        windows = offerable_windows(session, post_office_id=hub.id, lat=lat, lon=lon, day=day,
                                    now=evening, settings=settings)  # fmt: skip
        if not windows:
            break
        sex = citizen_sex(name)
        create_booking(
            session,
            settings,
            citizen,
            BookingInput(
                service_option="both", procedure_id=procedures[index % len(procedures)].id,
                address_text=f"Số {rng.randrange(1, 200)} đường {index + 1}, {commune.name}, "
                "Tỉnh Bắc Ninh",
                contact_name=name, contact_phone=phone, cccd=cccd_for(rng, sex, year),
                citizen_sex=sex, citizen_birth_year=year, payment_method="cash",
                window_start=windows[index % len(windows)][0], commune_code=commune.code,
                office_id=offices[index % 3].id, lat=lat, lon=lon,
                gps_accuracy_m=float(rng.choice((8, 15, 30))),
            ),
            now=evening + timedelta(minutes=index),
        )  # fmt: skip
    session.flush()
    if not couriers_of(session, hub.id):
        return None
    # The plan a dispatcher makes before the couriers leave: as of 07:00 (or now, if earlier).
    morning = datetime.combine(day, time(7, 0), tzinfo=VN)
    summary = plan_day(session, settings, post_office_id=hub.id, day=day, now=min(now, morning),
                       time_limit_s=settings.dispatch_time_limit_s,
                       user_id=dispatcher.id)  # fmt: skip
    _courier_at_the_desk(session, hub, now)
    return summary


def _courier_at_the_desk(session: Session, hub: PostOffice, now: datetime) -> None:
    """Later that morning a hub courier is at the demo desk (``motcua``) with the dossiers
    they hold for it: the open hand-over the desk sees first."""
    desk = session.scalar(select(User).where(User.username == "motcua"))
    if desk is None or desk.office_id is None:
        return
    held = session.execute(
        select(Item.code, ItemState.custodian, Case.id)
        .join(ItemState, ItemState.item_id == Item.id)
        .join(Case, Case.id == Item.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .where(Item.kind == "dossier", ItemState.status == "picked_up",
               ItemState.pending_to.is_(None), ItemState.custodian.like("courier:%"),
               Booking.office_id == desk.office_id, Booking.post_office_id == hub.id)
        .order_by(Item.code)
    ).all()  # fmt: skip
    if not held:
        return
    holder = held[0][1]
    mine = [(code, case_id) for code, custodian, case_id in held if custodian == holder]
    courier = session.get(User, party_row_id(holder))
    assert courier is not None
    on_behalf = sum(
        procedure_fee
        for procedure_fee, pays in session.execute(
            select(Procedure.fee_vnd, BookingTerms.pay_fee_on_behalf)
            .join(Booking, Booking.procedure_id == Procedure.id)
            .join(Case, Case.booking_id == Booking.id)
            .join(BookingTerms, BookingTerms.case_id == Case.id)
            .where(Case.id.in_([case_id for _, case_id in mine]))
        )
        if pays
    )
    open_handover(session, actor_for(courier), giver=holder,
                  receiver=party("office", desk.office_id), item_codes=[c for c, _ in mine],
                  now=now - timedelta(minutes=10), fees_declared_vnd=on_behalf)  # fmt: skip
