"""A courier with one pickup on today's run sheet, and their sign-in on the phone.

Several browser tests start the same way (the courier app at a citizen's door at nine); the
day is built once here so each test reads as its own story.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.cases.models import Case
from core.custody.models import Item
from tests.factories import home_post_office, make_user, todays_stop, unique
from vntime import VN

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class DoorStop:
    username: str
    courier_id: int
    case_id: int
    item_id: int
    code: str  # the dossier's item ID
    stop_id: int


def pickup_at_nine(session: Session, make: Callable[[Session], Case]) -> DoorStop:
    """A new courier of the home post office, the case ``make`` builds given to them, and
    its pickup on their run sheet today from nine."""
    username = unique("buuta")
    courier = make_user(session, "courier", username=username, password=PASSWORD,
                        post_office_id=home_post_office(session).id)  # fmt: skip
    case = make(session)
    case.pickup_courier_id = courier.id
    dossier = session.get(Item, case.dossier_item_id)
    assert dossier is not None
    nine = datetime.now(VN).replace(hour=9, minute=0, second=0, microsecond=0)
    stop = todays_stop(session, courier, kind="home_pickup", sequence=1, start=nine,
                       case_id=case.id)  # fmt: skip
    return DoorStop(username, courier.id, case.id, dossier.id, dossier.code, stop.id)


def sign_in_on_the_phone(page: Any, live_server: str, username: str) -> None:
    """The courier app's sign-in, until the run sheet shows."""
    page.goto(f"{live_server}/courier/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("[data-stop]")
