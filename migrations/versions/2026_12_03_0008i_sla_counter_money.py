"""Service quality reads counter queue tickets and the money ledger: a ticket is a subject
of the roll-up, and the passes find new tickets and money transactions by time (indexes).

Revision ID: 0008i
Revises: 0008f
Create Date: 2026-12-03 13:35:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008i"
down_revision: str | Sequence[str] | None = "0008f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# 0007s's constraint was named through the naming convention a second time; found by its
# text rather than guessed by name.
_DROP_SUBJECT_CHECK = """
DO $$
DECLARE name text;
BEGIN
  FOR name IN SELECT conname FROM pg_constraint
              WHERE conrelid = 'sla_facts'::regclass AND contype = 'c'
                AND pg_get_constraintdef(oid) LIKE '%subject%'
  LOOP
    EXECUTE format('ALTER TABLE sla_facts DROP CONSTRAINT %I', name);
  END LOOP;
END $$
"""


def upgrade() -> None:
    op.execute(_DROP_SUBJECT_CHECK)
    op.create_check_constraint(
        op.f("ck_sla_facts_subject"),
        "sla_facts",
        "subject IN ('case', 'handover', 'complaint', 'ticket')",
    )
    op.create_index("ix_counter_tickets_issued_at", "counter_tickets", ["issued_at"])
    op.create_index("ix_counter_tickets_called_at", "counter_tickets", ["called_at"])
    op.create_index("ix_counter_tickets_finished_at", "counter_tickets", ["finished_at"])
    op.create_index("ix_money_transactions_recorded_at", "money_transactions", ["recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_money_transactions_recorded_at", "money_transactions")
    op.drop_index("ix_counter_tickets_finished_at", "counter_tickets")
    op.drop_index("ix_counter_tickets_called_at", "counter_tickets")
    op.drop_index("ix_counter_tickets_issued_at", "counter_tickets")
    op.execute("DELETE FROM sla_facts WHERE subject = 'ticket'")
    op.execute(_DROP_SUBJECT_CHECK)
    op.create_check_constraint(
        op.f("ck_sla_facts_subject"), "sla_facts", "subject IN ('case', 'handover', 'complaint')"
    )
