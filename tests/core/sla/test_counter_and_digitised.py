"""The counter's queue tickets and the digitised share on hand-built days whose answers are
known, read the way the dashboard reads them: the tables → the roll-up pass →
``core.sla.report``."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.access import SlaReach
from core.counter.queue import call_number, finish_serving, take_ticket
from core.custody.commands import ScanCommand
from core.custody.service import record
from core.identity.service import actor_for
from core.money import accounts
from core.money.handover import HandedFee, post_agency_handover
from core.money.ledger import Leg, TransactionHeader, post
from core.settings import Settings
from core.sla.models import SlaWatermark
from core.sla.report import Period, figures, late_now, queue_medians
from core.sla.rollup import catch_up
from tests.core.sla.helpers import DAY, at, build_day
from tests.factories import dossier_of, make_post_office, make_user


def _by_key(db: Session, reach: SlaReach, period: Period) -> dict[str, tuple[int, int]]:
    return {f.measure.key: (f.hits, f.total) for f in figures(db, reach, period)}


def test_counter_waits_and_medians_from_queue_tickets(db: Session, settings: Settings) -> None:
    """Four tickets taken at 08:00, called after 10, 20, 25 and 45 minutes (3 of 4 within
    30), served 5, 7 and 10 minutes (the fourth still at the counter); a fifth never called."""
    post_office = make_post_office(db, name="Bưu cục Quầy Mẫu", province_code="24")
    clerks = [make_user(db, "counter_clerk", post_office_id=post_office.id) for _ in range(4)]
    tickets = [take_ticket(db, post_office.id, now=at(0, 8)) for _ in range(5)]
    for clerk, ticket, waited in zip(clerks, tickets, (10, 20, 25, 45), strict=False):
        call_number(db, clerk, ticket.number, now=at(0, 8, waited))
    for clerk, served, waited in zip(clerks, (5, 7, 10), (10, 20, 25), strict=False):
        finish_serving(db, clerk, now=at(0, 8, waited + served))
    # Committed tests (``hoso sla refresh``) moved the tickets' time marks to today; this
    # hand-built day is in the past, so its pass starts from no mark, as a rebuild does.
    db.execute(delete(SlaWatermark).where(SlaWatermark.name.startswith("tickets_")))
    catch_up(db, settings, now=at(0, 10))
    reach = SlaReach("post_office", province_code="24", ident=post_office.id)
    day = Period(DAY, DAY)
    got = _by_key(db, reach, day)
    assert got["counter_wait"] == (3, 4)
    wait_avg = next(f.average for f in figures(db, reach, day) if f.measure.key == "counter_wait")
    assert wait_avg == (10 + 20 + 25 + 45) * 60 / 4
    medians = queue_medians(db, reach, day)
    # The lower median to the minute: 10, 20 | 25, 45 → 20; served 5, 7, 10 → 7.
    assert (medians.wait_minutes, medians.serve_minutes) == (20, 7)
    assert (medians.tickets_waited, medians.tickets_served) == (4, 3)
    # The fifth ticket, never called, is late once 30 minutes have passed.
    late = [i for i in late_now(db, reach, now=at(0, 10)) if i.stage == "counter"]
    assert [i.subject_id for i in late] == [tickets[4].id]
    assert [i.holder_name for i in late] == ["Bưu cục Quầy Mẫu"]
    assert not [i for i in late_now(db, reach, now=at(0, 8, 20)) if i.stage == "counter"]
    # A pass that reads the same tickets again moves nothing.
    catch_up(db, settings, now=at(0, 10, 5))
    assert _by_key(db, reach, day)["counter_wait"] == (3, 4)
    # A courier's dashboard has no counter figure; a province's has.
    courier = SlaReach("courier", province_code="24", ident=clerks[0].id)
    assert "counter_wait" not in _by_key(db, courier, day)
    province = SlaReach("province", province_code="24")
    assert _by_key(db, province, day)["counter_wait"][1] >= 4


def test_digitised_share_of_dossiers_picked_up(db: Session, settings: Settings) -> None:
    """The known day's ten dossiers picked up; two of them digitised (one a day later, which
    still counts on its pickup day) → 2 of 10."""
    world = build_day(db, settings)
    actor = actor_for(world.courier)
    for i, when in ((8, at(0, 12)), (9, at(1, 9))):
        code = dossier_of(db, world.cases[i]).code
        command = ScanCommand(kind="digitised", code=code, occurred_at=when,
                              client_event_id=uuid.uuid4(),
                              details={"pdf_sha256": "a" * 64, "page_sha256s": ["b" * 64],
                                       "page_count": 1, "captured_by": actor.party})  # fmt: skip
        [result] = record(db, actor, [command], service_kinds=frozenset({"digitised"}))
        assert result.outcome == "accepted", result.detail
    catch_up(db, settings, now=at(3, 12))
    got = _by_key(db, world.at_post_office, Period(DAY, DAY))
    assert got["digitised_share"] == (2, 10)
    week = _by_key(db, world.at_post_office, Period(DAY, DAY + timedelta(days=6)))
    assert week["digitised_share"] == (2, 10)


def test_fees_handed_to_the_office_on_time(db: Session, settings: Settings) -> None:
    """State fees of 50,000 đồng taken at the door at 09:00 for five of the known day's
    cases; handed to the office at 15:00 the same day (3 cases, 6 hours), two days later
    (1 case, 49 hours: late) and never (1 case: late now once 24 hours have passed)."""
    world = build_day(db, settings)
    courier = world.courier
    fee = 50_000
    for case in world.cases[:5]:
        header = TransactionHeader(kind="payment", idempotency_key=f"sla-test-pay:{case.id}",
                                   occurred_at=at(0, 9), case_id=case.id, method="cash",
                                   actor_user_id=courier.id)  # fmt: skip
        legs = [
            Leg(accounts.citizen(case.id), -fee, "state_fee", case.id),
            Leg(accounts.courier_cash(courier.id), fee, "state_fee", case.id),
        ]
        post(db, header, legs)
    # A hand-over's id is the posting's idempotency key; these sittings are this test's own.
    sittings = ((world.cases[:3], at(0, 15)), (world.cases[3:4], at(2, 10)))
    for n, (cases, when) in enumerate(sittings):
        post_agency_handover(
            db, handover_id=-(world.cases[0].id * 10 + n), office_id=world.office.id,
            courier_user_id=courier.id, fees=[HandedFee(c.id, fee) for c in cases], at=when,
            actor_user_id=None,
        )  # fmt: skip
    # The money mark may have moved past this test's transaction (committed tests, a slow
    # build); a pass from no mark reads every transaction again, which changes nothing twice.
    db.execute(delete(SlaWatermark).where(SlaWatermark.name == "money"))
    catch_up(db, settings, now=at(3, 12))
    week = Period(DAY, DAY + timedelta(days=6))
    got = _by_key(db, world.at_post_office, week)
    assert got["fees_handed_on_time"] == (3, 4)
    assert _by_key(db, world.at_post_office, Period(DAY, DAY))["fees_handed_on_time"] == (3, 3)
    average = next(f.average for f in figures(db, world.at_post_office, week)
                   if f.measure.key == "fees_handed_on_time")  # fmt: skip
    assert average == (3 * 6 + 49) * 3600 / 4
    late = [i for i in late_now(db, world.at_post_office, now=at(1, 10)) if i.stage == "fees"]
    assert [i.case_id for i in late] == [world.cases[4].id]
    assert not [i for i in late_now(db, world.at_post_office, now=at(0, 20)) if i.stage == "fees"]
