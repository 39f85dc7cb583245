"""The citizen's tracking: the courier's first name and ETA, the live ETA once the courier is
on the way, never the courier's position; the cached answer never older than a scan."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.tracking_cache import LIVE_TTL_S, TrackingCache, tracking_cache
from core.cases.models import Booking, Case
from core.courier.pings import Fix, record_pings
from core.courier.progress import record_arrival
from core.custody.service import ScanCommand, record_one
from core.dispatch.models import RouteStop
from core.identity.models import User
from core.identity.service import actor_for
from core.settings import Settings
from edge.texts.vi import TEXTS
from tests.api.citizen_helpers import sign_in
from tests.factories import dossier_of, make_case, make_user, todays_stop
from vntime import VN

# The courier's fix: a few hundred metres from the citizen's door (21.185, 106.07).
FIX_LAT, FIX_LON = 21.1812, 106.0653


def _pickup(db: Session, courier: User, case: Case) -> None:
    record_one(db, actor_for(courier), ScanCommand(
        kind="picked_up", code=dossier_of(db, case).code, occurred_at=datetime.now(VN),
        details={"seal_number": "S-1"}))  # fmt: skip


def _day(db: Session, settings: Settings) -> tuple[User, Case, Case, RouteStop]:
    """Courier Phúc's day: a first stop, then the citizen's door (planned 40 minutes out)."""
    now = datetime.now(VN)
    courier = make_user(db, "courier", full_name="Phan Văn Phúc")
    first, theirs = make_case(db, settings), make_case(db, settings)
    todays_stop(db, courier, kind="home_pickup", sequence=1, start=now, case_id=first.id,
                eta=now + timedelta(minutes=20))  # fmt: skip
    door = todays_stop(db, courier, kind="home_pickup", sequence=2, start=now, case_id=theirs.id,
                       lat=21.185, lon=106.07, eta=now + timedelta(minutes=40))  # fmt: skip
    record_pings(db, courier.id, None,
                 [Fix(fixed_at=now, lat=FIX_LAT, lon=FIX_LON, accuracy_m=8)], now=now)  # fmt: skip
    return courier, first, theirs, door


def test_the_page_names_the_courier_and_shows_the_eta_never_the_position(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, first, theirs, door = _day(db, settings)
    code = dossier_of(db, theirs).code

    page = client.get(f"/t/{code}")
    assert page.status_code == 200
    assert 'id="courier-name"' in page.text and "<strong>Phúc</strong>" in page.text
    assert "Phan Văn" not in page.text  # the first name only
    assert 'id="planned-eta"' in page.text and "còn 1 điểm trước nhà bạn" in page.text
    assert 'id="live-eta"' not in page.text  # another stop first: not on the way yet
    api = client.get(f"/api/v1/tracking/{code}").json()["eta"]
    assert api["courier_first_name"] == "Phúc" and api["en_route"] is False
    assert api["live_eta"] is None and api["stops_before"] == 1

    # The stop before theirs is done: the courier is on the way; the ETA comes from the fix.
    _pickup(db, courier, first)
    tracking_cache.clear()  # the other case's scan: this page's own bound is LIVE_TTL_S
    api = client.get(f"/api/v1/tracking/{code}").json()
    eta = api["eta"]
    assert eta["en_route"] is True and eta["stops_before"] == 0
    live = datetime.fromisoformat(eta["live_eta"])
    # About 600 m at the planner's town speed: a couple of minutes, well before the plan's 40.
    assert datetime.now(VN) <= live < datetime.now(VN) + timedelta(minutes=10)
    page = client.get(f"/t/{code}")
    assert 'id="live-eta"' in page.text and "đang trên đường đến" in page.text
    for shown in (page.text, str(api)):
        assert str(FIX_LAT) not in shown and str(FIX_LON) not in shown
        assert "lat" not in api["eta"] and "lon" not in api["eta"]

    # At the door (the courier's "arrived" tap): the page says so, and no more ETA.
    record_arrival(db, courier, door.id, datetime.now(VN), now=datetime.now(VN))
    tracking_cache.clear()
    page = client.get(f"/t/{code}")
    assert 'id="eta-arrived"' in page.text and 'id="planned-eta"' not in page.text


def test_a_scan_is_seen_by_the_next_read_and_a_live_eta_within_a_second(
    db: Session, settings: Settings
) -> None:
    """The staleness bound: an answer is reused only while the case's ledger version is the
    same (a scan on the item shows at once) and, with a courier due, for LIVE_TTL_S at most."""
    courier, first, theirs, _ = _day(db, settings)
    clock = [1000.0]
    cache = TrackingCache(clock=lambda: clock[0])
    code = dossier_of(db, theirs).code
    now = datetime.now(VN)

    before = cache.read(db, code, now=now)
    assert before.view.status == "booked" and before.eta is not None
    assert cache.read(db, code, now=now) is before  # nothing changed: the kept answer
    assert (cache.hits, cache.misses) == (1, 1)

    # Another case's scan (the stop before theirs): kept until LIVE_TTL_S has passed, no more.
    _pickup(db, courier, first)
    clock[0] += LIVE_TTL_S * 0.5
    assert cache.read(db, code, now=now).eta == before.eta
    clock[0] += LIVE_TTL_S * 0.5
    moved = cache.read(db, code, now=now)
    assert moved.eta is not None and moved.eta.en_route is True

    # A scan of the item itself: the very next read shows it, the clock standing still.
    _pickup(db, courier, theirs)
    after = cache.read(db, code, now=now)
    assert after.view.status == "picked_up"
    assert after.eta is None  # the stop is done: no courier due any more

    # A case no courier is due at today is kept longer, yet still not past a scan.
    quiet = make_case(db, settings)
    quiet_code = dossier_of(db, quiet).code
    kept = cache.read(db, quiet_code, now=now)
    clock[0] += LIVE_TTL_S * 10
    assert cache.read(db, quiet_code, now=now) is kept
    # A rescheduled window is no scan, yet part of the version: shown at once too.
    booking = db.get(Booking, quiet.booking_id)
    assert booking is not None
    booking.pickup_window_start += timedelta(days=1)
    booking.pickup_window_end += timedelta(days=1)
    db.flush()
    moved_window = cache.read(db, quiet_code, now=now)
    assert moved_window.view.pickup_window_start == booking.pickup_window_start
    _pickup(db, courier, quiet)
    assert cache.read(db, quiet_code, now=now).view.status == "picked_up"


def test_an_eta_request_for_someone_elses_case_is_refused(
    client: TestClient, db: Session, settings: Settings
) -> None:
    courier, _, theirs, _ = _day(db, settings)
    owner_headers = sign_in(client, db)
    owner = db.scalars(select(User).where(User.role == "citizen").order_by(User.id.desc())).first()
    stranger_headers = sign_in(client, db)
    booking = db.get(Booking, theirs.booking_id)
    assert owner is not None and booking is not None
    booking.citizen_user_id = owner.id
    db.flush()
    db.commit()

    mine = client.get(f"/api/v1/my/cases/{theirs.id}/eta", headers=owner_headers)
    assert mine.status_code == 200, mine.text
    assert mine.json()["courier_first_name"] == "Phúc"
    theirs_answer = client.get(f"/api/v1/my/cases/{theirs.id}/eta", headers=stranger_headers)
    assert theirs_answer.status_code == 404
    assert theirs_answer.json()["message"] == TEXTS["case.not_yours"].format(case_id=theirs.id)
    assert (
        "courier_first_name" not in theirs_answer.text
        and courier.full_name not in theirs_answer.text
    )


def test_the_page_a_qr_opens_shows_a_scan_on_the_very_next_read(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """The page is rendered once per kept answer and language; a scan makes a new answer."""
    courier = make_user(db, "courier")
    case = make_case(db, settings)
    code = dossier_of(db, case).code
    first = client.get(f"/t/{code}")
    assert first.status_code == 200 and "Bưu tá đã nhận hồ sơ" not in first.text
    assert client.get(f"/t/{code}").text == first.text  # kept: the same page
    client.cookies.set("hoso_lang", "en")
    assert "Tracking" in client.get(f"/t/{code}").text  # the other language, its own page
    client.cookies.delete("hoso_lang")
    _pickup(db, courier, case)
    after = client.get(f"/t/{code}")
    assert 'id="status">Bưu tá đã nhận hồ sơ' in after.text
