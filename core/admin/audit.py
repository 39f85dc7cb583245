"""Writing and reading the admin audit log (append-only in the database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.admin.models import AdminAuditEntry
from core.admin.permissions import Action, Operator, require

PAGE_SIZE = 100


def record(
    session: Session,
    operator: Operator,
    action: Action,
    *,
    target_kind: str,
    target_id: str | int | None,
    target_label: str | None,
    province_code: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime,
) -> AdminAuditEntry:
    """One entry, in the same transaction as the change it describes."""
    entry = AdminAuditEntry(
        occurred_at=now,
        actor_user_id=operator.user_id,
        actor_label=operator.label[:200],
        action=action.value,
        target_kind=target_kind,
        target_id=None if target_id is None else str(target_id),
        target_label=target_label,
        province_code=province_code,
        before=before,
        after=after,
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None  # part of the actor's label
    target: str | None = None  # part of the target's label
    province_code: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def read_log(
    session: Session,
    operator: Operator,
    filters: AuditFilter,
    *,
    limit: int = PAGE_SIZE,
    offset: int = 0,
) -> list[AdminAuditEntry]:
    """Newest first; admins only."""
    require(operator, Action.view_audit)
    query = select(AdminAuditEntry).order_by(AdminAuditEntry.id.desc())
    if filters.action:
        query = query.where(AdminAuditEntry.action == filters.action)
    if filters.actor:
        query = query.where(AdminAuditEntry.actor_label.icontains(filters.actor, autoescape=True))
    if filters.target:
        query = query.where(AdminAuditEntry.target_label.icontains(filters.target, autoescape=True))
    if filters.province_code:
        query = query.where(AdminAuditEntry.province_code == filters.province_code)
    if filters.since is not None:
        query = query.where(AdminAuditEntry.occurred_at >= filters.since)
    if filters.until is not None:
        query = query.where(AdminAuditEntry.occurred_at < filters.until)
    return list(session.scalars(query.limit(limit).offset(offset)))
