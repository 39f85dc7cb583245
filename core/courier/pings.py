"""Location pings: batched from the phone, the latest one per courier feeds live ETAs.

Kept ``KEEP_DAYS`` days (``hoso pings prune``, run daily): a courier's trail is personal data
and has no use once the day's deliveries are settled and disputes are past.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.courier.models import LocationPing
from core.errors import InvalidInput

KEEP_DAYS = 30
# A fix claiming to be from the future is a wrong clock; one older than the retention
# window would be pruned at once.
_MAX_AHEAD = timedelta(minutes=10)


@dataclass(frozen=True)
class Fix:
    fixed_at: datetime
    lat: float
    lon: float
    accuracy_m: float
    speed_mps: float | None = None
    heading_deg: float | None = None


def record_pings(
    session: Session, user_id: int, device_id: int | None, fixes: Sequence[Fix], *, now: datetime
) -> int:
    """Store the fixes; a fix already stored (a retried batch) is skipped. Returns how many
    were new."""
    rows = []
    for index, fix in enumerate(fixes):
        if fix.fixed_at > now + _MAX_AHEAD:
            raise InvalidInput(
                "the fix is in the future; check the phone's clock",
                field=f"pings.{index}.fixed_at",
            )
        if fix.fixed_at < now - timedelta(days=KEEP_DAYS):
            raise InvalidInput(
                f"the fix is older than {KEEP_DAYS} days", field=f"pings.{index}.fixed_at"
            )
        rows.append(
            {
                "user_id": user_id,
                "device_id": device_id,
                "fixed_at": fix.fixed_at,
                "received_at": now,
                "lat": fix.lat,
                "lon": fix.lon,
                "accuracy_m": fix.accuracy_m,
                "speed_mps": fix.speed_mps,
                "heading_deg": fix.heading_deg,
            }
        )
    if not rows:
        return 0
    stored = session.execute(
        insert(LocationPing)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["user_id", "fixed_at"])
        .returning(LocationPing.id)
    ).all()
    return len(stored)


def latest_fix(session: Session, user_id: int) -> LocationPing | None:
    return session.scalar(
        select(LocationPing)
        .where(LocationPing.user_id == user_id)
        .order_by(LocationPing.fixed_at.desc())
        .limit(1)
    )


def prune_pings(session: Session, *, now: datetime, keep_days: int = KEEP_DAYS) -> int:
    """Delete pings received more than ``keep_days`` days ago; returns how many."""
    cutoff = now - timedelta(days=keep_days)
    count = session.scalar(
        select(func.count()).select_from(LocationPing).where(LocationPing.received_at < cutoff)
    )
    session.execute(delete(LocationPing).where(LocationPing.received_at < cutoff))
    return int(count or 0)
