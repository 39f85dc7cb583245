"""Staff look items up by code: the item, if ``core.access`` lets them see it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import may_see_case
from core.cases.models import Booking, Case
from core.custody.models import Item
from core.errors import Forbidden, NotFound, code_refusal
from core.identity.models import User
from labels.errors import InvalidCode
from labels.s10 import validate_item_id


def item_code(raw: str, field: str = "item_id") -> str:
    try:
        return validate_item_id(raw)
    except InvalidCode as exc:
        raise code_refusal(exc, field) from exc


def scoped_item(session: Session, user: User, raw_code: str, field: str = "item_id") -> Item:
    """The item, if ``user`` may see it; otherwise a clear refusal naming the field."""
    code = item_code(raw_code, field)
    row = session.execute(
        select(Item, Case, Booking)
        .join(Case, Case.id == Item.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .where(Item.code == code)
    ).first()
    if row is None:
        raise NotFound(f"no item {code}", field=field, reason="item.unknown", params={"code": code})
    item, case, booking = row
    if not may_see_case(user, booking, case):
        place = "office" if user.role == "desk_officer" else "post office"
        raise Forbidden(
            f"item {code} belongs to another {place}",
            field=field,
            reason="item.other_office" if user.role == "desk_officer" else "item.other_post_office",
            params={"code": code},
        )
    return item
