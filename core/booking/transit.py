"""A dossier for an office in another province (a ministry in Hà Nội, say).

Decree 118/2025 lets a citizen choose any office of their own province; an office of another
province is reached by post only for a procedure the catalogue marks
``postal_other_province`` (the office must accept dossiers from outside its province, which
the national catalogue says per procedure). Such a booking names, besides the citizen's post
office, the post office of the office's province that serves the office
(``bookings.transit_post_office_id``): the dossier is picked up at home as usual, bagged from
the citizen's post office to that one, carried to the office's desk by its couriers, and
the result comes back the same way. Priced at the ``other_province`` zone of the citizen's
province's price table (core/booking/pricing.py).
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.booking.places import OfficeChoice, commune_or_error, distance_km, post_office_for
from core.errors import InvalidInput
from core.places.models import Commune, Office, PostOffice, Procedure


def transit_post_office(session: Session, office: Office) -> PostOffice:
    """The post office of the office's province whose couriers serve the office: same
    commune, else nearest (the rule a home pickup uses). Refused when the province has none."""
    commune = commune_or_error(session, office.commune_code)
    try:
        return post_office_for(session, commune, office.lat, office.lon)
    except InvalidInput as exc:
        raise InvalidInput(
            f"no post office in {office.name_vi}'s province carries dossiers to it yet",
            field="office_id",
            reason="booking.no_transit_post_office",
            params={"office": office.name_vi},
        ) from exc


def far_offices_for(
    session: Session, commune: Commune, lat: float, lon: float, procedure: Procedure | None
) -> list[OfficeChoice]:
    """The offices of other provinces a dossier of ``procedure`` may be sent to, after the
    province's own on the booking page: province-level centres (a ministry's or department's
    desk) of provinces with a post office to carry it there; none unless the catalogue lets
    the post carry the procedure across provinces. Nearest first."""
    if procedure is None or not procedure.postal_other_province:
        return []
    served = exists().where(PostOffice.province_code == Office.province_code)
    offices = session.scalars(
        select(Office).where(
            Office.province_code != commune.province_code,
            Office.kind == "province_centre",
            served,
        )
    )
    choices = [
        OfficeChoice(o, distance_km(lat, lon, o.lat, o.lon), False, other_province=True)
        for o in offices
    ]
    return sorted(choices, key=lambda c: (c.distance_km, c.office.id))
