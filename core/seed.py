"""Seeding: the reference data, any one of the 34 provinces (``seed_province``), and demo
data for one real province (Bắc Ninh, code 24): people, and cases at every stage.

Idempotent: the demo users are the marker; a second run adds nothing. The demo's cases are
built by the services the pages and apps call (``core.demo``), so every pickup has its
checklist and both signatures, every hand-over its signed record, and the ledger verifies.
"""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.booking.places import distance_km
from core.booking.prices import seed_price_tiers
from core.booking.pricing import DEFAULT_TABLE, PriceTable, load_price_table
from core.demo.counter import seed_counter_queue, seed_digitised
from core.demo.far import FAR_PROVINCE, seed_far_case
from core.demo.journeys import DemoWeek
from core.demo.people import DEMO_LOGINS, DemoLogin, create_citizens, create_staff
from core.identity.models import User
from core.places.models import Office, PostOffice
from core.places.provinces import ProvinceSeeded, derive_offices
from core.places.service import load_admin_units, load_catalogue, load_reference
from core.settings import Settings

DEMO_PROVINCE = "24"
HUB_CODE = "BN-01"
__all__ = ["DEMO_LOGINS", "DemoLogin", "seed_demo", "seed_dispatch_day", "seed_province",
           "seed_reference"]  # fmt: skip


def seed_reference(session: Session, price_table: PriceTable = DEFAULT_TABLE) -> None:
    """The administrative units, the procedures, and Bắc Ninh's reference offices, post
    offices and price tiers (what ``hoso seed`` with no province has always loaded)."""
    load_reference(session)
    seed_price_tiers(session, DEMO_PROVINCE, price_table)


def seed_province(
    session: Session, province_code: str, price_table: PriceTable = DEFAULT_TABLE
) -> ProvinceSeeded:
    """Stand up one of the 34 provinces: its reference offices and post offices where the
    reference data has them, a derived centre for every other commune and for the province,
    and the default price tiers. Idempotent, and it never overwrites what an import set."""
    load_admin_units(session)
    load_catalogue(session, provinces={province_code})
    seeded = derive_offices(session, province_code)
    seed_price_tiers(session, province_code, price_table)
    session.flush()
    return seeded


def seed_demo(session: Session, settings: Settings, *, now: datetime, cases: int = 60) -> bool:
    """Create demo users and cases. Returns False when the demo was already there."""
    seed_reference(session, load_price_table(settings.booking_price_table))
    if session.scalar(select(User.id).where(User.username == "admin")) is not None:
        return False
    rng = random.Random(24)
    posts = list(session.scalars(
        select(PostOffice).where(PostOffice.province_code == DEMO_PROVINCE).order_by(PostOffice.id)
    ))  # fmt: skip
    hub = next(p for p in posts if p.code == HUB_CODE)
    # The desk login works at the office nearest the hub, the one the booking page usually
    # suggests for addresses around it: a booking made in the demo mostly reaches this desk.
    offices = session.scalars(select(Office).where(Office.province_code == DEMO_PROVINCE))
    desk_office = min(offices, key=lambda o: (distance_km(hub.lat, hub.lon, o.lat, o.lon), o.id))
    staff = create_staff(session, rng, hub_id=hub.id, desk_office_id=desk_office.id,
                         posts=[p.id for p in posts])  # fmt: skip
    citizens = create_citizens(session, rng)
    week = DemoWeek(session, settings, staff, citizens, hub=hub, office=desk_office, now=now)
    week.plan(cases)
    week.run()
    # The counter's queue and digitised copies, for the SLA pages and the agency API.
    clerk = session.scalars(select(User).where(User.username == "quay")).one()
    seed_counter_queue(session, hub, clerk, now=now)
    seed_digitised(session, settings, week.cases, clerk=clerk, desk=staff.desk, now=now)
    # One result coming home from an office in Hà Nội, by bag (docs/transit.md).
    seed_province(session, FAR_PROVINCE, load_price_table(settings.booking_price_table))
    seed_far_case(session, week)
    # Money (payments and receipts, the bank statement, the couriers' cash-ups) is seeded by
    # the week itself (core.demo.journeys), through core.money's services.
    session.flush()
    return True


def seed_dispatch_day(session: Session, settings: Settings, *, now: datetime) -> bool:
    """Today's bookings and morning plan at the hub, for the dispatcher demo; idempotent."""
    from core.demo.today import plan_demo_day

    return plan_demo_day(session, settings, now=now) is not None
