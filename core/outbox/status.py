"""What staff see of citizen messages: each one's channel and delivery status, and a retry
for the dead ones (the same move as the admin's webhook replay, ``core.agency.webhooks``).

Statuses as staff read them, derived from the outbox row:
- queued: waiting for its first attempt;
- failed: an attempt failed (``reason`` is the gateway's word) and another is scheduled;
- sent: the gateway accepted it (``provider_message_id`` is its id for the message);
- dead: given up after the last attempt, or refused for good; a person may retry it;
- rerouted: the channel could not carry it and it went on another (``rerouted_to_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from core.errors import Forbidden, InvalidInput, NotFound
from core.identity.models import User
from core.outbox.models import OutboxMessage
from core.outbox.service import replay
from labels.text import mask_phone

# Who may see citizen messages and retry dead ones: admins, and dispatchers, who field the
# citizens' calls ("I never got the message").
# The service's own check; the edges ask core.access's "messages" row, which a test keeps equal
# (core.access reads cases, which queue messages, so the outbox cannot import it).
MESSAGE_STAFF_ROLES = ("admin", "dispatcher")
STAFF_STATUSES = ("queued", "failed", "sent", "dead", "rerouted")
CHANNELS = ("sms", "zalo", "email")

# Each staff status as a condition on the row.
_CONDITIONS = {
    "queued": and_(OutboxMessage.status == "pending", OutboxMessage.attempts == 0),
    "failed": and_(OutboxMessage.status == "pending", OutboxMessage.attempts > 0),
    "sent": OutboxMessage.status == "delivered",
    "dead": OutboxMessage.status == "dead",
    "rerouted": OutboxMessage.status == "rerouted",
}


def check_message_staff(user: User) -> None:
    if user.role not in MESSAGE_STAFF_ROLES:
        raise Forbidden("citizen messages are for admins and dispatchers", field="role")


def staff_status(message: OutboxMessage) -> str:
    if message.status == "pending":
        return "failed" if message.attempts else "queued"
    return {"delivered": "sent"}.get(message.status, message.status)


@dataclass(frozen=True)
class MessageView:
    id: int
    channel: str
    kind: str | None
    status: str
    recipient: str
    attempts: int
    reason: str | None
    provider_message_id: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    rerouted_to_id: int | None

    @property
    def can_retry(self) -> bool:
        return self.status == "dead"


def _recipient(message: OutboxMessage) -> str:
    """Masked: staff confirm a number with the caller, they need not read it off a list."""
    email = message.payload.get("email")
    if message.channel == "email" and isinstance(email, str) and "@" in email:
        name, domain = email.split("@", 1)
        return f"{name[:2]}***@{domain}"
    return mask_phone(str(message.payload.get("phone", "")))


def view_of(message: OutboxMessage) -> MessageView:
    status = staff_status(message)
    return MessageView(
        id=message.id, channel=message.channel or "", kind=message.kind, status=status,
        recipient=_recipient(message), attempts=message.attempts,
        reason=message.last_error if status in ("failed", "dead", "rerouted") else None,
        provider_message_id=message.provider_message_id, created_at=message.created_at,
        last_attempt_at=message.last_attempt_at, delivered_at=message.delivered_at,
        next_attempt_at=message.available_at if status in ("queued", "failed") else None,
        rerouted_to_id=message.rerouted_to_id,
    )  # fmt: skip


def list_messages(
    session: Session,
    user: User,
    *,
    channel: str | None = None,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[MessageView]:
    """Citizen messages, newest first, filtered by channel and staff status."""
    check_message_staff(user)
    if channel is not None and channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    if status is not None and status not in STAFF_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STAFF_STATUSES)}", field="status")
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be from 1 to 500", field="limit")
    query = select(OutboxMessage).where(OutboxMessage.channel.is_not(None))
    if channel is not None:
        query = query.where(OutboxMessage.channel == channel)
    if status is not None:
        query = query.where(_CONDITIONS[status])
    if before_id is not None:
        query = query.where(OutboxMessage.id < before_id)
    rows = session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit))
    return [view_of(message) for message in rows]


def retry_message(session: Session, user: User, message_id: int, *, now: datetime) -> MessageView:
    """Put a dead citizen message back in the queue, due now, with a fresh set of attempts.

    Its request id is kept: if the gateway did get an earlier attempt, it can drop this one.
    """
    check_message_staff(user)
    message = session.get(OutboxMessage, message_id)
    if message is None or message.channel is None:
        raise NotFound(f"no citizen message {message_id}", field="message_id")
    if message.status != "dead":
        raise InvalidInput(
            f"only a dead message can be retried; this one is {staff_status(message)}",
            field="message_id",
        )
    if message.payload.get("secret"):
        raise InvalidInput("a one-time code is not sent again; ask for a new one",
                           field="message_id")  # fmt: skip
    return view_of(replay(session, message_id, now=now))
