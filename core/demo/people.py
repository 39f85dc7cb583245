"""The demo's people: staff with their logins, couriers, and citizens with a valid ID card
(the number agrees with the sex and birth year they book with, and its QR is what a courier
scans at delivery), each with a drawn signature stored as media like a phone uploads one."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import date

from PIL import Image, ImageDraw
from sqlalchemy.orm import Session

from core.identity.models import User
from core.identity.service import create_user
from core.media.service import store_media
from labels.text import strip_diacritics


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
    DemoLogin("counter_clerk", "quay", "hoso-quay-2026"),
)
COURIER_NAMES = (
    "Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em",
    "Vũ Thị Giang", "Đặng Văn Hải", "Bùi Thị Hạnh", "Đỗ Văn Khánh", "Ngô Thị Lan",
    "Dương Văn Minh", "Lý Thị Ngọc",
)  # fmt: skip
# (name, phone, birth year): the first is the demo citizen ``congdan``.
CITIZENS = (
    ("Nguyễn Thị Hoa", "0912345678", 1988), ("Trần Văn Nam", "0913456781", 1975),
    ("Lê Thị Thu", "0914567812", 1992), ("Phạm Văn Quang", "0915678123", 1969),
    ("Hoàng Thị Mai", "0916781234", 2001), ("Vũ Văn Tùng", "0917812345", 1983),
    ("Đặng Thị Yến", "0918123456", 1996), ("Bùi Văn Long", "0919234567", 1979),
    ("Đỗ Thị Hương", "0981234567", 1990), ("Ngô Văn Sơn", "0982345671", 1964),
)  # fmt: skip
BAC_NINH_BIRTH_CODE = "027"  # digits 1-3 of a CCCD registered in Bắc Ninh


@dataclass(frozen=True)
class Citizen:
    user: User
    name: str
    phone: str
    sex: str
    birth_year: int
    cccd: str
    signature_sha256: str

    def card_qr(self, address: str) -> str:
        """The text of the QR on the back of this citizen's chip ID card."""
        born = date(self.birth_year, 3, 14)
        sex = "Nữ" if self.sex == "female" else "Nam"
        return f"{self.cccd}||{self.name}|{born:%d%m%Y}|{sex}|{address}|{date(2021, 4, 15):%d%m%Y}"


@dataclass(frozen=True)
class Staff:
    admin: User
    dispatcher: User
    desk: User
    couriers: list[User]
    signatures: dict[int, str]  # user id -> stored signature image hash


def signature_png(name: str, seed: int) -> bytes:
    """A drawn signature: a stroke unique to the person and their name beneath it."""
    rng = random.Random(seed)
    image = Image.new("RGB", (320, 120), "white")
    draw = ImageDraw.Draw(image)
    points = [(20 + 40 * i, rng.randrange(25, 85)) for i in range(8)]
    draw.line(points, fill="navy", width=4)
    draw.text((24, 98), strip_diacritics(name), fill="navy")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _signature(session: Session, user: User, seed: int) -> str:
    return store_media(session, signature_png(user.full_name, seed), "image/png",
                       uploaded_by_user_id=user.id)  # fmt: skip


def citizen_sex(name: str) -> str:
    """The sex of a demo citizen, read from the middle name (Thị is a woman's)."""
    return "female" if " Thị " in f" {name} " else "male"


def cccd_for(rng: random.Random, sex: str, birth_year: int) -> str:
    """A valid CCCD registered in Bắc Ninh: digit 4 is century and sex, 5-6 the year."""
    century = (birth_year // 100 - 19) * 2 + (1 if sex == "female" else 0)
    return f"{BAC_NINH_BIRTH_CODE}{century}{birth_year % 100:02d}{rng.randrange(10**6):06d}"


def create_staff(
    session: Session, rng: random.Random, *, hub_id: int, desk_office_id: int, posts: list[int]
) -> Staff:
    logins = {d.role: d for d in DEMO_LOGINS}
    admin = create_user(session, username="admin", full_name="Quản trị hệ thống", role="admin",
                        password=logins["admin"].password)  # fmt: skip
    dispatcher = create_user(session, username="dieuphoi", full_name="Điều phối viên Kinh Bắc",
                             role="dispatcher", password=logins["dispatcher"].password,
                             post_office_id=hub_id)  # fmt: skip
    desk = create_user(session, username="motcua", full_name="Lê Thị Một Cửa",
                       role="desk_officer", password=logins["desk_officer"].password,
                       office_id=desk_office_id)  # fmt: skip
    couriers = [
        create_user(
            session,
            username=f"buuta{i + 1:02d}",
            full_name=name,
            role="courier",
            password=logins["courier"].password,
            phone=f"09{rng.randrange(10**7, 10**8)}",
            post_office_id=posts[i % len(posts)] if i else hub_id,
        )
        for i, name in enumerate(COURIER_NAMES)
    ]
    # The hub's counter (/counter): walk-ins, results collected there, the queue.
    create_user(session, username="quay", full_name="Giao dịch viên Kinh Bắc",
                role="counter_clerk", password=logins["counter_clerk"].password,
                post_office_id=hub_id)  # fmt: skip
    people = [dispatcher, desk, *couriers]
    signatures = {user.id: _signature(session, user, user.id) for user in people}
    return Staff(admin, dispatcher, desk, couriers, signatures)


def create_citizens(session: Session, rng: random.Random) -> list[Citizen]:
    """The citizens, created as a first sign-in by phone creates one (``congdan`` also gets a
    password, for the demo's sign-in page)."""
    citizens = []
    for index, (name, phone, year) in enumerate(CITIZENS):
        sex = citizen_sex(name)
        user = create_user(
            session,
            username="congdan" if index == 0 else f"citizen-{phone}",
            full_name=name,
            role="citizen",
            password=DEMO_LOGINS[-1].password if index == 0 else None,
            phone=phone,
        )
        signature = _signature(session, user, index)
        citizens.append(
            Citizen(user=user, name=name, phone=phone, sex=sex, birth_year=year,
                    cccd=cccd_for(rng, sex, year), signature_sha256=signature)
        )  # fmt: skip
    return citizens
