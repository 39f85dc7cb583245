"""The result leg a citizen chose: brought home, or collected at the post office's counter.

Changeable on ``/my`` until the result is on its way to them: once a courier has taken it out
on a round, or it was handed over, the choice is what happened. A result already waiting at
the post office may still be asked to come home (the post office then sends it out).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.booking.service import citizen_case
from core.cases.models import Booking
from core.errors import Conflict, InvalidInput
from core.identity.models import User

# Result statuses after which the leg can no longer change.
LOCKED_STATUSES = frozenset({"out_for_delivery", "attempt_failed", "delivered", "lost"})


def choose_result_leg(
    session: Session, citizen: User, case_id: int, *, at_post_office: bool
) -> None:
    """Record the citizen's choice for their own case (another's is not found)."""
    view = citizen_case(session, citizen, case_id)
    if view.context.booking.service_option == "send" or view.cancelled:
        raise InvalidInput(
            "this booking has no result for the post to carry",
            field="result_at_post_office",
            reason="booking.no_result_leg",
        )
    if view.result_status in LOCKED_STATUSES:
        raise Conflict(
            "the result is already on its way or handed over",
            field="result_at_post_office",
            reason="booking.result_leg_locked",
        )
    booking = session.scalar(
        select(Booking).where(Booking.id == view.context.booking.id).with_for_update()
    )
    assert booking is not None
    booking.result_at_post_office = at_post_office
    session.flush()
