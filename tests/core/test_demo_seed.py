"""The demo obeys its own rules: built by the services, so every paper a real case has, it
has; windows and hours in Vietnam time; late, early and failed cases on purpose; and the
ledger verifies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.booking.models import BookingTerms
from core.cases.models import Booking, Case, ReceiveRequest
from core.cases.tracking import tracking_view
from core.counter.models import CounterTicket
from core.custody.models import CustodyEvent, Item
from core.custody.verify import verify_ledger
from core.digitising.models import DigitisedCopy
from core.digitising.service import tampering
from core.handovers.models import Handover, HandoverLine
from core.identity.models import User
from core.media.service import missing_media
from core.money.models import MoneyTransaction
from core.money.reconcile import reconcile
from core.places.models import Office, PostOffice, Procedure
from core.seed import seed_demo
from core.settings import Settings
from tests.conftest import _rolled_back_session
from tests.demo import seed_demo_as_installed
from vntime import VN


@pytest.fixture(scope="module")
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="module")
def demo(engine: Engine, now: datetime) -> Iterator[Session]:
    """One demo for the module (it takes half a minute), rolled back at the end."""
    settings = Settings(environment="test", secret_key="test-secret", database_url=None)
    for session in _rolled_back_session(engine):
        # Other tests commit cases and hand-overs too: these checks read the demo's alone.
        session.info["cases_after"] = session.scalar(select(func.max(Case.id))) or 0
        session.info["handovers_after"] = session.scalar(select(func.max(Handover.id))) or 0
        assert seed_demo_as_installed(session, settings, now=now) is True
        assert seed_demo(session, settings, now=now) is False  # idempotent
        yield session


def _events(db: Session, kind: str) -> list[tuple[CustodyEvent, Case, Booking]]:
    rows = db.execute(
        select(CustodyEvent, Case, Booking)
        .join(Item, Item.id == CustodyEvent.item_id)
        .join(Case, Case.id == Item.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .where(CustodyEvent.kind == kind, Case.id > db.info["cases_after"])
        .order_by(CustodyEvent.id)
    )
    return [(e, c, b) for e, c, b in rows]


def test_every_pickup_has_its_checklist_seal_signatures_and_the_fees_of_its_quote(
    demo: Session,
) -> None:
    pickups = _events(demo, "picked_up")
    assert len(pickups) >= 30
    for event, case, booking in pickups:
        procedure = demo.get(Procedure, booking.procedure_id)
        terms = demo.get(BookingTerms, case.id)
        assert procedure is not None and terms is not None
        ticked = {entry["name"] for entry in event.details["checklist"]}
        assert ticked == {d["name_vi"] for d in procedure.documents}
        assert event.details["seal_number"].startswith("NP-")
        expected = terms.total_vnd if terms.payment_method == "cash" else 0
        assert event.details["fees_collected_vnd"] == expected
        signatures = [event.evidence["citizen_signature_sha256"],
                      event.evidence["courier_signature_sha256"]]  # fmt: skip
        assert len(set(signatures)) == 2 and missing_media(demo, signatures) == []


def test_every_completed_hand_over_is_signed_by_both_with_the_fees_paid_on_behalf(
    demo: Session,
) -> None:
    handovers = list(demo.scalars(
        select(Handover).where(Handover.id > demo.info["handovers_after"],
                               Handover.status == "completed")
    ))  # fmt: skip
    to_office = [h for h in handovers if h.to_party.startswith("office:")]
    assert len(to_office) >= 5
    for handover in handovers:
        assert handover.giver_signature_sha256 and handover.receiver_signature_sha256
        assert handover.giver_signature_sha256 != handover.receiver_signature_sha256
        assert handover.fees_confirmed_vnd == handover.fees_declared_vnd
    for handover in to_office:
        lines = demo.scalars(select(HandoverLine).where(HandoverLine.handover_id == handover.id))
        on_behalf = 0
        for line in lines:
            assert line.outcome == "confirmed"
            case = demo.scalar(select(Case).join(Item, Item.case_id == Case.id)
                               .where(Item.id == line.item_id))  # fmt: skip
            assert case is not None and case.agency_dossier_code is not None
            terms = demo.get(BookingTerms, case.id)
            booking = demo.get(Booking, case.booking_id)
            assert terms is not None and booking is not None
            if terms.pay_fee_on_behalf:
                procedure = demo.get(Procedure, booking.procedure_id)
                assert procedure is not None
                on_behalf += procedure.fee_vnd
        assert handover.fees_declared_vnd == on_behalf


def test_windows_and_working_hours_are_vietnam_times(demo: Session, settings: Settings) -> None:
    bookings = list(demo.scalars(
        select(Booking).join(Case, Case.booking_id == Booking.id)
        .where(Case.id > demo.info["cases_after"])
    ))  # fmt: skip
    offered = set(settings.booking_windows)
    for booking in bookings:
        start, end = (booking.pickup_window_start.astimezone(VN).time(),
                      booking.pickup_window_end.astimezone(VN).time())  # fmt: skip
        assert (start, end) in offered, (start, end)
    for kind in ("picked_up", "handover_confirmed", "out_for_delivery", "delivered"):
        for event, _, _ in _events(demo, kind):
            local = event.occurred_at.astimezone(VN)
            assert time(7, 0) <= local.time() <= time(18, 30), (kind, local)
            assert local.weekday() != 6, (kind, local)


def _first(db: Session, case: Case, kind: str) -> CustodyEvent | None:
    ids = [i for i in (case.dossier_item_id, case.result_item_id) if i]
    found: CustodyEvent | None = db.scalar(
        select(CustodyEvent)
        .where(CustodyEvent.item_id.in_(ids), CustodyEvent.kind == kind)
        .order_by(CustodyEvent.occurred_at)
        .limit(1)
    )
    return found


def test_late_early_and_failed_cases_are_there_on_purpose(demo: Session) -> None:
    late_pickups = [
        e for e, _, b in _events(demo, "picked_up") if e.occurred_at > b.pickup_window_end
    ]
    assert late_pickups, "a pickup after its window"
    delivered = _events(demo, "delivered")
    days: list[tuple[Any, Any]] = []
    for _event, case, _ in delivered:
        registered = _first(demo, case, "result_registered")
        assert registered is not None
        if case.appointment_date is not None:
            days.append((registered.occurred_at.astimezone(VN).date(), case.appointment_date))
    assert any(result > due for result, due in days), "a result later than its appointment"
    assert any(result < due for result, due in days), "a result earlier than its appointment"
    assert _events(demo, "attempt_failed"), "a failed delivery attempt"
    assert _events(demo, "pickup_refused"), "a refused pickup"
    receive_only = demo.scalars(
        select(ReceiveRequest.case_id).where(ReceiveRequest.case_id > demo.info["cases_after"])
    ).all()
    assert any(case.id in receive_only for _, case, _ in delivered), "a receive-only delivery"


def test_the_demo_ledger_verifies(demo: Session) -> None:
    report = verify_ledger(demo)
    assert report.ok, report.problems[:5]
    assert report.events_checked >= 400


def test_the_demo_days_money_reconciles_to_the_dong(demo: Session, now: datetime) -> None:
    """Seeded through the money services (quotes, door-step cash, VietQR statements matched,
    hand-overs of fees, cash-ups each evening), every past demo day balances at the hub."""
    hub = demo.scalar(
        select(Booking.post_office_id).where(Booking.id > 0).order_by(Booking.id.desc()).limit(1)
    )
    assert hub is not None
    days = sorted(
        {
            moment.astimezone(VN).date()
            for moment in demo.scalars(
                select(MoneyTransaction.occurred_at).where(
                    MoneyTransaction.post_office_id == hub,
                    MoneyTransaction.occurred_at < now,
                )
            )
        }
    )
    assert len(days) >= 5, days  # a week of money, not an empty check
    kinds = set(demo.scalars(select(MoneyTransaction.kind).distinct()))
    assert {"charge", "payment", "cash_up", "agency_handover"} <= kinds, kinds
    for day in days:
        report = reconcile(demo, day=day, post_office_id=hub)
        assert report.balanced, (day, [c for c in report.checks if not c.ok])


def test_the_counter_has_queue_tickets_and_dossiers_are_digitised_where_they_are_held(
    demo: Session,
) -> None:
    hub = demo.scalars(select(User).where(User.username == "quay")).one().post_office_id
    tickets = demo.scalars(select(CounterTicket).where(CounterTicket.post_office_id == hub)).all()
    assert len(tickets) == 12
    assert all(t.called_at is not None and t.finished_at is not None for t in tickets)
    waits = [(t.called_at - t.issued_at).total_seconds() / 60 for t in tickets if t.called_at]
    assert max(waits) > 30 and sorted(waits)[len(waits) // 2] < 30  # one over the target
    copies = demo.scalars(
        select(DigitisedCopy).where(DigitisedCopy.case_id > demo.info["cases_after"])
    ).all()
    assert len(copies) == 3
    for copy in copies:
        event = demo.scalars(
            select(CustodyEvent).where(CustodyEvent.event_id == copy.event_id)
        ).one()
        assert event.kind == "digitised" and copy.page_count == 2
        assert event.details["captured_by"].split(":")[0] in ("post_office", "office")
        assert tampering(demo, copy) == []


def test_one_result_comes_home_by_bag_from_an_office_in_hanoi(demo: Session) -> None:
    found = demo.execute(
        select(Case, Booking)
        .join(Booking, Booking.id == Case.booking_id)
        .where(Case.id > demo.info["cases_after"], Booking.transit_post_office_id.is_not(None))
    ).all()
    assert len(found) == 1
    case, booking = found[0]
    office = demo.get(Office, booking.office_id)
    hub = demo.get(PostOffice, booking.post_office_id)
    terms = demo.get(BookingTerms, case.id)
    assert office is not None and hub is not None and terms is not None
    assert (booking.province_code, office.province_code, terms.zone) == (
        "24",
        "01",
        "other_province",
    )
    assert case.agency_dossier_code is not None and ".H26-" in case.agency_dossier_code
    result = demo.scalar(select(Item.code).where(Item.id == case.result_item_id))
    assert result is not None
    view = tracking_view(demo, result)
    assert (view.status, view.holder_vi) == ("arrived", hub.name)
    steps = [(e.kind, e.place_vi) for e in view.timeline]
    assert ("departed", f"Gửi tới {hub.name}") in steps and ("arrived", f"Đến {hub.name}") in steps
