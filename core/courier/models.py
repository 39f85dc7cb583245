"""Location pings from couriers' phones, kept for live ETAs and pruned after 30 days."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class LocationPing(Base):
    __tablename__ = "location_pings"
    __table_args__ = (
        # A phone retries a batch it got no answer for: the same fix is stored once.
        UniqueConstraint("user_id", "fixed_at"),
        Index("ix_location_pings_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    # When the phone took the fix (device clock, with offset) and when we received it.
    fixed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    lat: Mapped[float]
    lon: Mapped[float]
    accuracy_m: Mapped[float]
    speed_mps: Mapped[float | None]
    heading_deg: Mapped[float | None]


class StopArrival(Base):
    """The courier said "I am here" at a stop of their run sheet (the "arrived" step).

    One row per stop: the first arrival sent is kept (a phone that queued the tap offline and
    resends it, or a double tap, changes nothing). ``arrived_at`` is the phone's clock when the
    courier tapped, ``recorded_at`` the server's when it reached us.
    """

    __tablename__ = "stop_arrivals"

    route_stop_id: Mapped[int] = mapped_column(ForeignKey("route_stops.id"), primary_key=True)
    courier_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    arrived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
