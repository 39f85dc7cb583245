"""``core.access``: a role is allowed only where the table names it, and reaches nothing it is
not given (a role added to the user model before its rows here can do nothing)."""

from __future__ import annotations

from typing import get_args

from core.access import (
    AREAS,
    Area,
    Reach,
    may_act_for_post_office,
    may_enter,
    may_see_case,
    reach_of,
)
from core.cases.models import Booking, Case
from core.identity.models import ROLES, User


def test_every_area_has_its_roles_and_every_role_is_known() -> None:
    assert set(AREAS) == set(get_args(Area))
    assert all(roles <= set(ROLES) for roles in AREAS.values())


def test_a_role_missing_from_the_table_is_refused_everywhere_and_reaches_nothing() -> None:
    newcomer = User(id=77, role="night_watch", post_office_id=1, office_id=1)
    assert not any(may_enter(newcomer, area) for area in AREAS)
    assert reach_of(newcomer) == Reach()
    assert not may_act_for_post_office(newcomer, 1)

    booking = Booking(office_id=1, post_office_id=1, citizen_user_id=77)
    assert not may_see_case(newcomer, booking, Case(pickup_courier_id=77))


def test_reach_follows_the_role() -> None:
    assert reach_of(User(id=1, role="admin")).everything
    assert reach_of(User(id=2, role="desk_officer", office_id=5)) == Reach(office_id=5)
    assert reach_of(User(id=3, role="dispatcher", post_office_id=7)) == Reach(post_office_id=7)
    assert reach_of(User(id=4, role="courier", post_office_id=7)) == Reach(
        post_office_id=7, assigned_to=4
    )
    dispatcher = User(id=3, role="dispatcher", post_office_id=7)
    assert may_act_for_post_office(dispatcher, 7) and not may_act_for_post_office(dispatcher, 8)


def test_the_message_status_service_admits_the_roles_of_the_messages_area() -> None:
    from core.access import roles_for
    from core.outbox.status import MESSAGE_STAFF_ROLES

    assert roles_for("messages") == tuple(sorted(MESSAGE_STAFF_ROLES))
