"""A door-step payment written in one statement: the locks, the check that the ledger still
says what the payment was computed from, the transaction with its postings and the receipt.

The caller reads the case's payment state first (what is due, shown to the courier), splits
the money over the lines from that read, and sends the payment. Under the case's and the
key's advisory locks the function re-reads, in a statement that starts after both are held,
what the split and the accounts were computed from: the key unused, whether the charge is
posted, the citizen's account by line, and the role of the person taking the cash. When all
of it is as read it writes the payment and its receipt (0009m's functions) and returns the
receipt; otherwise it writes nothing and returns no row, and the caller, still holding the
locks, reads the snapshot (0009m's ``money_payment_snapshot``) and splits again. So the
split stays in Python, in one place, and two payments of one case still allocate one after
the other.

Nothing the database enforces changes: the function runs as its caller (no SECURITY
DEFINER), the triggers of 0007m fire for the rows it writes, and the receipt's number comes
from the post office's series row locked until commit, as in 0009m.

Revision ID: 0009p
Revises: 0009m
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009p"
down_revision: str | Sequence[str] | None = "0009m"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The check (c_…) is one expression: one statement, whose snapshot is taken after the locks
# are held. The citizen's lines are compared as a JSON object {line: total} of the non-zero
# totals, as the caller read them (PaymentState.citizen_lines); the person taking the cash
# is checked only when the cash account depends on their role (c_taker NULL otherwise). The
# p_… parameters are 0009m's money_write_transaction's, the r_… money_issue_receipt's.
RECORD_PAYMENT = """
CREATE FUNCTION money_record_payment(
    c_case_lock text, c_key_lock text, c_citizen text, c_citizen_lines jsonb,
    c_charge_key text, c_charged boolean, c_taker int, c_taker_role text,
    p_kind text, p_idempotency_key text, p_case_id int, p_method text, p_reason text,
    p_reference text, p_actor_user_id int, p_post_office_id int,
    p_reverses_transaction_id bigint, p_occurred_at timestamptz, p_details jsonb,
    p_keys text[], p_kinds text[], p_refs int[], p_amounts bigint[], p_lines text[],
    p_cases int[],
    r_post_office_id int, r_year int, r_kind text, r_case_id int, r_cancels_receipt_id bigint,
    r_payer text, r_method text, r_lines jsonb, r_total_vnd bigint, r_reference text,
    r_reason text, r_issued_at timestamptz, r_issued_by_user_id int
) RETURNS SETOF money_receipts
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(c_case_lock, 7)),
            pg_advisory_xact_lock(hashtextextended(c_key_lock, 7));
    IF EXISTS (SELECT 1 FROM money_transactions t WHERE t.idempotency_key = p_idempotency_key)
       OR (EXISTS (SELECT 1 FROM money_transactions t WHERE t.idempotency_key = c_charge_key)
           IS DISTINCT FROM c_charged)
       OR (c_taker IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM users u WHERE u.id = c_taker AND u.role = c_taker_role))
       OR (SELECT coalesce(jsonb_object_agg(s.line, s.total), '{}'::jsonb) FROM (
              SELECT p.line, sum(p.amount_vnd) AS total FROM money_postings p
              JOIN money_accounts a ON a.id = p.account_id WHERE a.key = c_citizen
              GROUP BY p.line HAVING sum(p.amount_vnd) <> 0) s) IS DISTINCT FROM c_citizen_lines
    THEN
        RETURN;  -- not as the caller read it: nothing written, the caller splits again
    END IF;
    RETURN QUERY SELECT r.* FROM money_write_transaction(p_kind, p_idempotency_key, p_case_id,
        p_method, p_reason, p_reference, p_actor_user_id, p_post_office_id,
        p_reverses_transaction_id, p_occurred_at, p_details, p_keys, p_kinds, p_refs,
        p_amounts, p_lines, p_cases) AS t
    CROSS JOIN LATERAL money_issue_receipt(r_post_office_id, r_year, r_kind, r_case_id, t.id,
        r_cancels_receipt_id, r_payer, r_method, r_lines, r_total_vnd, r_reference, r_reason,
        r_issued_at, r_issued_by_user_id) AS r;
    -- The receipt's function returns no row for an unknown post office; the payment is
    -- written by then, so this is an error, not a "changed since the read". (The caller's
    -- post office is its booking's, which a foreign key keeps in place.)
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no post office %', r_post_office_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
END;
$$;
"""


def upgrade() -> None:
    op.execute(RECORD_PAYMENT)


def downgrade() -> None:
    op.execute("DROP FUNCTION money_record_payment(text, text, text, jsonb, text, boolean, int, "
               "text, text, text, int, text, text, text, int, int, bigint, timestamptz, jsonb, "
               "text[], text[], int[], bigint[], text[], int[], int, int, text, int, bigint, "
               "text, text, jsonb, bigint, text, text, timestamptz, int)")  # fmt: skip
