"""Desk actions that are not custody events, kept as an audit trail with the officer as actor.

Custody moves (receiving, discrepancies, results, collection) are ledger events recorded
through ``core.custody.service`` and ``core.handovers.service``. A recorded agency dossier
code and appointment date is its own sealed record (``core.papers.codes``); the desk's entry
is also kept here, the officer's day list: who, when, which case, what was entered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

DESK_ACTION_KINDS = ("agency_code_recorded",)


class DeskAction(Base):
    __tablename__ = "desk_actions"
    __table_args__ = (CheckConstraint(f"kind IN ('{DESK_ACTION_KINDS[0]}')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str]
    actor_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
