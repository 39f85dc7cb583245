"""``core.access``: a role is allowed only where the table names it, and reaches nothing it is
not given (a role added to the user model before its rows here can do nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, get_args

import pytest
from sqlalchemy.orm import Session

from core.access import (
    AREAS,
    Area,
    Reach,
    SlaReach,
    may_act_for_post_office,
    may_enter,
    may_see_case,
    may_see_post_office,
    reach_of,
    sla_reach,
)
from core.admin.users import Binding
from core.cases.models import Booking, Case
from core.courier.devices import devices_visible_to, sign_in
from core.courier.runsheet import run_sheet
from core.dispatch.day import today_in_vietnam
from core.errors import Forbidden, InvalidInput, NotFound
from core.identity.models import ROLES, User
from core.places.models import PostOffice
from core.settings import Settings
from tests.core.admin.helpers import staff
from tests.factories import make_case, make_office, make_post_office, make_user


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


# -- the two roles the users administration adds --------------------------------------------

HANOI: dict[str, Any] = {"province_code": "01", "commune_code": "00070", "lat": 21.0245,
                         "lon": 105.8530, "address": "Phường Hoàn Kiếm, Hà Nội"}  # fmt: skip


@dataclass
class TwoProvinces:
    """A post office and an office in Bắc Ninh (24) and in Hà Nội (01), a case at each."""

    post_office_24: PostOffice
    post_office_01: PostOffice
    case_24: tuple[Booking, Case]
    case_01: tuple[Booking, Case]


def _booked(db: Session, case: Case) -> tuple[Booking, Case]:
    booking = db.get(Booking, case.booking_id)
    assert booking is not None
    return booking, case


@pytest.fixture
def provinces(db: Session, settings: Settings) -> TwoProvinces:
    po_24, office_24 = make_post_office(db), make_office(db)
    po_01, office_01 = make_post_office(db, **HANOI), make_office(db, **HANOI)
    case_24 = make_case(db, settings, post_office=po_24, office=office_24)
    case_01 = make_case(db, settings, post_office=po_01, office=office_01,
                        address_text="1 Tràng Tiền, Phường Hoàn Kiếm, Hà Nội",
                        commune_code="00070", lat=21.0245, lon=105.8530)  # fmt: skip
    return TwoProvinces(po_24, po_01, _booked(db, case_24), _booked(db, case_01))


def test_a_province_supervisor_sees_their_provinces_objects_and_not_anothers(
    db: Session, provinces: TwoProvinces
) -> None:
    supervisor = staff(db, "province_supervisor", Binding(province_code="24"))
    assert reach_of(supervisor) == Reach(province_code="24")
    assert may_see_case(supervisor, *provinces.case_24)
    assert not may_see_case(supervisor, *provinces.case_01)
    # Watching a post office's couriers: Bắc Ninh's, never Hà Nội's.
    assert may_act_for_post_office(supervisor, provinces.post_office_24.id)
    assert not may_act_for_post_office(supervisor, provinces.post_office_01.id)
    # Printing and watching, never the desk, the field app or dispatch planning; reads a post
    # office's money and bank lines and resolves its money exceptions, never cashes up; the
    # ledger read, and its corrections (a dispatcher or supervisor corrects a wrong event).
    assert {a for a in AREAS if may_enter(supervisor, a)} == {
        "printing", "supervise", "administer", "quality", "money", "money_review", "bank",
        "ledger", "corrections"}  # fmt: skip
    # Service-quality figures: the province and everything in it, not another province.
    assert sla_reach(db, supervisor, "province", "24") == SlaReach("province", "24")
    assert sla_reach(db, supervisor, "post_office", str(provinces.post_office_24.id)).ident
    with pytest.raises(Forbidden):
        sla_reach(db, supervisor, "province", "01")
    with pytest.raises(Forbidden):
        sla_reach(db, supervisor, "post_office", str(provinces.post_office_01.id))


def test_a_counter_clerk_sees_their_post_office_only(db: Session, provinces: TwoProvinces) -> None:
    clerk = staff(db, "counter_clerk", Binding(post_office_id=provinces.post_office_24.id))
    other = make_post_office(db)  # same province, another post office
    assert reach_of(clerk) == Reach(post_office_id=provinces.post_office_24.id)
    assert may_see_case(clerk, *provinces.case_24)
    assert not may_see_case(clerk, *provinces.case_01)
    assert may_see_post_office(clerk, provinces.post_office_24.id)
    assert not may_see_post_office(clerk, other.id)
    assert {a for a in AREAS if may_enter(clerk, a)} == {
        "printing",
        "field",
        "quality",
        "money",
        "cash_up",
        "ledger",
        "counter",
    }
    # Service-quality figures: their post office only.
    assert sla_reach(db, clerk, "post_office", str(provinces.post_office_24.id)).ident
    for level, ident in (("post_office", str(other.id)), ("province", "24")):
        with pytest.raises(Forbidden):
            sla_reach(db, clerk, level, ident)
    with pytest.raises(InvalidInput):
        sla_reach(db, clerk, "planet", "1")
    with pytest.raises(NotFound):
        sla_reach(db, clerk, "post_office", "999999")
    # Not a supervisor of couriers: a clerk plans, moves and watches nothing.
    assert not may_act_for_post_office(clerk, provinces.post_office_24.id)


def test_another_post_offices_run_sheet_is_refused_to_staff_who_do_not_reach_it(
    db: Session, provinces: TwoProvinces
) -> None:
    """Before, only couriers and other post offices' *dispatchers* were refused: a clerk of
    Bắc Ninh read any courier's run sheet anywhere."""
    clerk = staff(db, "counter_clerk", Binding(post_office_id=provinces.post_office_24.id))
    hanoi_courier = make_user(db, "courier", post_office_id=provinces.post_office_01.id)
    own_courier = make_user(db, "courier", post_office_id=provinces.post_office_24.id)
    today = today_in_vietnam(datetime.now(UTC))
    with pytest.raises(Forbidden):
        run_sheet(db, clerk, today, courier_id=hanoi_courier.id)
    courier_id, stops = run_sheet(db, clerk, today, courier_id=own_courier.id)
    assert courier_id == own_courier.id and stops == []


def test_a_province_supervisor_lists_the_devices_of_their_provinces_staff(
    db: Session, settings: Settings, provinces: TwoProvinces
) -> None:
    """Before, a supervisor's list held only their own devices (none)."""
    supervisor = staff(db, "province_supervisor", Binding(province_code="24"))
    phones = {}
    for post in (provinces.post_office_24, provinces.post_office_01):
        courier = make_user(db, "courier", post_office_id=post.id)
        phones[post.province_code] = sign_in(
            db, settings, username=courier.username, password="correct horse battery",
            install_id=f"phone-{courier.id}", device_name="Phone", platform="android",
            now=datetime.now(UTC),
        ).device.id  # fmt: skip
    seen = {device.id for device, _ in devices_visible_to(db, supervisor)}
    assert phones["24"] in seen and phones["01"] not in seen
