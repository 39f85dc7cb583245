"""One demo case addressed to another province (docs/transit.md): a Bắc Ninh citizen who
filed in person at Hà Nội's public administration centre booked the return of the result by
post. The result was registered at that desk, collected by a Hà Nội courier, bagged at a Hà
Nội post office to the Bắc Ninh hub, and has arrived there this morning: the hub's dispatcher
hands it to a courier, and the tracking page shows each transit step.

Built as an operator would: Hà Nội stood up with ``seed_province``, its post office and the
procedure's flag through the catalogue import (the flag on the judicial record procedure is
the demo's choice, not a checked fact of the national catalogue), the case through the
booking, desk, hand-over and bag services.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.booking.service import BookingInput, create_booking
from core.booking.slots import offerable_windows
from core.catalogue.access import CatalogueScope
from core.catalogue.service import KINDS, export_rows, import_file
from core.catalogue.tabular import write_table
from core.courier.bags import open_bag, seal_bag
from core.custody.commands import ScanCommand
from core.custody.parties import Actor, party
from core.custody.service import record_one
from core.demo.journeys import (
    DemoRefused,
    DemoWeek,
    at,
    home_in,
    hub_communes,
    working_day_after,
    working_day_before,
)
from core.demo.people import signature_png
from core.desk.service import register_result_at_desk
from core.identity.models import User
from core.identity.service import actor_for, create_user
from core.media.service import store_media
from core.places.models import Office, PostOffice, Procedure

FAR_PROVINCE = "01"  # Hà Nội
FAR_POST_OFFICE = "HN-DEMO-01"
CARRIED_PROCEDURE = "judicial_record_certificate"
FAR_AGENCY_IDENTIFIER = "000.00.01.H26"


def _import(session: Session, kind: str, rows: list[list[str]]) -> None:
    """Rows through the catalogue import an admin uses (all or nothing)."""
    data = write_table(list(KINDS[kind].columns), rows, "csv", KINDS[kind].sheet)
    report = import_file(session, kind, data, CatalogueScope.everything())
    if not report.applied:
        raise DemoRefused(f"catalogue import of {kind}: {report.errors}")


def _stand_up_hanoi(session: Session) -> tuple[Office, PostOffice]:
    """A post office beside Hà Nội's public administration centre (its offices and price
    tiers are ``seed_province``'s), and the judicial record procedure carried there by post."""
    centre = session.scalars(
        select(Office)
        .where(Office.province_code == FAR_PROVINCE, Office.kind == "province_centre")
        .order_by(Office.id)
    ).first()
    if centre is None:
        raise DemoRefused("Hà Nội has no province-level office")
    _import(session, "post_offices", [[
        FAR_POST_OFFICE, FAR_PROVINCE, centre.commune_code, "Bưu cục Hành chính công Hà Nội",
        centre.address, f"{centre.lat:.6f}", f"{centre.lon:.6f}",
    ]])  # fmt: skip
    post = session.scalar(select(PostOffice).where(PostOffice.code == FAR_POST_OFFICE))
    assert post is not None
    columns = list(KINDS["procedures"].columns)
    rows = [
        row
        for row in export_rows(session, "procedures", CatalogueScope.everything())
        if row[columns.index("code")] == CARRIED_PROCEDURE
    ]
    for row in rows:
        row[columns.index("postal_other_province")] = "có"
    _import(session, "procedures", rows)
    return centre, post


def _far_staff(session: Session, post: PostOffice, centre: Office) -> tuple[User, User, User]:
    courier = create_user(session, username="buuta-hn", full_name="Đỗ Văn Hà",
                          role="courier", post_office_id=post.id)  # fmt: skip
    dispatcher = create_user(session, username="dieuphoi-hn", full_name="Điều phối viên Hà Nội",
                             role="dispatcher", post_office_id=post.id)  # fmt: skip
    desk = create_user(session, username="motcua-hn", full_name="Phạm Thị Thủ Đô",
                       role="desk_officer", office_id=centre.id)  # fmt: skip
    return courier, dispatcher, desk


def seed_far_case(session: Session, week: DemoWeek) -> None:
    """The case, on a Hà Nội stood up by ``core.seed.seed_province`` (``FAR_PROVINCE``)."""
    centre, post = _stand_up_hanoi(session)
    courier, dispatcher, desk = _far_staff(session, post, centre)
    for user in (courier, dispatcher, desk):
        week.staff.signatures[user.id] = store_media(
            session, signature_png(user.full_name, user.id), "image/png",
            uploaded_by_user_id=user.id,
        )  # fmt: skip
    procedure = session.scalar(select(Procedure).where(Procedure.slug == CARRIED_PROCEDURE))
    assert procedure is not None and procedure.postal_other_province

    today = week.today
    filed, booked = working_day_before(today, 5), working_day_before(today, 4)
    registered, arrived = working_day_before(today, 2), working_day_before(today, 1)
    citizen = week.citizens[0]
    commune = hub_communes(session, week.hub)[0]
    lat, lon = home_in(session, week.hub, commune, week.rng)
    booked_at = at(booked, 10, 5)
    windows = offerable_windows(session, post_office_id=week.hub.id, lat=lat, lon=lon,
                                day=working_day_after(today, 1), now=booked_at,
                                settings=week.settings)  # fmt: skip
    if not windows:
        raise DemoRefused("no window left for the cross-province demo case")
    reference = f"{FAR_AGENCY_IDENTIFIER}-{filed:%y%m%d}-0718"
    create_booking(
        session, week.settings, citizen.user,
        BookingInput(
            service_option="receive", procedure_id=procedure.id,
            address_text=f"Số 18 Ngô Gia Tự, {commune.name}, Tỉnh Bắc Ninh",
            contact_name=citizen.name, contact_phone=citizen.phone, cccd=citizen.cccd,
            citizen_sex=citizen.sex, citizen_birth_year=citizen.birth_year,
            payment_method="cash", window_start=windows[0][0], commune_code=commune.code,
            office_id=centre.id, lat=lat, lon=lon, gps_accuracy_m=15.0,
            receive_reference=reference,
        ),
        now=booked_at,
    )  # fmt: skip

    # Hà Nội: the desk registers the result; its courier brings it to the post office.
    result = register_result_at_desk(session, week.settings, desk, reference,
                                     now=at(registered, 14, 10)).code  # fmt: skip
    hn_post, hn_courier = party("post_office", post.id), party("courier", courier.id)
    week._sitting(opener=courier, confirmer=desk, giver=party("office", centre.id),
                  receiver=hn_courier, codes=[result], when=at(registered, 15, 30))  # fmt: skip
    week._sitting(opener=courier, confirmer=dispatcher, giver=hn_courier, receiver=hn_post,
                  codes=[result], when=at(registered, 16, 40))  # fmt: skip
    # Bagged to the Bắc Ninh hub, and scanned in there the next morning.
    actor = actor_for(dispatcher)
    bag = open_bag(session, actor, now=at(registered, 17, 0))
    _scan(session, actor, "bagged", result, at(registered, 17, 2), bag_code=bag.code)
    seal_bag(session, actor, bag.code, f"HN-BN-{registered:%m%d}", now=at(registered, 17, 5),
             destination_post_office_id=week.hub.id)  # fmt: skip
    _scan(session, actor, "departed", bag.code, at(registered, 17, 30))
    _scan(session, actor_for(week.staff.dispatcher), "arrived", bag.code, at(arrived, 7, 50))


def _scan(session: Session, actor: Actor, kind: str, code: str, when: datetime,
          **details: str) -> None:  # fmt: skip
    command = ScanCommand(kind=kind, code=code, occurred_at=when, client_event_id=uuid.uuid4(),
                          details=details)  # fmt: skip
    record_one(session, actor, command)
