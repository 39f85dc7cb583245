"""Keeping the roll-ups current: a reader of the ledger (and of ratings, hand-overs and
complaints) that recomputes each touched subject and moves ``sla_daily`` by the difference.

Why recompute a subject rather than add each event's share: a subject's measures depend on
several events (pickup and desk confirmation; an error declaration removes an earlier one),
and a recomputation from all of them is right whatever order they arrive in. ``sla_facts``
holds what each subject added last time, so the roll-up moves by ``new - old``; a subject
read twice moves it by nothing. The fact row is locked before it is read, so two refreshers
of one subject take turns.

The ledger is read above an id watermark, like the citizens' notifier (core.booking.notify):
identity values are committed out of order, so the mark only passes events older than
``SETTLE``; younger ones are read again next pass, which is harmless here. Ratings and
hand-over completions are read by time, each pass re-reading the last ``SETTLE``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from core.booking.models import BookingTerms, CaseRating
from core.cases.models import Booking, Case
from core.counter.models import CounterTicket
from core.custody.models import CustodyEvent, Item
from core.db import transaction
from core.handovers.models import Handover
from core.identity.models import User
from core.money.models import MoneyAccount, MoneyPosting, MoneyTransaction
from core.places.models import Office, PostOffice
from core.settings import Settings
from core.sla.measures import (
    CaseInput,
    ComplaintInput,
    EventRow,
    Facts,
    HandoverInput,
    Place,
    RollKey,
    TicketInput,
    case_facts,
    complaint_facts,
    difference,
    handover_facts,
    ticket_facts,
)
from core.sla.models import Complaint, SlaFact, SlaWatermark
from core.sla.targets import TargetBook

log = logging.getLogger(__name__)

SETTLE = timedelta(seconds=60)
BATCH = 2000
Subject = tuple[str, int]


# -- reading subjects -----------------------------------------------------------------------


def _case_inputs(session: Session, case_ids: Iterable[int]) -> list[CaseInput]:
    ids = sorted(set(case_ids))
    if not ids:
        return []
    rows = session.execute(
        select(Case.id, Case.appointment_date, Case.dossier_item_id, Case.result_item_id,
               Booking.post_office_id, Booking.office_id, Booking.procedure_id,
               Booking.pickup_window_start, Booking.pickup_window_end,
               PostOffice.province_code, CaseRating.stars, CaseRating.reasons,
               BookingTerms.cancelled_at)
        .join(Booking, Booking.id == Case.booking_id)
        .join(PostOffice, PostOffice.id == Booking.post_office_id)
        .outerjoin(CaseRating, CaseRating.case_id == Case.id)
        .outerjoin(BookingTerms, BookingTerms.case_id == Case.id)
        .where(Case.id.in_(ids))
    ).all()  # fmt: skip
    item_ids = [i for r in rows for i in (r.dossier_item_id, r.result_item_id) if i is not None]
    events: dict[int, list[EventRow]] = defaultdict(list)
    for e in session.execute(
        select(CustodyEvent.item_id, CustodyEvent.kind, CustodyEvent.occurred_at,
               CustodyEvent.actor_user_id, CustodyEvent.to_party, CustodyEvent.event_id,
               CustodyEvent.corrects_event_id)
        .where(CustodyEvent.item_id.in_(item_ids))
        .order_by(CustodyEvent.item_id, CustodyEvent.seq)
    ):  # fmt: skip
        events[e.item_id].append(
            EventRow(
                e.kind, e.occurred_at, e.actor_user_id, e.to_party, e.event_id, e.corrects_event_id
            )  # fmt: skip
        )
    fees = _fee_times(session, [r.id for r in rows])
    return [
        CaseInput(
            case_id=r.id,
            province_code=r.province_code,
            post_office_id=r.post_office_id,
            office_id=r.office_id,
            procedure_id=r.procedure_id,
            window_start=r.pickup_window_start,
            window_end=r.pickup_window_end,
            appointment_date=r.appointment_date,
            dossier_item_id=r.dossier_item_id,
            result_item_id=r.result_item_id,
            dossier_events=events.get(r.dossier_item_id or 0, []),
            result_events=events.get(r.result_item_id or 0, []),
            rating_stars=r.stars,
            rating_reasons=tuple(r.reasons or ()),
            cancelled=r.cancelled_at is not None,
            fees_collected_at=fees.get(r.id, (None, None))[0],
            fees_handed_at=fees.get(r.id, (None, None))[1],
        )  # fmt: skip
        for r in rows
    ]


def _fee_times(
    session: Session, case_ids: list[int]
) -> dict[int, tuple[datetime | None, datetime | None]]:
    """Per case: the first payment that took state fees from the citizen, and the first
    hand-over of state fees to the office (docs/sla.md), neither of them reversed."""
    if not case_ids:
        return {}
    reversed_ids = select(MoneyTransaction.reverses_transaction_id).where(
        MoneyTransaction.reverses_transaction_id.is_not(None)
    )
    rows = session.execute(
        select(MoneyPosting.case_id, MoneyTransaction.kind,
               func.min(MoneyTransaction.occurred_at))
        .join(MoneyTransaction, MoneyTransaction.id == MoneyPosting.transaction_id)
        .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
        .where(MoneyPosting.case_id.in_(case_ids), MoneyPosting.line == "state_fee",
               MoneyTransaction.id.not_in(reversed_ids),
               or_(and_(MoneyTransaction.kind == "payment", MoneyAccount.kind == "citizen"),
                   and_(MoneyTransaction.kind == "agency_handover",
                        MoneyAccount.kind == "agency_payable")))
        .group_by(MoneyPosting.case_id, MoneyTransaction.kind)
    ).all()  # fmt: skip
    out: dict[int, tuple[datetime | None, datetime | None]] = {}
    for case_id, kind, at in rows:
        if case_id is None:
            continue
        collected, handed = out.get(case_id, (None, None))
        out[case_id] = (at, handed) if kind == "payment" else (collected, at)
    return out


def _ticket_inputs(session: Session, ticket_ids: Iterable[int]) -> list[TicketInput]:
    ids = sorted(set(ticket_ids))
    if not ids:
        return []
    rows = session.execute(
        select(CounterTicket, PostOffice.province_code)
        .join(PostOffice, PostOffice.id == CounterTicket.post_office_id)
        .where(CounterTicket.id.in_(ids))
    ).all()
    return [
        TicketInput(t.id, province, t.post_office_id, t.issued_at, t.called_at, t.finished_at)
        for t, province in rows
    ]


def _party_id(value: str, kind: str) -> int:
    head, _, ident = value.partition(":")
    return int(ident) if head == kind and ident.isdigit() else 0


def _handover_inputs(session: Session, handover_ids: Iterable[int]) -> list[HandoverInput]:
    """Hand-overs at an office desk (one side an office); others are not the desk's, and
    corrections of signed records are not sittings."""
    ids = sorted(set(handover_ids))
    if not ids:
        return []
    handovers = session.scalars(select(Handover).where(Handover.id.in_(ids))).all()
    office_ids = {
        _party_id(side, "office") for h in handovers for side in (h.from_party, h.to_party)
    } - {0}
    courier_ids = {
        _party_id(side, "courier") for h in handovers for side in (h.from_party, h.to_party)
    } - {0}
    provinces: dict[int, str] = {}
    for office_id, province in session.execute(
        select(Office.id, Office.province_code).where(Office.id.in_(office_ids))
    ):
        provinces[office_id] = province
    home: dict[int, int | None] = {}
    for user_id, post_office_id in session.execute(
        select(User.id, User.post_office_id).where(User.id.in_(courier_ids))
    ):
        home[user_id] = post_office_id
    out = []
    for h in handovers:
        office = _party_id(h.from_party, "office") or _party_id(h.to_party, "office")
        # A correction of a signed record (core.handovers.corrections) is paperwork after
        # the sitting, not another sitting at the desk.
        if office == 0 or h.supersedes_id is not None:
            continue
        courier = _party_id(h.from_party, "courier") or _party_id(h.to_party, "courier")
        post_office = (
            _party_id(h.from_party, "post_office")
            or _party_id(h.to_party, "post_office")
            or (home.get(courier) or 0)
        )
        out.append(
            HandoverInput(
                h.id,
                provinces[office],
                office,
                post_office,
                courier,
                h.opened_at,
                h.completed_at,
                h.status,
            )  # fmt: skip
        )
    return out


def _complaint_inputs(session: Session, complaint_ids: Iterable[int]) -> list[ComplaintInput]:
    ids = sorted(set(complaint_ids))
    if not ids:
        return []
    rows = session.execute(
        select(Complaint, Booking.post_office_id, Booking.office_id, Booking.procedure_id,
               PostOffice.province_code, Case.delivery_courier_id)
        .join(Case, Case.id == Complaint.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .join(PostOffice, PostOffice.id == Booking.post_office_id)
        .where(Complaint.id.in_(ids))
    ).all()  # fmt: skip
    return [
        ComplaintInput(
            c.id,
            Place(province, post_office, office, courier or 0, procedure),
            c.created_at,
            c.due_at,
            c.answered_at,
        )
        for c, post_office, office, procedure, province, courier in rows
    ]


# -- writing --------------------------------------------------------------------------------


def refresh(
    session: Session,
    settings: Settings,
    *,
    cases: Iterable[int] = (),
    handovers: Iterable[int] = (),
    complaints: Iterable[int] = (),
    tickets: Iterable[int] = (),
    now: datetime,
) -> int:
    """Recompute these subjects and move the roll-ups by what changed. Returns how many
    subjects changed. The caller owns the transaction."""
    wanted: list[Subject] = sorted(
        {("case", i) for i in cases}
        | {("handover", i) for i in handovers}
        | {("complaint", i) for i in complaints}
        | {("ticket", i) for i in tickets}
    )
    if not wanted:
        return 0
    # Lock first, then read: whatever another refresher committed before is seen (READ
    # COMMITTED), and its stored contributions are the ones this one takes away.
    session.execute(
        insert(SlaFact)
        .values(
            [
                {
                    "subject": s,
                    "subject_id": i,
                    "province_code": "",
                    "contributions": [],
                    "updated_at": now,
                }
                for s, i in wanted
            ]
        )  # fmt: skip
        .on_conflict_do_nothing(index_elements=["subject", "subject_id"])
    )
    stored = {
        (f.subject, f.subject_id): f
        for f in session.scalars(
            select(SlaFact)
            .where(tuple_(SlaFact.subject, SlaFact.subject_id).in_(wanted))
            .order_by(SlaFact.subject, SlaFact.subject_id)
            .with_for_update()
        )
    }
    book = TargetBook.load(session, settings)
    computed: dict[Subject, Facts] = {}
    for case in _case_inputs(session, (i for s, i in wanted if s == "case")):
        computed[("case", case.case_id)] = case_facts(
            case, book.for_place(case.province_code, case.office_id)
        )
    for h in _handover_inputs(session, (i for s, i in wanted if s == "handover")):
        computed[("handover", h.handover_id)] = handover_facts(
            h, book.for_place(h.province_code, h.office_id)
        )
    for c in _complaint_inputs(session, (i for s, i in wanted if s == "complaint")):
        computed[("complaint", c.complaint_id)] = complaint_facts(c)
    for t in _ticket_inputs(session, (i for s, i in wanted if s == "ticket")):
        computed[("ticket", t.ticket_id)] = ticket_facts(t, book.for_place(t.province_code, None))
    old_rows: list[list[object]] = []
    new_rows: list[list[object]] = []
    changed = 0
    for key in wanted:
        fact = stored[key]
        facts = computed.get(key)
        rows = [c.as_row() for c in facts.contributions] if facts is not None else []
        if facts is None:
            # Not a subject (a hand-over between two couriers): nothing to keep.
            session.delete(fact)
        else:
            place = facts.place
            values = (place.province_code, place.post_office_id, place.office_id,
                      place.courier_id, place.procedure_id, facts.open_stage, facts.due_at,
                      facts.item_id)  # fmt: skip
            current = (fact.province_code, fact.post_office_id, fact.office_id, fact.courier_id,
                       fact.procedure_id, fact.open_stage, fact.due_at, fact.item_id)  # fmt: skip
            # A subject read again unchanged (the re-read of young events) writes nothing.
            if values != current or rows != fact.contributions:
                (fact.province_code, fact.post_office_id, fact.office_id,
                 fact.courier_id, fact.procedure_id, fact.open_stage, fact.due_at,
                 fact.item_id) = values  # fmt: skip
                fact.updated_at = now
        if rows != fact.contributions:
            old_rows.extend(fact.contributions)
            new_rows.extend(rows)
            if facts is not None:
                fact.contributions = rows
            changed += 1
    _apply(session, difference(old_rows, new_rows))
    session.flush()
    return changed


_UPSERT = text(
    "INSERT INTO sla_daily (grain, province_code, day, measure, post_office_id, office_id,"
    " courier_id, procedure_id, total, hits, value_sum)"
    " SELECT * FROM unnest(CAST(:grain AS text[]), CAST(:province AS text[]),"
    " CAST(:day AS date[]), CAST(:measure AS text[]), CAST(:po AS int[]), CAST(:office AS int[]),"
    " CAST(:courier AS int[]), CAST(:procedure AS int[]), CAST(:total AS bigint[]),"
    " CAST(:hits AS bigint[]), CAST(:value AS bigint[]))"
    " ON CONFLICT ON CONSTRAINT pk_sla_daily DO UPDATE SET"
    " total = sla_daily.total + excluded.total, hits = sla_daily.hits + excluded.hits,"
    " value_sum = sla_daily.value_sum + excluded.value_sum"
)


def _apply(session: Session, delta: dict[RollKey, list[int]]) -> None:
    """One statement for all the changed counters, in key order (two writers of the same
    counters lock them in the same order)."""
    if not delta:
        return
    keys = sorted(delta, key=lambda k: (k[0], k[1], str(k[2]), *k[3:]))
    cols: dict[str, list[object]] = defaultdict(list)
    for key in keys:
        grain, province, day, measure, po, office, courier, procedure = key
        total, hits, value = delta[key]
        for name, v in (("grain", grain), ("province", province), ("day", day),
                        ("measure", measure), ("po", po), ("office", office),
                        ("courier", courier), ("procedure", procedure), ("total", total),
                        ("hits", hits), ("value", value)):  # fmt: skip
            cols[name].append(v)
    session.execute(_UPSERT, dict(cols))


# -- the passes -----------------------------------------------------------------------------


def _mark(session: Session, name: str) -> SlaWatermark:
    session.execute(
        insert(SlaWatermark)
        .values(name=name, last_event_id=0)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    mark = session.get(SlaWatermark, name, with_for_update=True, populate_existing=True)
    assert mark is not None
    return mark


def refresh_pass(session: Session, settings: Settings, *, now: datetime) -> int:
    """One pass over what is new since the last; returns how many subjects changed."""
    changed, _ = _pass(session, settings, now=now, after=None)
    return changed


def _pass(
    session: Session, settings: Settings, *, now: datetime, after: int | None
) -> tuple[int, int | None]:
    """Read ledger events above the mark (or above ``after``, for a catch-up that reads on
    past young events), and ratings and hand-overs since their marks. Returns the subjects
    changed and the last event id read (None: nothing new)."""
    ledger = _mark(session, "ledger")
    rows = session.execute(
        select(CustodyEvent.id, CustodyEvent.recorded_at, Item.case_id,
               CustodyEvent.details["handover_code"].astext)
        .join(Item, Item.id == CustodyEvent.item_id)
        .where(CustodyEvent.id > (ledger.last_event_id if after is None else after))
        .order_by(CustodyEvent.id)
        .limit(BATCH)
    ).all()  # fmt: skip
    cases = {r.case_id for r in rows if r.case_id is not None}
    codes = {r[3] for r in rows if r[3]}
    if after is None or after == ledger.last_event_id:
        settled, all_settled = ledger.last_event_id, True
        for r in rows:
            if all_settled and r.recorded_at <= now - SETTLE:
                settled = r.id
            else:
                all_settled = False
        ledger.last_event_id = settled
    ledger.updated_at = now
    handovers = (
        set(session.scalars(select(Handover.id).where(Handover.code.in_(codes))))
        if codes
        else set()
    )
    cases |= _since(session, "ratings", CaseRating.case_id, CaseRating.created_at, now)
    handovers |= _since(session, "handovers", Handover.id, Handover.completed_at, now)
    # A ticket changes when it is taken (late-now), called (waiting) and finished (serving).
    tickets = _since(session, "tickets_issued", CounterTicket.id, CounterTicket.issued_at, now)
    tickets |= _since(session, "tickets_called", CounterTicket.id, CounterTicket.called_at, now)
    tickets |= _since(session, "tickets_done", CounterTicket.id, CounterTicket.finished_at, now)
    cases |= _money_cases(session, now)
    changed = refresh(session, settings, cases=cases, handovers=handovers, tickets=tickets,
                      now=now)  # fmt: skip
    if changed:
        log.info("sla.rolled_up", extra={"subjects": changed})
    return changed, (rows[-1].id if rows else None)


def _since(session: Session, name: str, ident: object, stamp: object, now: datetime) -> set[int]:
    """Ids of rows stamped after the mark (minus ``SETTLE``); the mark moves to the newest
    read, or to ``now - SETTLE`` when the batch was not full."""
    mark = _mark(session, name)
    since = mark.last_time or datetime.min.replace(tzinfo=now.tzinfo)
    found = session.execute(
        select(ident, stamp)  # type: ignore[call-overload]
        .where(stamp > since)  # type: ignore[operator]
        .order_by(stamp)
        .limit(BATCH)
    ).all()
    if len(found) == BATCH:
        mark.last_time = found[-1][1]
    else:
        mark.last_time = max(since, now - SETTLE)
    mark.updated_at = now
    return {int(i) for i, _ in found}


def _money_cases(session: Session, now: datetime) -> set[int]:
    """Cases with a money transaction recorded since the mark (a payment or a hand-over of
    fees moves "fees handed on time"); read as ``_since`` reads its rows."""
    mark = _mark(session, "money")
    since = mark.last_time or datetime.min.replace(tzinfo=now.tzinfo)
    found = session.execute(
        select(MoneyTransaction.id, MoneyTransaction.recorded_at)
        .where(MoneyTransaction.recorded_at > since)
        .order_by(MoneyTransaction.recorded_at)
        .limit(BATCH)
    ).all()  # fmt: skip
    if len(found) == BATCH:
        mark.last_time = found[-1][1]
    else:
        mark.last_time = max(since, now - SETTLE)
    mark.updated_at = now
    if not found:
        return set()
    return {
        int(i or 0)
        for i in session.scalars(
            select(MoneyPosting.case_id)
            .where(
                MoneyPosting.transaction_id.in_([r[0] for r in found]),
                MoneyPosting.case_id.is_not(None),
            )
            .distinct()
        )  # fmt: skip
    }


def catch_up(session: Session, settings: Settings, *, now: datetime) -> int:
    """Passes until every event so far is read (a rebuild, a test, ``hoso sla refresh``).
    The mark still only passes settled events; younger ones are read again next pass."""
    changed, after = 0, None
    while True:
        done, last = _pass(session, settings, now=now, after=after)
        changed += done
        if last is None:
            return changed
        after = last


def sla_pass(factory: sessionmaker[Session], settings: Settings, *, now: datetime) -> int:
    with transaction(factory) as session:
        return refresh_pass(session, settings, now=now)


def rebuild(session: Session) -> None:
    """Forget every roll-up: the next passes recompute all from the ledger."""
    session.execute(text("DELETE FROM sla_daily"))
    session.execute(text("DELETE FROM sla_facts"))
    session.execute(text("DELETE FROM sla_watermarks"))
