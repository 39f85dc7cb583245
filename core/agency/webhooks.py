"""Status webhooks to subscribed agency systems: found in the ledger, sent through the outbox.

Where status changes come from. Every change is a ``custody_events`` row, written by
``core.custody.service`` from many paths (courier phones, the desk, the dispatcher, the
agency API, corrections). Rather than ask each path to remember a hook, the worker reads the
ledger itself: ``dispatch_status_webhooks`` takes the events after a watermark (an event id,
one locked row), and in ONE transaction enqueues a webhook per subscribed system and moves
the watermark. No path can forget, and a crash between the two cannot lose or double a
webhook: both commit or neither does.

The watermark never passes an event that commits late: ``core.custody.watermark``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from core.agency.models import AgencySystem, WebhookCursor
from core.agency.service import current_key_id
from core.agency.signing import derived_secret, sign_request
from core.cases.models import Booking, Case
from core.custody.corrections import fold
from core.custody.models import CustodyEvent, Item
from core.custody.transitions import STATUS_LABELS
from core.custody.watermark import settled
from core.db import transaction
from core.errors import InvalidInput, InvalidTransition, NotFound
from core.outbox.models import OutboxMessage
from core.outbox.service import PermanentFailure, replay
from core.places.models import Office
from core.portal.status import PORTAL_STATUS
from core.settings import Settings

log = logging.getLogger(__name__)

WEBHOOK_TOPIC = "agency.webhook"

# hoso status -> the portal's dossier status: core.portal.status, where docs/agency-api.md says why.


def _cursor(session: Session, now: datetime) -> WebhookCursor:
    # On first use the ledger's past is skipped rather than read: no system subscribed to it.
    start = select(func.coalesce(func.max(CustodyEvent.id), 0)).scalar_subquery()
    session.execute(
        insert(WebhookCursor)
        .values(id=1, last_event_id=start, updated_at=now)
        .on_conflict_do_nothing()
    )
    return session.execute(
        select(WebhookCursor).where(WebhookCursor.id == 1).with_for_update()
    ).scalar_one()


def dispatch_status_webhooks(
    session: Session, settings: Settings, *, now: datetime, limit: int = 500
) -> int:
    """Enqueue webhooks for ledger events after the watermark; returns how many events read."""
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
    systems = list(
        session.scalars(
            select(AgencySystem).where(
                AgencySystem.active.is_(True), AgencySystem.webhook_url.is_not(None)
            )
        )
    )
    if systems:
        _enqueue_for(session, systems, taken)
    cursor.last_event_id = taken[-1].id
    cursor.updated_at = now
    session.flush()
    return len(taken)


def _enqueue_for(session: Session, systems: list[AgencySystem], taken: list[CustodyEvent]) -> None:
    item_ids = sorted({e.item_id for e in taken})
    rows = session.execute(
        # The province whose office handles the case (core.access.agency_case_scope).
        select(Item, Case, Office.province_code)
        .outerjoin(Case, Case.id == Item.case_id)
        .outerjoin(Booking, Booking.id == Case.booking_id)
        .outerjoin(Office, Office.id == Booking.office_id)
        .where(Item.id.in_(item_ids))
    ).all()
    context = {item.id: (item, case, province) for item, case, province in rows}
    # Each item's history up to the newest event taken, to fold the status after each event.
    history: dict[int, list[CustodyEvent]] = defaultdict(list)
    newest = max(e.id for e in taken)
    for event in session.scalars(
        select(CustodyEvent)
        .where(CustodyEvent.item_id.in_(item_ids), CustodyEvent.id <= newest)
        .order_by(CustodyEvent.item_id, CustodyEvent.seq)
    ):
        history[event.item_id].append(event)
    keys = {s.id: current_key_id(session, s.id) for s in systems}
    for event in taken:
        item, case, province = context[event.item_id]
        body = _body(event, item, case, history[event.item_id])
        for system in systems:
            if event.id <= system.webhook_from_event_id:
                continue
            if system.province_code is not None and system.province_code != province:
                continue
            key_id = keys[system.id]
            if key_id is None:
                log.warning("agency.webhook_without_key", extra={"system": system.code})
                continue
            session.add(
                OutboxMessage(
                    topic=WEBHOOK_TOPIC,
                    payload={
                        "system": system.code,
                        "url": system.webhook_url,
                        "key_id": key_id,
                        "body": body,
                    },  # fmt: skip
                )
            )


def _body(
    event: CustodyEvent, item: Item, case: Case | None, history: list[CustodyEvent]
) -> dict[str, Any]:
    upto = [e for e in history if e.seq <= event.seq]
    try:
        state = fold(item.kind, upto)
        status, custodian = state.status, state.custodian
    except InvalidTransition:
        status, custodian = "unknown", None
    portal = PORTAL_STATUS.get(status)
    labels = STATUS_LABELS.get(status, (status, status))
    return {
        "event_id": str(event.event_id),
        "sequence": event.seq,
        "event_kind": event.kind,
        "item_id": item.code,
        "item_kind": item.kind,
        "case_id": case.id if case else None,
        "agency_dossier_code": case.agency_dossier_code if case else None,
        "appointment_date": case.appointment_date.isoformat()
        if case and case.appointment_date
        else None,
        "status": status,
        "status_vi": labels[0],
        "status_en": labels[1],
        "custodian": custodian,
        "portal_status": {"code": portal[0], "name": portal[1]} if portal else None,
        "occurred_at": event.occurred_at.isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
        **_digitised_part(event, item),
    }


def _digitised_part(event: CustodyEvent, item: Item) -> dict[str, Any]:
    """A ``digitised`` event tells the agency its copy is ready: the hashes the ledger holds
    and where to ask for a download link (docs/digitising.md)."""
    if event.kind != "digitised":
        return {}
    details = event.details
    return {
        "digitised": {
            "pdf_sha256": details.get("pdf_sha256"),
            "page_count": details.get("page_count"),
            "text_layer": details.get("text_layer"),
            "copy_url": f"/api/agency/v1/dossiers/{item.code}/digitised",
        }
    }


def dispatch_due(factory: sessionmaker[Session], settings: Settings, *, now: datetime) -> int:
    """Run the dispatcher until it catches up (each batch its own transaction)."""
    total = 0
    while True:
        with transaction(factory) as session:
            read = dispatch_status_webhooks(session, settings, now=now)
        total += read
        if read == 0:
            return total


def webhook_body_bytes(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


# Statuses worth trying again: the receiver may be down, overloaded or slow.
_RETRYABLE_4XX = frozenset({408, 425, 429})


def send_webhook(payload: Mapping[str, Any], settings: Settings) -> None:
    """Outbox handler: POST the event, signed afresh on each attempt (new timestamp, nonce)."""
    try:
        url, key_id, body = str(payload["url"]), str(payload["key_id"]), payload["body"]
    except KeyError as exc:
        raise PermanentFailure(f"webhook payload lacks {exc}") from exc
    data = webhook_body_bytes(body)
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    signed = sign_request(key_id, derived_secret(settings, key_id), "POST", path, data,
                          timestamp=int(time.time()))  # fmt: skip
    headers = {**signed.as_dict(), "Content-Type": "application/json",
               "X-Hoso-Event-Id": str(body.get("event_id", ""))}  # fmt: skip
    response = httpx.post(url, content=data, headers=headers,
                          timeout=settings.agency_webhook_timeout_seconds)  # fmt: skip
    if response.is_success:
        return
    detail = f"HTTP {response.status_code} from {url}: {response.text[:200]}"
    if 400 <= response.status_code < 500 and response.status_code not in _RETRYABLE_4XX:
        raise PermanentFailure(detail)
    raise RuntimeError(detail)


def replay_webhook(session: Session, message_id: int, *, now: datetime) -> OutboxMessage:
    """An admin sends a dead-lettered (or delivered) webhook again."""
    message = session.get(OutboxMessage, message_id)
    if message is None or message.topic != WEBHOOK_TOPIC:
        raise NotFound(f"no webhook {message_id}", field="message_id")
    if message.status == "pending":
        raise InvalidInput("this webhook is still queued", field="message_id")
    return replay(session, message_id, now=now)


def dead_webhooks(session: Session, limit: int = 100) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.topic == WEBHOOK_TOPIC, OutboxMessage.status == "dead")
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )
