"""Seeding: the reference data, any one of the 34 provinces (``seed_province``), and demo
data for one real province (Bắc Ninh, code 24): people, and cases at every stage.

Idempotent: the demo users are the marker; a second run adds nothing. Cases are driven
through the same custody service the apps use, so the demo ledger verifies like a real one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.booking.prices import seed_price_tiers
from core.booking.pricing import DEFAULT_TABLE, PriceTable, load_price_table
from core.cases.models import Case
from core.cases.service import BookingRequest, open_case, register_result
from core.custody.models import Item
from core.custody.parties import Actor
from core.custody.service import ScanCommand, record_one
from core.identity.models import User
from core.identity.service import actor_for, create_user
from core.papers.codes import record_dossier_code
from core.places.models import Office, PostOffice, Procedure
from core.places.provinces import ProvinceSeeded, derive_offices
from core.places.service import load_admin_units, load_catalogue, load_reference
from core.settings import Settings
from routing.admin_units import communes_in_province
from vntime import VN

DEMO_PROVINCE = "24"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str


DEMO_LOGINS = (
    DemoLogin("admin", "admin", "hoso-admin-2026"),
    DemoLogin("dispatcher", "dieuphoi", "hoso-dieuphoi-2026"),
    DemoLogin("desk_officer", "motcua", "hoso-motcua-2026"),
    DemoLogin("courier", "buuta01", "hoso-buuta-2026"),
    DemoLogin("citizen", "congdan", "hoso-congdan-2026"),
)
COURIER_NAMES = (
    "Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em",
    "Vũ Thị Giang", "Đặng Văn Hải", "Bùi Thị Hạnh", "Đỗ Văn Khánh", "Ngô Thị Lan",
    "Dương Văn Minh", "Lý Thị Ngọc",
)  # fmt: skip
CITIZEN_NAMES = (
    "Nguyễn Thị Hoa", "Trần Văn Nam", "Lê Thị Thu", "Phạm Văn Quang", "Hoàng Thị Mai",
    "Vũ Văn Tùng", "Đặng Thị Yến", "Bùi Văn Long", "Đỗ Thị Hương", "Ngô Văn Sơn",
)  # fmt: skip
STREETS = ("Lý Thái Tổ", "Nguyễn Gia Thiều", "Trần Hưng Đạo", "Ngô Gia Tự", "Hoàng Văn Thụ")
# Journey stages the demo shows, in order; each case is driven up to one of them.
STAGES = (
    "booked", "picked_up", "at_post_office", "handed_over", "result_registered",
    "collected", "out_for_delivery", "attempt_failed", "delivered",
)  # fmt: skip


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
    posts = list(session.scalars(select(PostOffice).where(PostOffice.province_code == "24")))
    offices = list(session.scalars(select(Office).where(Office.province_code == "24")))
    procedures = list(session.scalars(select(Procedure)))
    hub = posts[0]
    desk_office = offices[0]
    logins = {d.role: d for d in DEMO_LOGINS}
    create_user(session, username="admin", full_name="Quản trị hệ thống", role="admin",
                password=logins["admin"].password)  # fmt: skip
    dispatcher = create_user(session, username="dieuphoi", full_name="Điều phối viên Kinh Bắc",
                             role="dispatcher", password=logins["dispatcher"].password,
                             post_office_id=hub.id)  # fmt: skip
    desk = create_user(session, username="motcua", full_name="Cán bộ một cửa",
                       role="desk_officer", password=logins["desk_officer"].password,
                       office_id=desk_office.id)  # fmt: skip
    citizen = create_user(session, username="congdan", full_name="Nguyễn Thị Hoa",
                          role="citizen", password=logins["citizen"].password,
                          phone="0912345678")  # fmt: skip
    couriers = [
        create_user(
            session,
            username=f"buuta{i + 1:02d}",
            full_name=name,
            role="courier",
            password=logins["courier"].password,
            phone=f"09{rng.randrange(10**7, 10**8)}",
            post_office_id=posts[i % len(posts)].id if i else hub.id,
        )
        for i, name in enumerate(COURIER_NAMES)
    ]
    communes = list(communes_in_province(DEMO_PROVINCE))
    hub_couriers = [c for c in couriers if c.post_office_id == hub.id]
    for index in range(cases):
        commune = rng.choice(communes)
        start = (now - timedelta(days=rng.randrange(0, 3))).replace(
            hour=rng.choice((8, 9, 10, 14, 15)), minute=0, second=0, microsecond=0
        )
        name = CITIZEN_NAMES[index % len(CITIZEN_NAMES)]
        case = open_case(
            session,
            settings,
            Actor.system(),
            BookingRequest(
                service_option="both",
                procedure_id=procedures[index % len(procedures)].id,
                office_id=desk_office.id,
                post_office_id=hub.id,
                contact_name=name,
                contact_phone=f"09{rng.randrange(10**7, 10**8)}",
                address_text=f"Số {rng.randrange(1, 200)} {rng.choice(STREETS)}, "
                f"{commune.name}, Tỉnh Bắc Ninh",
                commune_code=commune.code,
                lat=commune.lat + rng.uniform(-0.01, 0.01),
                lon=commune.lon + rng.uniform(-0.01, 0.01),
                position_source="centroid",
                position_accuracy_m=1500.0,
                pickup_window_start=start,
                pickup_window_end=start + timedelta(hours=2),
                citizen_user_id=citizen.id if index < 5 else None,
            ),
            now=start - timedelta(days=1),
        )
        courier = hub_couriers[index % len(hub_couriers)]
        case.pickup_courier_id = courier.id
        case.delivery_courier_id = courier.id
        _drive(session, settings, case, STAGES[index % len(STAGES)], courier, desk, dispatcher,
               start)  # fmt: skip
    _open_demo_handover(session, desk_office.id, now)
    session.flush()
    return True


def _open_demo_handover(session: Session, office_id: int, now: datetime) -> None:
    """A courier at the counter with the dossiers they hold for the demo desk (user motcua)."""
    from collections import Counter

    from core.custody.models import ItemState
    from core.custody.parties import party
    from core.handovers.service import open_handover

    held = session.execute(
        select(Item.code, ItemState.custodian)
        .join(ItemState, ItemState.item_id == Item.id)
        .where(Item.kind == "dossier", ItemState.status == "picked_up")
        .order_by(Item.code)
    ).all()
    if not held:
        return
    courier_party = Counter(custodian for _, custodian in held).most_common(1)[0][0]
    codes = [code for code, custodian in held if custodian == courier_party]
    courier = session.get(User, int(courier_party.split(":", 1)[1]))
    assert courier is not None
    open_handover(session, actor_for(courier), giver=courier_party,
                  receiver=party("office", office_id), item_codes=codes, now=now,
                  item_fees=dict.fromkeys(codes, 226000))  # fmt: skip


def _drive(
    session: Session,
    settings: Settings,
    case: Case,
    stage: str,
    courier_user: User,
    desk_user: User,
    dispatcher_user: User,
    start: datetime,
) -> None:
    courier, desk, dispatcher = (
        actor_for(courier_user), actor_for(desk_user), actor_for(dispatcher_user),
    )  # fmt: skip
    clock = [start + timedelta(minutes=20)]

    def act(actor: Actor, kind: str, code: str, **kw: Any) -> None:
        clock[0] += timedelta(minutes=37)
        record_one(session, actor, ScanCommand(kind=kind, code=code, occurred_at=clock[0], **kw))

    dossier = session.get(Item, case.dossier_item_id)
    assert dossier is not None
    order = STAGES.index(stage)
    if order >= STAGES.index("picked_up"):
        seal = {"seal_number": f"NP{dossier.id:06d}", "fees_collected_vnd": 226000}
        act(courier, "picked_up", dossier.code, details=seal)
    if order >= STAGES.index("at_post_office"):
        act(courier, "handover_offered", dossier.code, to_party=dispatcher.party)
        act(dispatcher, "handover_confirmed", dossier.code)
    if order >= STAGES.index("handed_over"):
        act(dispatcher, "handover_offered", dossier.code, to_party=courier.party)
        act(courier, "handover_confirmed", dossier.code)
        act(courier, "handover_offered", dossier.code, to_party=desk.party)
        act(desk, "handover_confirmed", dossier.code)
        received = clock[0].astimezone(VN)
        record_dossier_code(
            session, settings, case, f"000.00.24.H05-{received:%y%m%d}-{case.id % 10000:04d}",
            (received + timedelta(days=10)).date(), actor=desk, recorded_by="Cán bộ một cửa",
            source="seed", now=clock[0],
        )  # fmt: skip
    if order >= STAGES.index("result_registered"):
        result = register_result(session, settings, desk, case, now=clock[0])
        code = result.code
        if order >= STAGES.index("collected"):
            act(courier, "handover_offered", code, to_party=courier.party)
            act(desk, "handover_confirmed", code)
        if order >= STAGES.index("out_for_delivery"):
            act(courier, "out_for_delivery", code)
        if order >= STAGES.index("attempt_failed"):
            act(courier, "attempt_failed", code, details={"reason_code": "addressee_absent"})
        if order >= STAGES.index("delivered"):
            act(courier, "out_for_delivery", code)
            act(courier, "delivered", code, evidence={"proof": "otp", "otp_verified": True})


def seed_dispatch_day(session: Session, settings: Settings, *, now: datetime) -> bool:
    """Today's bookings and morning plan at the hub, for the dispatcher demo; idempotent."""
    from core.dispatch.demo import plan_demo_day

    return plan_demo_day(session, settings, now=now) is not None
