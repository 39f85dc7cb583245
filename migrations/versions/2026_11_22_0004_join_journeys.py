"""Join the journeys' migrations, written in parallel from 0002, into one head.

Revision ID: 0004
Revises: 0003b, 0003d, 0003m, 0003r
Create Date: 2026-11-22 07:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | Sequence[str] | None = ("0003b", "0003d", "0003m", "0003r")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
