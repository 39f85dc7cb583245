"""A served area for booking tests: a post office, an office, a procedure and couriers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.booking.service import BookingInput
from core.identity.models import User
from core.places.models import Commune, Office, PostOffice, Procedure
from tests.factories import (
    make_office,
    make_post_office,
    make_procedure,
    make_user,
    unique,
)
from vntime import VN

# Monday 23 November 2026, 07:00 in Vietnam: every window of the day is still bookable.
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=VN)
FIRST_WINDOW = datetime(2026, 11, 23, 8, 0, tzinfo=VN)
# Phường Thủy Xuân, Huế (46): far from the Bắc Ninh data other tests commit.
THUY_XUAN = "19813"
ADDRESS = "12 Lê Ngô Cát, Phường Thủy Xuân, Huế"
# Valid CCCD numbers: 001 Hà Nội; digit 4 = century and sex; digits 5-6 = year.
CCCD_FEMALE_1990 = "001190012345"
CCCD_MALE_1985 = "001085067890"


@dataclass(frozen=True)
class Area:
    commune: Commune
    post_office: PostOffice
    office: Office
    procedure: Procedure
    couriers: list[User]


def make_area(session: Session, commune_code: str = THUY_XUAN, couriers: int = 1) -> Area:
    commune = session.get(Commune, commune_code)
    assert commune is not None
    post = make_post_office(
        session, code=unique("PO-B"), name="Bưu cục Thủy Xuân",
        province_code=commune.province_code, commune_code=commune.code,
        address=f"{commune.name}", lat=commune.lat, lon=commune.lon,
    )  # fmt: skip
    office = make_office(
        session, code=unique("OF-B"), name_vi=f"Bộ phận một cửa {commune.name}",
        name_en=f"{commune.name} one-stop office", province_code=commune.province_code,
        commune_code=commune.code, address=commune.name, lat=commune.lat + 0.001,
        lon=commune.lon,
    )  # fmt: skip
    # A word of its own in the agency: tests that commit leave many procedures of the same
    # name behind, and a search for the name alone can list 50 others first.
    procedure = make_procedure(session, fee_vnd=200_000, agency=f"Sở Tư pháp {unique('so')}")
    staff = [make_user(session, "courier", post_office_id=post.id) for _ in range(couriers)]
    return Area(commune, post, office, procedure, staff)


def booking_input(area: Area, **overrides: Any) -> BookingInput:
    base = BookingInput(
        service_option="both",
        procedure_id=area.procedure.id,
        address_text=ADDRESS,
        contact_name="Trần Thị Hoa",
        contact_phone="0912 345 678",
        cccd=CCCD_FEMALE_1990,
        citizen_sex="female",
        citizen_birth_year=1990,
        payment_method="cash",
        window_start=FIRST_WINDOW,
        office_id=area.office.id,
    )
    return replace(base, **overrides)


def next_window(start: datetime, steps: int = 1) -> datetime:
    """The start of a later window on the same day (08:00, 10:00, 13:30, 15:30)."""
    starts = [(8, 0), (10, 0), (13, 30), (15, 30)]
    index = starts.index((start.hour, start.minute)) + steps
    hour, minute = starts[index]
    return start.replace(hour=hour, minute=minute) + timedelta(0)
