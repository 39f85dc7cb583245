"""The counter's queue: a citizen takes a numbered ticket, a clerk calls the next number.

Each ticket keeps when it was taken, called and finished, so the waiting time (taken to
called: QĐ 468/QĐ-TTg asks at most 30 minutes) and the serving time (called to finished) of
every citizen are on record; ``queue_times`` hands them to the service-quality figures. A
ticket is called once: a second call of the same number is refused and changes nothing.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.counter.models import CounterTicket
from core.counter.reception import counter_post_office
from core.errors import Conflict, InvalidInput, NotFound
from core.identity.models import User
from core.places.models import PostOffice
from vntime import VN

# A day's numbers at one post office; past this the kiosk refuses (a runaway or a prank).
MAX_TICKETS_PER_DAY = 999
MAX_COUNTER_LABEL = 20


def _day(now: datetime) -> date:
    return now.astimezone(VN).date()


def take_ticket(session: Session, post_office_id: int, *, now: datetime) -> CounterTicket:
    """The next number of the day at this post office (numbers never repeat in a day)."""
    if session.get(PostOffice, post_office_id) is None:
        raise NotFound(f"no post office {post_office_id}", field="post_office_id",
                       reason="counter.no_post_office")  # fmt: skip
    day = _day(now)
    # Two kiosks pressing at once take turns: the number is the day's highest plus one.
    session.execute(
        select(func.pg_advisory_xact_lock(func.hashtext(f"counter-queue:{post_office_id}:{day}")))
    )
    last = session.scalar(
        select(func.max(CounterTicket.number)).where(
            CounterTicket.post_office_id == post_office_id, CounterTicket.day == day
        )
    )
    number = (last or 0) + 1
    if number > MAX_TICKETS_PER_DAY:
        raise Conflict("the day's tickets are used up; ask at the counter", field="post_office_id",
                       reason="counter.queue_full")  # fmt: skip
    ticket = CounterTicket(post_office_id=post_office_id, day=day, number=number, issued_at=now)
    session.add(ticket)
    session.flush()
    return ticket


def ahead_of(session: Session, ticket: CounterTicket) -> int:
    """How many not yet called before this ticket (what the citizen's phone shows)."""
    return int(
        session.scalar(
            select(func.count()).where(
                CounterTicket.post_office_id == ticket.post_office_id,
                CounterTicket.day == ticket.day,
                CounterTicket.number < ticket.number,
                CounterTicket.called_at.is_(None),
            )
        )
        or 0
    )


def _label(counter_label: str) -> str | None:
    label = " ".join(counter_label.split())
    if len(label) > MAX_COUNTER_LABEL:
        raise InvalidInput(f"a counter's name has at most {MAX_COUNTER_LABEL} characters",
                           field="counter_label", reason="counter.label_too_long",
                           params={"max": MAX_COUNTER_LABEL})  # fmt: skip
    return label or None


def _finish_serving(session: Session, clerk: User, now: datetime) -> None:
    """The citizen this clerk was serving is done when the clerk calls the next."""
    for ticket in session.scalars(
        select(CounterTicket).where(
            CounterTicket.called_by_user_id == clerk.id,
            CounterTicket.day == _day(now),
            CounterTicket.finished_at.is_(None),
        )
    ):
        ticket.finished_at = max(now, ticket.called_at or now)


def _call(session: Session, clerk: User, ticket: CounterTicket, label: str | None,
          now: datetime) -> CounterTicket:  # fmt: skip
    _finish_serving(session, clerk, now)
    ticket.called_at = max(now, ticket.issued_at)
    ticket.called_by_user_id = clerk.id
    ticket.counter_label = label
    session.flush()
    return ticket


def call_next(
    session: Session, clerk: User, *, counter_label: str = "", now: datetime
) -> CounterTicket:
    """Call the lowest number still waiting today at the clerk's post office. Two clerks
    calling at once get two different tickets (the row is locked; a locked one is skipped)."""
    post_office_id = counter_post_office(clerk)
    label = _label(counter_label)
    ticket = session.scalar(
        select(CounterTicket)
        .where(
            CounterTicket.post_office_id == post_office_id,
            CounterTicket.day == _day(now),
            CounterTicket.called_at.is_(None),
        )
        .order_by(CounterTicket.number)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if ticket is None:
        raise NotFound("nobody is waiting", field="number", reason="counter.queue_empty")
    return _call(session, clerk, ticket, label, now)


def call_number(
    session: Session, clerk: User, number: int, *, counter_label: str = "", now: datetime
) -> CounterTicket:
    """Call one number (a citizen who stepped out and is back): refused if it was called."""
    post_office_id = counter_post_office(clerk)
    label = _label(counter_label)
    ticket = session.scalar(
        select(CounterTicket)
        .where(
            CounterTicket.post_office_id == post_office_id,
            CounterTicket.day == _day(now),
            CounterTicket.number == number,
        )
        .with_for_update()
    )
    if ticket is None:
        raise NotFound(f"no ticket {number} today", field="number", reason="counter.no_ticket",
                       params={"number": number})  # fmt: skip
    if ticket.called_at is not None:
        raise Conflict(f"ticket {number} was already called", field="number",
                       reason="counter.ticket_called_twice",
                       params={"number": number})  # fmt: skip
    return _call(session, clerk, ticket, label, now)


def finish_serving(session: Session, clerk: User, *, now: datetime) -> int:
    """The clerk is done with the citizen in front of them; how many tickets that closed."""
    counter_post_office(clerk)
    before = session.scalar(
        select(func.count()).where(
            CounterTicket.called_by_user_id == clerk.id,
            CounterTicket.day == _day(now),
            CounterTicket.finished_at.is_(None),
        )
    )
    _finish_serving(session, clerk, now)
    session.flush()
    return int(before or 0)


@dataclass(frozen=True)
class QueueBoard:
    """What the clerk's page shows: who waits, who is being served."""

    waiting: list[int]
    serving: list[tuple[int, str | None]]
    mine: CounterTicket | None


def queue_board(session: Session, clerk: User, *, now: datetime) -> QueueBoard:
    post_office_id = counter_post_office(clerk)
    tickets = list(
        session.scalars(
            select(CounterTicket)
            .where(CounterTicket.post_office_id == post_office_id, CounterTicket.day == _day(now))
            .order_by(CounterTicket.number)
        )
    )
    waiting = [t.number for t in tickets if t.called_at is None]
    serving = [(t.number, t.counter_label) for t in tickets
               if t.called_at is not None and t.finished_at is None]  # fmt: skip
    mine = next((t for t in tickets if t.called_by_user_id == clerk.id
                 and t.finished_at is None), None)  # fmt: skip
    return QueueBoard(waiting, serving, mine)


@dataclass(frozen=True)
class TicketTimes:
    number: int
    issued_at: datetime
    waited_s: float | None  # None: not called (yet, or ever)
    served_s: float | None  # None: not finished


@dataclass(frozen=True)
class QueueDay:
    """One post office's day at the counter, for the service-quality figures."""

    post_office_id: int
    day: date
    tickets: list[TicketTimes]

    @property
    def waits_s(self) -> list[float]:
        return [t.waited_s for t in self.tickets if t.waited_s is not None]

    @property
    def median_wait_s(self) -> float | None:
        return statistics.median(self.waits_s) if self.waits_s else None

    @property
    def max_wait_s(self) -> float | None:
        return max(self.waits_s) if self.waits_s else None

    @property
    def median_serve_s(self) -> float | None:
        served = [t.served_s for t in self.tickets if t.served_s is not None]
        return statistics.median(served) if served else None

    def waited_within(self, seconds: float) -> int:
        """Tickets called within ``seconds`` of being taken (QĐ 468: 30 minutes)."""
        return sum(1 for w in self.waits_s if w <= seconds)


def queue_times(session: Session, post_office_id: int, day: date) -> QueueDay:
    """Every ticket of this post office's day with its waiting and serving times."""
    rows = session.execute(
        select(
            CounterTicket.number,
            CounterTicket.issued_at,
            CounterTicket.called_at,
            CounterTicket.finished_at,
        )
        .where(CounterTicket.post_office_id == post_office_id, CounterTicket.day == day)
        .order_by(CounterTicket.number)
    )
    tickets = [
        TicketTimes(
            number=number,
            issued_at=issued,
            waited_s=(called - issued).total_seconds() if called else None,
            served_s=(finished - called).total_seconds() if called and finished else None,
        )
        for number, issued, called, finished in rows
    ]
    return QueueDay(post_office_id, day, tickets)
