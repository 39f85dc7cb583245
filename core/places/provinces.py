"""Standing up a province from the reference data alone: one office per commune and one
provincial centre, each the public administration service centre the 2025 reform set up.

The derived offices sit at their commune's centroid and carry ``position_source`` saying so;
a province's own office file (core.catalogue) then corrects names, addresses and positions.
Nothing here overwrites an office that exists: a commune that already has a centre, or a
province that already has its provincial centre, is left alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.places.models import Commune, Office, Province

DERIVED_SOURCE = "commune_centroid"
CENTRE_VI = "Trung tâm Phục vụ hành chính công"
CENTRE_EN = "Public Administration Service Centre"


@dataclass(frozen=True)
class ProvinceSeeded:
    province_code: str
    communes: int
    offices_added: int


def _lower_first(name: str) -> str:
    # "Phường Kinh Bắc" -> "phường Kinh Bắc", as the unit reads inside a longer name.
    return name[:1].lower() + name[1:]


def province_office_code(province_code: str) -> str:
    return f"ttphcc-{province_code}"


def commune_office_code(commune_code: str) -> str:
    return f"ttphcc-{commune_code}"


def _nearest(communes: list[Commune], lat: float, lon: float) -> Commune:
    # Only to place the provincial centre somewhere plausible until the office file says where.
    return min(communes, key=lambda c: math.hypot(c.lat - lat, (c.lon - lon) * math.cos(
        math.radians(lat))))  # fmt: skip


def derive_offices(session: Session, province_code: str) -> ProvinceSeeded:
    province = session.get(Province, province_code)
    if province is None:
        raise InvalidInput(f"no province with code {province_code!r}", field="province")
    communes = list(
        session.scalars(
            select(Commune).where(Commune.province_code == province_code).order_by(Commune.code)
        )
    )
    served = set(
        session.scalars(
            select(Office.commune_code).where(
                Office.province_code == province_code, Office.kind == "commune_centre"
            )
        )
    )
    has_centre = session.scalar(
        select(Office.id).where(
            Office.province_code == province_code, Office.kind == "province_centre"
        )
    )
    rows = [
        {
            "code": commune_office_code(c.code),
            "name_vi": f"{CENTRE_VI} {_lower_first(c.name)}",
            "name_en": f"{CENTRE_EN}, {c.name}",
            "kind": "commune_centre",
            "province_code": province_code,
            "commune_code": c.code,
            "address": f"{c.name}, {_lower_first(province.name)}",
            "lat": c.lat,
            "lon": c.lon,
            "position_source": DERIVED_SOURCE,
        }
        for c in communes
        if c.code not in served
    ]
    if has_centre is None and communes:
        seat = _nearest([c for c in communes if c.unit_type == "phuong"] or communes,
                        province.lat, province.lon)  # fmt: skip
        rows.insert(
            0,
            {
                "code": province_office_code(province_code),
                "name_vi": f"{CENTRE_VI} {_lower_first(province.name)}",
                "name_en": f"{CENTRE_EN}, {province.name}",
                "kind": "province_centre",
                "province_code": province_code,
                "commune_code": seat.code,
                "address": f"{seat.name}, {_lower_first(province.name)}",
                "lat": seat.lat,
                "lon": seat.lon,
                "position_source": DERIVED_SOURCE,
            },
        )
    added = 0
    if rows:
        result = session.execute(
            insert(Office).on_conflict_do_nothing(index_elements=["code"]).returning(Office.id),
            rows,
        )
        added = len(result.all())
    session.flush()
    return ProvinceSeeded(province_code, len(communes), added)
