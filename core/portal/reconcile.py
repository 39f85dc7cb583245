"""``hoso portal reconcile --date D``: what the ledger says the portal should have heard on a
day, against what was queued for it and what it acknowledged; every difference is a gap."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.custody.models import CustodyEvent, Item
from core.portal.sync import changes_for_events, sent_changes
from vntime import VN


@dataclass
class Reconciliation:
    day: date
    expected: int = 0
    acknowledged: int = 0
    gaps: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.gaps


def reconcile_day(
    session: Session, day: date, *, only_cases: Collection[int] | None = None
) -> Reconciliation:
    """Cases whose ledger moved on ``day`` (recording time, Vietnam's calendar day): each
    change of their portal status the ledger implies must be queued once, with the same
    status, and acknowledged by the portal; nothing may be sent that the ledger does not
    imply. ``only_cases`` narrows it to some cases (a test among others' data)."""
    start = datetime.combine(day, time(0), tzinfo=VN)
    end = start + timedelta(days=1)
    report = Reconciliation(day=day)
    case_ids = sorted(
        {
            int(c)
            for c in session.scalars(
                select(Item.case_id)
                .join(CustodyEvent, CustodyEvent.item_id == Item.id)
                .where(
                    CustodyEvent.recorded_at >= start,
                    CustodyEvent.recorded_at < end,
                    Item.case_id.is_not(None),
                )
                .distinct()
            )  # fmt: skip
            if c is not None
        }
    )
    if only_cases is not None:
        case_ids = [c for c in case_ids if c in set(only_cases)]
    if not case_ids:
        return report
    history = list(
        session.scalars(
            select(CustodyEvent)
            .join(Item, Item.id == CustodyEvent.item_id)
            .where(Item.case_id.in_(case_ids), CustodyEvent.recorded_at < end)
            .order_by(CustodyEvent.id)
        )
    )
    in_day = {e.event_id for e in history if e.recorded_at >= start}
    expected = {c.event_id: c for c in changes_for_events(session, history, {})
                if c.event_id in in_day}  # fmt: skip
    report.expected = len(expected)
    sent = sent_changes(session, case_ids)
    by_event = {row.cause_event_id: (row, status) for row, status in sent if row.cause_event_id}
    for event_id, change in expected.items():
        found = by_event.get(event_id)
        what = f"case {change.case_id} {change.item_code}: {change.code} {change.name}"
        when = change.occurred_at.astimezone(VN).strftime("%d/%m/%Y %H:%M")
        if found is None:
            report.gaps.append(f"NOT SENT {what} ({change.stage}, {when}, event {event_id})")
            continue
        row, status = found
        if row.code != change.code:
            report.gaps.append(f"WRONG {what}: sent {row.code} {row.name} (change {row.id})")
        elif status != "delivered":
            report.gaps.append(f"NOT ACKNOWLEDGED {what}: outbox {status} (change {row.id})")
        else:
            report.acknowledged += 1
    for row, status in sent:
        if row.cause == "ledger" and row.cause_event_id in in_day:
            if row.cause_event_id not in expected:
                report.gaps.append(
                    f"UNEXPLAINED case {row.case_id}: sent {row.code} {row.name} "
                    f"(change {row.id}) but the ledger shows no change there"
                )
        elif row.cause == "agency_code" and start <= row.occurred_at < end:
            report.expected += 1
            if status == "delivered":
                report.acknowledged += 1
            else:
                report.gaps.append(
                    f"NOT ACKNOWLEDGED case {row.case_id}: {row.code} {row.name} "
                    f"(dossier code recorded; outbox {status}, change {row.id})"
                )
    return report
