"""Targets: the defaults are settings (one source); a province, or one office, may have its
own in ``sla_targets`` (set with ``hoso sla target``). An office's own beats its province's,
which beats the default.

A changed target applies to what is measured from then on; figures already rolled up keep
the target they were measured against (as a service contract would), until ``hoso sla
rebuild`` recomputes them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from core.places.models import Office, Province
from core.settings import Settings
from core.sla.measures import Targets
from core.sla.models import SlaTarget

# Target name → (the Targets field, its unit in words, vi and en).
TARGETS: dict[str, tuple[str, str, str]] = {
    "pickup_grace": ("pickup_grace_minutes", "phút", "minutes"),
    "door_to_desk": ("door_to_desk_hours", "giờ", "hours"),
    "result_days": ("result_days", "ngày", "days"),
    "desk_handover": ("desk_handover_minutes", "phút", "minutes"),
    "complaint_days": ("complaint_days", "ngày", "days"),
    "counter_wait": ("counter_wait_minutes", "phút", "minutes"),
    "fees_handover": ("fees_handover_hours", "giờ", "hours"),
}


def defaults(settings: Settings) -> Targets:
    return Targets(
        pickup_grace_minutes=settings.sla_pickup_grace_minutes,
        door_to_desk_hours=settings.sla_door_to_desk_hours,
        result_days=settings.sla_result_days,
        desk_handover_minutes=settings.sla_desk_handover_minutes,
        complaint_days=settings.sla_complaint_days,
        counter_wait_minutes=settings.sla_counter_wait_minutes,
        fees_handover_hours=settings.sla_fees_handover_hours,
    )


@dataclass
class TargetBook:
    """Every override, read once per pass (the table holds a few rows per province)."""

    default: Targets
    overrides: dict[tuple[str, str, int | None], int] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, settings: Settings) -> TargetBook:
        rows = session.execute(
            select(SlaTarget.measure, SlaTarget.province_code, SlaTarget.office_id,
                   SlaTarget.value)
        ).all()  # fmt: skip
        return cls(defaults(settings), {(m, p, o): v for m, p, o, v in rows})

    def for_place(self, province_code: str, office_id: int | None) -> Targets:
        values = {}
        for name, (attr, _, _) in TARGETS.items():
            value = self.overrides.get((name, province_code, office_id or None))
            if value is None:
                value = self.overrides.get((name, province_code, None))
            values[attr] = value if value is not None else getattr(self.default, attr)
        return Targets(**values)


def set_target(
    session: Session,
    *,
    name: str,
    province_code: str,
    office_code: str | None,
    value: int,
    now: datetime,
) -> SlaTarget:
    if name not in TARGETS:
        raise InvalidInput(f"unknown target {name!r}; one of {', '.join(TARGETS)}",
                           field="target")  # fmt: skip
    if value <= 0:
        raise InvalidInput("a target must be a positive whole number", field="value")
    if session.get(Province, province_code) is None:
        raise NotFound(f"no province {province_code!r}", field="province")
    office_id = None
    if office_code is not None:
        office = session.scalar(select(Office).where(Office.code == office_code))
        if office is None:
            raise NotFound(f"no office {office_code!r}", field="office")
        if office.province_code != province_code:
            raise InvalidInput(f"office {office_code} is in province {office.province_code}",
                               field="office")  # fmt: skip
        office_id = office.id
    session.execute(
        insert(SlaTarget)
        .values(measure=name, province_code=province_code, office_id=office_id, value=value,
                updated_at=now)
        .on_conflict_do_update(
            constraint="uq_sla_targets_measure_province_code_office_id",
            set_={"value": value, "updated_at": now},
        )
    )  # fmt: skip
    target = session.scalar(
        select(SlaTarget).where(SlaTarget.measure == name,
                                SlaTarget.province_code == province_code,
                                SlaTarget.office_id.is_(None) if office_id is None
                                else SlaTarget.office_id == office_id)
    )  # fmt: skip
    assert target is not None
    return target
