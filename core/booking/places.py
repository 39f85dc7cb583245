"""Which office and post office serve an address."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.places.models import Commune, Office, PostOffice


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine): enough to rank offices by nearness."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class OfficeChoice:
    office: Office
    distance_km: float
    same_commune: bool
    # An office of another province, reached by bag (core/booking/transit.py).
    other_province: bool = False


def commune_or_error(session: Session, commune_code: str) -> Commune:
    commune = session.get(Commune, commune_code)
    if commune is None:
        raise InvalidInput(f"no commune with code {commune_code!r}", field="commune_code")
    return commune


def offices_for(session: Session, commune: Commune, lat: float, lon: float) -> list[OfficeChoice]:
    """Every office of the province (Decree 118/2025): the address's commune first, then
    by distance. The first is the suggestion."""
    offices = session.scalars(select(Office).where(Office.province_code == commune.province_code))
    choices = [
        OfficeChoice(o, distance_km(lat, lon, o.lat, o.lon), o.commune_code == commune.code)
        for o in offices
    ]
    return sorted(choices, key=lambda c: (not c.same_commune, c.distance_km, c.office.id))


def post_office_for(session: Session, commune: Commune, lat: float, lon: float) -> PostOffice:
    """The post office whose couriers pick up at this address: same commune, else nearest."""
    posts = list(
        session.scalars(select(PostOffice).where(PostOffice.province_code == commune.province_code))
    )
    if not posts:
        raise InvalidInput(
            "no post office serves this province yet; bookings are not open here",
            field="address",
        )
    return min(
        posts,
        key=lambda p: (p.commune_code != commune.code, distance_km(lat, lon, p.lat, p.lon), p.id),
    )
