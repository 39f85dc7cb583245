"""The roll-up tables of the service-quality measures, and complaints.

``sla_daily`` holds one row of counters per day × place × courier × procedure × measure.
``sla_facts`` remembers, per subject (a case, a desk hand-over, a complaint), exactly which
counters it added, so that when the subject changes the roll-up moves by the difference and
a re-read adds nothing twice (core.sla.rollup). Both are derived: ``hoso sla rebuild``
recomputes them from the ledger.

A dimension that does not apply (no courier yet, a hand-over has no procedure) is 0, not
NULL, so the counters' primary key is a plain one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class SlaDaily(Base):
    __tablename__ = "sla_daily"

    # Which combination of dimensions the row counts (core.sla.measures.GRAINS): "p" is the
    # whole province, "po" one post office, "po_c" one courier of one post office, and so
    # on. A dashboard reads one grain, so it sums a few hundred rows, never per-case ones.
    grain: Mapped[str] = mapped_column(String(8), primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    measure: Mapped[str] = mapped_column(String(32), primary_key=True)
    post_office_id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(primary_key=True)
    courier_id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(primary_key=True)
    # How many subjects were measured, how many met the target, and the sum of the measured
    # value (seconds for durations, stars for ratings) for averages.
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    hits: Mapped[int] = mapped_column(BigInteger, default=0)
    value_sum: Mapped[int] = mapped_column(BigInteger, default=0)


# The province level reads the primary key's prefix; these serve the other levels.
Index("ix_sla_daily_post_office", SlaDaily.grain, SlaDaily.post_office_id, SlaDaily.day)
Index("ix_sla_daily_office", SlaDaily.grain, SlaDaily.office_id, SlaDaily.day)
Index("ix_sla_daily_courier", SlaDaily.grain, SlaDaily.courier_id, SlaDaily.day)


class SlaFact(Base):
    """What one subject contributes to ``sla_daily`` now, and whether it is late now."""

    __tablename__ = "sla_facts"
    __table_args__ = (
        CheckConstraint("subject IN ('case', 'handover', 'complaint', 'ticket')", name="subject"),
    )

    subject: Mapped[str] = mapped_column(String(12), primary_key=True)
    subject_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2))
    post_office_id: Mapped[int] = mapped_column(default=0)
    office_id: Mapped[int] = mapped_column(default=0)
    courier_id: Mapped[int] = mapped_column(default=0)
    procedure_id: Mapped[int] = mapped_column(default=0)
    # The stage the subject is waiting in ("pickup", "door_to_desk", "result", "complaint")
    # and when it becomes late; NULL when nothing is pending. The "late now" list is
    # ``due_at < now`` over the partial index below.
    open_stage: Mapped[str | None] = mapped_column(String(16))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    # [[measure, day, province, post_office, office, courier, procedure, total, hits, value]]
    contributions: Mapped[list[list[Any]]] = mapped_column(JSONB, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


Index(
    "ix_sla_facts_due_at",
    SlaFact.due_at,
    postgresql_where=text("open_stage IS NOT NULL"),
)


class SlaWatermark(Base):
    """How far the roll-up has read each source: ledger events by id, rows by time."""

    __tablename__ = "sla_watermarks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SlaTarget(Base):
    """A target that differs from the default in settings, for a province or one office."""

    __tablename__ = "sla_targets"
    __table_args__ = (
        UniqueConstraint(
            "measure", "province_code", "office_id", postgresql_nulls_not_distinct=True
        ),
        CheckConstraint("value > 0", name="value_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    measure: Mapped[str] = mapped_column(String(32))
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    # In the measure's target unit (hours for door to desk, minutes at the desk, days for
    # results and complaints).
    value: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Complaint(Base):
    """A citizen's complaint about a case, which a province supervisor answers."""

    __tablename__ = "complaints"
    __table_args__ = (CheckConstraint("length(text) BETWEEN 1 AND 2000", name="text_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    citizen_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answer: Mapped[str | None]
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
