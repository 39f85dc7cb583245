"""The rule for a dossier to an office in another province (see core/booking/transit.py for
the journey): the catalogue decides, procedure by procedure."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.places.models import Office, Procedure, Province


def is_cross_province(office: Office, address_province: str) -> bool:
    return office.province_code != address_province


def cross_province_refusal(
    session: Session, procedure: Procedure, office: Office, address_province: str
) -> InvalidInput | None:
    """Why a dossier of ``procedure`` may not go to ``office`` (in another province than the
    address), or None: the catalogue decides, procedure by procedure."""
    if procedure.postal_other_province:
        return None
    province = session.get(Province, address_province)
    return InvalidInput(
        f"procedure {procedure.slug!r} is not carried by post to an office in another "
        f"province (catalogue column postal_other_province); choose an office in the "
        f"address's province",
        field="office_id",
        reason="booking.procedure_not_across_provinces",
        params={
            "procedure": procedure.name_vi,
            "province": province.name if province is not None else address_province,
        },
    )
