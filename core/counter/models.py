"""The counter's queue: one row per ticket a citizen takes at a post office.

The waiting time is ``called_at - issued_at``, the serving time ``finished_at - called_at``
(``core.counter.queue.queue_times`` hands them to the service-quality figures).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class CounterTicket(Base):
    __tablename__ = "counter_tickets"
    __table_args__ = (
        # Numbers restart each day at each post office, as printed tickets do.
        UniqueConstraint("post_office_id", "day", "number"),
        CheckConstraint("number > 0", name="number"),
        CheckConstraint("called_at IS NULL OR called_at >= issued_at", name="called_after"),
        CheckConstraint(
            "finished_at IS NULL OR (called_at IS NOT NULL AND finished_at >= called_at)",
            name="finished_after",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_offices.id"))
    # The day in Vietnam the ticket was taken (the number's series).
    day: Mapped[date] = mapped_column(Date)
    number: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    called_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    called_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Which counter window called it ("1", "2"...), shown on the board.
    counter_label: Mapped[str | None] = mapped_column(String(20))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The service-quality roll-up finds tickets taken, called and finished since its last pass.
Index("ix_counter_tickets_issued_at", CounterTicket.issued_at)
Index("ix_counter_tickets_called_at", CounterTicket.called_at)
Index("ix_counter_tickets_finished_at", CounterTicket.finished_at)
