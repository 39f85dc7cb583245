"""A bag's manifest (bảng kê): read from the bag row and the ledger, for the print edge."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import may_see_post_office
from core.cases.models import Booking, Case
from core.courier.bags import bag_contents
from core.custody.models import Bag, CustodyEvent, Item
from core.errors import Forbidden, NotFound, code_refusal
from core.identity.models import User
from core.places.models import Office, PostOffice
from labels.errors import InvalidCode
from labels.manifest import BagManifest, ManifestLine
from labels.s10 import validate_item_id


def bag_manifest(session: Session, viewer: User, raw_code: str) -> BagManifest:
    """The manifest of a bag, for staff of its post office or of its destination (and those
    who reach either: a province supervisor, an admin)."""
    try:
        code = validate_item_id(raw_code)
    except InvalidCode as exc:
        raise code_refusal(exc, "bag_code") from exc
    bag = session.scalar(select(Bag).where(Bag.code == code))
    if bag is None:
        raise NotFound(f"no bag {code}", field="bag_code", reason="bag.unknown",
                       params={"code": code})  # fmt: skip
    ends = (bag.post_office_id, bag.destination_post_office_id)
    if not any(may_see_post_office(viewer, end) for end in ends if end is not None):
        raise Forbidden("this bag is another post office's", field="bag_code",
                        reason="bag.other_post_office")  # fmt: skip
    origin = session.get(PostOffice, bag.post_office_id)
    destination = (session.get(PostOffice, bag.destination_post_office_id)
                   if bag.destination_post_office_id else None)  # fmt: skip
    sealer = session.get(User, bag.sealed_by_user_id) if bag.sealed_by_user_id else None
    codes = bag_contents(session, bag)
    rows = session.execute(
        select(Item.code, Item.kind, Item.id, Office.name_vi, Booking.address_text)
        .outerjoin(Case, Case.id == Item.case_id)
        .outerjoin(Booking, Booking.id == Case.booking_id)
        .outerjoin(Office, Office.id == Booking.office_id)
        .where(Item.code.in_(codes))
        .order_by(Item.code)
    ).all()
    sealed_at_pickup = select(
        CustodyEvent.item_id, CustodyEvent.details["seal_number"].astext
    ).where(CustodyEvent.item_id.in_([r.id for r in rows]), CustodyEvent.kind == "picked_up")
    seals: dict[int, str | None] = {row[0]: row[1] for row in session.execute(sealed_at_pickup)}
    lines = [
        ManifestLine(
            item_id=item_code,
            kind=kind,
            seal_number=seals.get(item_id),
            # A dossier goes to its office; a result back to its citizen's address.
            destination=(office or "") if kind == "dossier" else (address or ""),
        )
        for item_code, kind, item_id, office, address in rows
    ]
    return BagManifest(
        bag_code=bag.code,
        seal_number=bag.seal_number,
        origin=origin.name if origin else "",
        destination=destination.name if destination else None,
        sealed_by=sealer.full_name if sealer else None,
        sealed_at=bag.sealed_at,
        lines=lines,
    )
