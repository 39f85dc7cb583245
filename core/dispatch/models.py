"""A post office's plan for a day: the stops each courier makes, in order.

One row per stop. The planner (``routing/``) decides courier, order and ETA; a dispatcher may
move or lock a stop; couriers read their own stops as the run sheet. A home pickup and the drop
of the same dossier at its office are a pair (``paired_stop_id``): same courier, pickup first.
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
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

STOP_KINDS = (
    "home_pickup",  # collect a dossier at the citizen's door
    "office_drop",  # hand dossiers to a one-stop office
    "office_pickup",  # collect results (or returned dossiers) at an office
    "home_delivery",  # deliver a result at the citizen's door
    "post_office_drop",  # leave items at a post office to travel on
    "post_office_pickup",  # take items from a post office
)
STOP_STATUSES = ("planned", "arrived", "done", "failed", "cancelled")


class RouteStop(Base):
    __tablename__ = "route_stops"
    __table_args__ = (
        CheckConstraint(f"kind IN {STOP_KINDS!r}", name="kind"),
        CheckConstraint(f"status IN {STOP_STATUSES!r}", name="status"),
        CheckConstraint("window_end > window_start", name="window"),
        CheckConstraint(
            "(courier_id IS NULL) = (sequence IS NULL)", name="sequenced_when_assigned"
        ),
        Index("ix_route_stops_day", "post_office_id", "service_date"),
        Index("ix_route_stops_courier_day", "courier_id", "service_date", "sequence"),
        # One stop of each kind per case and day, even when two dispatchers plan at once.
        Index("uq_route_stops_case_kind_day", "case_id", "kind", "service_date", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_offices.id"))
    service_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="planned")
    # Unassigned while ``courier_id`` is NULL; ``unassigned_reason`` then says why.
    courier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sequence: Mapped[int | None]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    paired_stop_id: Mapped[int | None] = mapped_column(ForeignKey("route_stops.id"))
    lat: Mapped[float]
    lon: Mapped[float]
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    service_minutes: Mapped[float] = mapped_column(default=5.0)
    eta: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked: Mapped[bool] = mapped_column(default=False)
    unassigned_reason: Mapped[str | None]
    # Where ``lat``/``lon`` came from (gps / geocoder / centroid / office / post_office) and how
    # far off it may be: the dispatcher trusts a 15 m pin more than a 2 km commune centroid.
    position_source: Mapped[str | None] = mapped_column(String(12))
    position_accuracy_m: Mapped[float | None]
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


# "update": a live change from the outbox (a booking, a cancellation, a result, a failed
# attempt) applied by insertion; "reopt": the periodic re-optimisation; "draft": a change to
# a day whose plan has not started (provisional routes, no courier named to the citizen).
PLAN_TRIGGERS = ("plan", "replan", "move", "lock", "insert", "update", "reopt", "draft")


class DispatchPlan(Base):
    """One run of the planner for a post office's day: what it produced and how.

    Kept as a history (one row per run, the newest is the live plan's header) so a dispatcher
    can see when the day was last planned, by which engine, from which travel matrix, and that
    the independent feasibility check passed.
    """

    __tablename__ = "dispatch_plans"
    __table_args__ = (
        CheckConstraint(f"trigger IN {PLAN_TRIGGERS!r}", name="trigger"),
        Index("ix_dispatch_plans_day", "post_office_id", "service_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_offices.id"))
    service_date: Mapped[date] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(8))
    planned_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    planned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    engine: Mapped[str] = mapped_column(String(24))
    matrix_source: Mapped[str]
    time_limit_s: Mapped[float]
    wall_time_s: Mapped[float]
    couriers: Mapped[int]
    stops_assigned: Mapped[int]
    stops_unassigned: Mapped[int]
    distance_m: Mapped[float]
    duration_s: Mapped[float]
    # Where each courier's break fell: {courier id: {"after": stops before it, "start", "minutes"}}.
    # The break is not a stop, but re-timing and the booking-window check need it to rebuild
    # the routes (by "start": ``core.dispatch.service.current_plan``), and a break started
    # before now is taken (``core.dispatch.day.taken_breaks``).
    breaks: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class CitizenPlanTold(Base):
    """What the citizen was last told about their pickup: which courier, which window.

    The notifier compares the live plan with this row and writes to the citizen only when the
    courier or the window differs, then updates the row in the same transaction as the
    message. Re-plans that shuffle a courier away and back between two notifier passes, or
    that change only the order of stops, therefore send nothing.
    """

    __tablename__ = "citizen_plan_told"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    courier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    told_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))


class DispatchLiveCursor(Base):
    """How far the live plan's reader has read the custody ledger (one row)."""

    __tablename__ = "dispatch_live_cursor"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
