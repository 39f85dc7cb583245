"""A money transaction with its postings, and a receipt with its number, each written by one
function call: one round trip from the app instead of three (accounts, transaction,
postings) and one for the receipt, and a door-step payment with its receipt in one; and a
payment's locks with what it reads under them in one more.

Nothing the database enforces changes: the functions run as their caller (no SECURITY
DEFINER; the app role keeps only SELECT and INSERT on the ledger), and the triggers of
0007m (append-only tables, postings written with their transaction, balanced at commit, a
payment has its receipt) fire for the rows the functions insert as for any other. The
receipt's number comes from the post office's series row, locked by the upsert until
commit, as before (0007m's ``money_receipt_series``): gap-free per post office and year.

Revision ID: 0009m
Revises: 0009s
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009m"
down_revision: str | Sequence[str] | None = "0009s"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each statement inside a PL/pgSQL function takes a fresh snapshot (READ COMMITTED), so the
# postings' lookup sees an account another payer opened and committed while the
# ON CONFLICT waited for it; and the plans are cached per session, not re-planned per call.
WRITE_TRANSACTION = """
CREATE FUNCTION money_write_transaction(
    p_kind text, p_idempotency_key text, p_case_id int, p_method text, p_reason text,
    p_reference text, p_actor_user_id int, p_post_office_id int,
    p_reverses_transaction_id bigint, p_occurred_at timestamptz, p_details jsonb,
    p_keys text[], p_kinds text[], p_refs int[], p_amounts bigint[], p_lines text[],
    p_cases int[]
) RETURNS SETOF money_transactions
LANGUAGE plpgsql AS $$
DECLARE
    written money_transactions;
    postings int;
BEGIN
    INSERT INTO money_accounts (key, kind, ref_id)
    SELECT DISTINCT * FROM unnest(p_keys, p_kinds, p_refs) ORDER BY 1
    ON CONFLICT (key) DO NOTHING;
    INSERT INTO money_transactions (kind, idempotency_key, case_id, method, reason, reference,
        actor_user_id, post_office_id, reverses_transaction_id, occurred_at, details)
    VALUES (p_kind, p_idempotency_key, p_case_id, p_method, p_reason, p_reference,
        p_actor_user_id, p_post_office_id, p_reverses_transaction_id, p_occurred_at,
        coalesce(p_details, '{}'::jsonb))
    RETURNING * INTO written;
    INSERT INTO money_postings (transaction_id, account_id, amount_vnd, line, case_id)
    SELECT written.id, a.id, u.amount, u.line, u.case_id
    FROM unnest(p_keys, p_amounts, p_lines, p_cases) WITH ORDINALITY AS u(key, amount, line,
        case_id, n)
    JOIN money_accounts a ON a.key = u.key ORDER BY u.n;
    GET DIAGNOSTICS postings = ROW_COUNT;
    -- A leg without its posting would unbalance the transaction: refused now, not at commit.
    IF postings <> cardinality(p_keys) THEN
        RAISE EXCEPTION 'money transaction %: % of % postings written', written.id, postings,
            cardinality(p_keys) USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEXT written;
END;
$$;
"""

ISSUE_RECEIPT = """
CREATE FUNCTION money_issue_receipt(
    p_post_office_id int, p_year int, p_kind text, p_case_id int, p_transaction_id bigint,
    p_cancels_receipt_id bigint, p_payer text, p_method text, p_lines jsonb, p_total_vnd bigint,
    p_reference text, p_reason text, p_issued_at timestamptz, p_issued_by_user_id int
) RETURNS SETOF money_receipts
LANGUAGE plpgsql AS $$
DECLARE
    v_code text;
    v_serial int;
    issued money_receipts;
BEGIN
    SELECT po.code INTO v_code FROM post_offices po WHERE po.id = p_post_office_id;
    IF NOT FOUND THEN
        RETURN;  -- no row: the caller says which post office is unknown
    END IF;
    -- The series row stays locked until commit: the issuers of one post office take turns,
    -- so the numbers have no gap and no repeat (a rolled-back payment gives its number back).
    INSERT INTO money_receipt_series AS s (post_office_id, year, last_serial)
    VALUES (p_post_office_id, p_year, 1)
    ON CONFLICT (post_office_id, year) DO UPDATE SET last_serial = s.last_serial + 1
    RETURNING s.last_serial INTO v_serial;
    INSERT INTO money_receipts (number, serial, post_office_id, year, kind, case_id,
        transaction_id, cancels_receipt_id, payer, method, lines, total_vnd, reference, reason,
        issued_at, issued_by_user_id)
    VALUES ('BL-' || v_code || '-' || p_year || '-' || lpad(v_serial::text, 6, '0'), v_serial,
        p_post_office_id, p_year, p_kind, p_case_id, p_transaction_id, p_cancels_receipt_id,
        p_payer, p_method, p_lines, p_total_vnd, p_reference, p_reason, p_issued_at,
        p_issued_by_user_id)
    RETURNING * INTO issued;
    RETURN NEXT issued;
END;
$$;
"""

# A payment's locks and what it must know under them, in one call: the case's lock (two
# payments of one case allocate against the same outstanding lines one at a time) and the
# key's lock (a retry waits for the first attempt), then, in a statement that starts after
# both are held and so sees whatever the holder before committed, the citizen's account by
# line, whether the key was used, whether the case's charge is posted, and the actor's role.
PAYMENT_SNAPSHOT = """
CREATE FUNCTION money_payment_snapshot(
    p_case_lock text, p_key_lock text, p_citizen text, p_key text, p_charge_key text,
    p_actor_user_id int
) RETURNS TABLE (what text, line text, total bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_case_lock, 7)),
            pg_advisory_xact_lock(hashtextextended(p_key_lock, 7));
    RETURN QUERY
    SELECT 'line', p.line::text, sum(p.amount_vnd)::bigint FROM money_postings p
    JOIN money_accounts a ON a.id = p.account_id WHERE a.key = p_citizen GROUP BY p.line
    UNION ALL SELECT 'used', NULL, t.id FROM money_transactions t
    WHERE t.idempotency_key = p_key
    UNION ALL SELECT 'charged', NULL, t.id FROM money_transactions t
    WHERE t.idempotency_key = p_charge_key
    UNION ALL SELECT 'role', u.role::text, NULL FROM users u WHERE u.id = p_actor_user_id;
END;
$$;
"""


def upgrade() -> None:
    op.execute(WRITE_TRANSACTION)
    op.execute(ISSUE_RECEIPT)
    op.execute(PAYMENT_SNAPSHOT)


def downgrade() -> None:
    op.execute("DROP FUNCTION money_payment_snapshot(text, text, text, text, text, int)")
    op.execute("DROP FUNCTION money_issue_receipt(int, int, text, int, bigint, bigint, text, "
               "text, jsonb, bigint, text, text, timestamptz, int)")  # fmt: skip
    op.execute("DROP FUNCTION money_write_transaction(text, text, int, text, text, text, int, "
               "int, bigint, timestamptz, jsonb, text[], text[], int[], bigint[], text[], "
               "int[])")  # fmt: skip
