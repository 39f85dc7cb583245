"""Every change of a case's status, sent to the national public service portal through the
outbox, in the portal's dossier-status vocabulary (``core.portal.status``).

Where changes come from. A case's portal status follows from its items' ledger statuses and
from one act of the agency, recording its dossier code. Ledger events are found the way the
status webhooks find them (``core.agency.webhooks``): ``sync_portal_statuses`` reads the
ledger after a watermark (one locked row) and, in ONE transaction, writes each change, its
outbox message, and the new watermark; a crash loses or doubles nothing, and a ledger event
causes at most one change (a unique index). The code, not a ledger event, is reported by
``note_agency_code`` in the transaction that records it. Ids are committed out of order: the
pass stops at a gap in the ids unless nothing else is writing or the grace has passed, as
the webhooks do.

``changes_for_events`` is the one derivation of "the case's status changed here": the sync
pass and ``hoso portal reconcile`` both use it, so what reconcile expects is what sync sends.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from core.cases.models import Case
from core.custody.corrections import fold
from core.custody.models import CustodyEvent, Item
from core.custody.watermark import settled
from core.db import transaction
from core.errors import InvalidTransition
from core.outbox.models import OutboxMessage
from core.outbox.service import PermanentFailure, enqueue
from core.portal.models import PortalStatusChange, PortalSyncCursor
from core.portal.status import ACCEPTED, PORTAL_STATUS
from core.settings import Settings

log = logging.getLogger(__name__)

PORTAL_TOPIC = "portal.status"
_RETRYABLE_4XX = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Change:
    """A case's portal status after one ledger event, when it differs from before."""

    case_id: int
    code: int
    name: str
    stage: str
    event_id: uuid.UUID
    occurred_at: datetime
    item_code: str


def changes_for_events(
    session: Session, events: Sequence[CustodyEvent], last_codes: Mapping[int, int]
) -> list[Change]:
    """The status changes ``events`` (in recording order) cause, given each case's last code
    before them (``last_codes``; absent = nothing sent yet). A result's status speaks for the
    case once the result exists; before that, the dossier's."""
    if not events:
        return []
    item_ids = sorted({e.item_id for e in events})
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(item_ids)))}
    case_ids = sorted({i.case_id for i in items.values() if i.case_id is not None})
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(case_ids)))}
    newest = max(e.id for e in events)
    history: dict[int, list[CustodyEvent]] = {}
    for event in session.scalars(
        select(CustodyEvent)
        .where(CustodyEvent.item_id.in_(item_ids), CustodyEvent.id <= newest)
        .order_by(CustodyEvent.item_id, CustodyEvent.seq)
    ):
        history.setdefault(event.item_id, []).append(event)
    last = dict(last_codes)
    out: list[Change] = []
    for event in sorted(events, key=lambda e: e.id):
        item = items[event.item_id]
        case = cases.get(item.case_id) if item.case_id is not None else None
        if case is None:
            continue
        if item.kind == "dossier" and case.result_item_id is not None:
            # Once there is a result, the dossier's later events (a correction, say) do not
            # move the case back: it is the result that the citizen waits for.
            result_started = session.scalar(
                select(func.min(CustodyEvent.id)).where(CustodyEvent.item_id == case.result_item_id)
            )
            if result_started is not None and result_started < event.id:
                continue
        try:
            state = fold(item.kind, [e for e in history[item.id] if e.seq <= event.seq])
        except InvalidTransition:
            continue
        status = PORTAL_STATUS.get(state.status)
        if status is None or last.get(case.id) == status[0]:
            continue
        if status[0] == 1 and last.get(case.id) == ACCEPTED[0]:
            # Accepted by the agency (its code, ``note_agency_code``): a postal stage of the
            # dossier leg after that does not take the case back to "Mới đăng ký".
            continue
        last[case.id] = status[0]
        out.append(Change(case.id, status[0], status[1], state.status, event.event_id,
                          event.occurred_at, item.code))  # fmt: skip
    return out


def _last_codes(session: Session, case_ids: Iterable[int]) -> dict[int, int]:
    wanted = sorted(set(case_ids))
    if not wanted:
        return {}
    newest = (
        select(PortalStatusChange.case_id, func.max(PortalStatusChange.seq).label("seq"))
        .where(PortalStatusChange.case_id.in_(wanted))
        .group_by(PortalStatusChange.case_id)
        .subquery()
    )
    rows = session.execute(
        select(PortalStatusChange.case_id, PortalStatusChange.code).join(
            newest,
            (newest.c.case_id == PortalStatusChange.case_id)
            & (newest.c.seq == PortalStatusChange.seq),
        )
    )
    return {int(case_id): int(code) for case_id, code in rows}


def _queue(
    session: Session, settings: Settings, case: Case, *, code: int, name: str, stage: str,
    cause: str, event_id: uuid.UUID | None, occurred_at: datetime, item_code: str | None,
) -> PortalStatusChange:  # fmt: skip
    seq = int(session.scalar(
        select(func.coalesce(func.max(PortalStatusChange.seq), 0))
        .where(PortalStatusChange.case_id == case.id)
    ) or 0) + 1  # fmt: skip
    change_id = uuid.uuid4()
    body = {
        "change_id": str(change_id),
        "case_id": case.id,
        "sequence": seq,
        "agency_dossier_code": case.agency_dossier_code,
        "item_id": item_code,
        "status": {"code": code, "name": name},
        "postal_stage": stage,
        "occurred_at": occurred_at.isoformat(),
    }
    message = enqueue(session, PORTAL_TOPIC, {"url": settings.portal_sync_url, "body": body})
    row = PortalStatusChange(case_id=case.id, seq=seq, code=code, name=name, stage=stage,
                             cause=cause, cause_event_id=event_id, occurred_at=occurred_at,
                             outbox_message_id=message.id)  # fmt: skip
    session.add(row)
    session.flush()
    return row


def note_agency_code(session: Session, settings: Settings, case: Case, *, now: datetime) -> None:
    """The agency recorded its dossier code: the case is "Được tiếp nhận" if it was still
    "Mới đăng ký". Called in the transaction that records the code."""
    if not settings.portal_sync_url:
        return
    session.execute(select(Case.id).where(Case.id == case.id).with_for_update())
    if _last_codes(session, [case.id]).get(case.id, 1) != 1:
        return
    _queue(session, settings, case, code=ACCEPTED[0], name=ACCEPTED[1], stage="agency_code",
           cause="agency_code", event_id=None, occurred_at=now, item_code=None)  # fmt: skip


def _cursor(session: Session, now: datetime) -> PortalSyncCursor:
    # On first use the ledger's past is skipped: the portal was not being told then.
    start = select(func.coalesce(func.max(CustodyEvent.id), 0)).scalar_subquery()
    session.execute(
        insert(PortalSyncCursor)
        .values(id=1, last_event_id=start, updated_at=now)
        .on_conflict_do_nothing()
    )
    return session.execute(
        select(PortalSyncCursor).where(PortalSyncCursor.id == 1).with_for_update()
    ).scalar_one()


def sync_portal_statuses(
    session: Session, settings: Settings, *, now: datetime, limit: int = 500
) -> int:
    """Queue the portal status changes of ledger events after the watermark; returns how many
    events were read (0: caught up, or the sync is off)."""
    if not settings.portal_sync_url:
        return 0
    cursor = _cursor(session, now)
    events = list(
        session.scalars(
            select(CustodyEvent)
            .where(CustodyEvent.id > cursor.last_event_id)
            .order_by(CustodyEvent.id)
            .limit(limit)
        )
    )
    taken = settled(session, settings, events, after=cursor.last_event_id, now=now,
                    id_of=lambda e: e.id, recorded_at_of=lambda e: e.recorded_at)  # fmt: skip
    if not taken:
        return 0
    case_ids = session.scalars(
        select(Item.case_id).where(Item.id.in_({e.item_id for e in taken}),
                                   Item.case_id.is_not(None))
    ).all()  # fmt: skip
    # One statement rather than one per case; in id order, so two passes lock in one order.
    session.execute(
        select(Case.id)
        .where(Case.id.in_({c for c in case_ids if c is not None}))
        .order_by(Case.id)
        .with_for_update()
    ).all()
    changes = changes_for_events(session, taken, _last_codes(session, [c for c in case_ids if c]))
    for change in changes:
        case = session.get(Case, change.case_id)
        assert case is not None
        _queue(session, settings, case, code=change.code, name=change.name, stage=change.stage,
               cause="ledger", event_id=change.event_id, occurred_at=change.occurred_at,
               item_code=change.item_code)  # fmt: skip
    cursor.last_event_id = taken[-1].id
    cursor.updated_at = now
    session.flush()
    return len(taken)


def sync_due(factory: sessionmaker[Session], settings: Settings, *, now: datetime) -> int:
    """Run the sync pass until it catches up (each batch its own transaction)."""
    total = 0
    while True:
        with transaction(factory) as session:
            read = sync_portal_statuses(session, settings, now=now)
        total += read
        if read == 0:
            return total


def send_portal_status(payload: Mapping[str, Any], settings: Settings) -> str | None:
    """Outbox handler: POST the change. The portal's 2xx is its acknowledgement; the id it
    answers (``{"id": ...}``), if any, is kept as the outbox message's provider id."""
    url = payload.get("url") or settings.portal_sync_url
    body = payload.get("body")
    if not url or not isinstance(body, Mapping):
        raise PermanentFailure("portal sync is not configured or the payload is incomplete")
    headers = {"Idempotency-Key": str(body.get("change_id", ""))}
    if settings.portal_sync_token:
        headers["Authorization"] = f"Bearer {settings.portal_sync_token}"
    response = httpx.post(str(url), json=dict(body), headers=headers,
                          timeout=settings.portal_sync_timeout_seconds)  # fmt: skip
    if response.is_success:
        try:
            answer = response.json()
        except ValueError:
            return None
        ident = answer.get("id") if isinstance(answer, dict) else None
        return str(ident)[:200] if ident is not None else None
    detail = f"HTTP {response.status_code} from {url}: {response.text[:200]}"
    if 400 <= response.status_code < 500 and response.status_code not in _RETRYABLE_4XX:
        raise PermanentFailure(detail)
    raise RuntimeError(detail)


def sent_changes(session: Session, case_ids: Iterable[int]) -> list[tuple[PortalStatusChange, str]]:
    """Every change queued for these cases, with its outbox message's status."""
    wanted = sorted(set(case_ids))
    if not wanted:
        return []
    rows = session.execute(
        select(PortalStatusChange, OutboxMessage.status)
        .join(OutboxMessage, OutboxMessage.id == PortalStatusChange.outbox_message_id)
        .where(PortalStatusChange.case_id.in_(wanted))
        .order_by(PortalStatusChange.case_id, PortalStatusChange.seq)
    )
    return [(change, str(status)) for change, status in rows]
