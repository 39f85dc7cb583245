"""Posting to the money ledger: balanced transactions of postings, idempotent, append-only.

Ideas taken (docs/money.md says more): from TigerBeetle, an amount is an integer in the
smallest unit and every transfer names an idempotency key the client chose, so a retry
returns the first answer and a retry with other figures is refused; from Formance, a
transaction is several postings between named accounts (``till:3``), accounts spring into
being when first used, and a mistake is reverted by a new transaction that points at the
one it cancels; from Beancount, a transaction balances to zero and the balance of an
account is only ever the sum of its postings. The database checks the balance itself (a
deferred constraint trigger, see migration 0007m), so Python's own check is a courtesy: it
refuses an unbalanced transaction at the call that made it, the trigger at commit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput
from core.inputs import text_problem
from core.money import accounts
from core.money.models import MoneyAccount, MoneyPosting, MoneyTransaction

# No single movement of a dossier's money comes near this: a figure above it is a typing
# slip (an extra zero, an amount in the reference field), refused before it reaches a till.
MAX_AMOUNT_VND = 1_000_000_000


@dataclass(frozen=True)
class Leg:
    """One posting as the caller writes it: debit positive, credit negative."""

    account: str
    amount_vnd: int
    line: str
    case_id: int | None = None


def checked_amount(value: object, field: str = "amount_vnd", *, allow_zero: bool = False) -> int:
    """A whole, positive number of đồng below MAX_AMOUNT_VND, or InvalidInput naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InvalidInput("must be a whole number of đồng (no fractions)", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput("must be a positive number of đồng", field=field)
    if value > MAX_AMOUNT_VND:
        raise InvalidInput(
            f"must not exceed {MAX_AMOUNT_VND:,} đồng; check the figure".replace(",", "."),
            field=field,
        )
    return value


def checked_text(value: object, field: str, *, max_length: int = 200, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput("must not be empty", field=field)
    problem = text_problem(value)
    if problem is not None:
        raise InvalidInput(problem, field=field)
    if len(value) > max_length:
        raise InvalidInput(f"must be at most {max_length} characters", field=field)
    return value.strip()


def open_accounts(session: Session, keys: Iterable[str]) -> None:
    """Open the accounts never used before (one round trip; accounts in use are left alone)."""
    wanted = sorted(set(keys))
    parsed = [accounts.parse(key) for key in wanted]
    session.execute(
        text(
            "INSERT INTO money_accounts (key, kind, ref_id) "
            "SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:kinds AS text[]), "
            "CAST(:refs AS int[])) ON CONFLICT (key) DO NOTHING"
        ),
        {"keys": wanted, "kinds": [kind for kind, _ in parsed], "refs": [r for _, r in parsed]},
    )


def _lock_key(session: Session, key: str) -> None:
    """Serialise the writers of one idempotency key (or one case's money) until commit."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 7))"), {"k": key})


def lock_case_money(session: Session, case_id: int, idempotency_key: str | None = None) -> None:
    """Two payments of one case allocate against the same outstanding lines: one at a time.

    With ``idempotency_key``, the key's lock (``post`` takes it) is taken too, in the same
    round trip and in the same order as ``post`` would (case, then key), for callers that then
    write with ``insert_transaction``."""
    if idempotency_key is None:
        _lock_key(session, f"money-case:{case_id}")
        return
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtextextended(:c, 7)), "
            "pg_advisory_xact_lock(hashtextextended(:k, 7))"
        ),
        {"c": f"money-case:{case_id}", "k": f"money-key:{idempotency_key}"},
    )


def _fingerprint(
    kind: str, case_id: int | None, legs: Iterable[tuple[str, int, str]]
) -> Counter[Any]:
    return Counter([(kind, case_id), *legs])


def existing(session: Session, idempotency_key: str) -> MoneyTransaction | None:
    return session.scalar(
        select(MoneyTransaction).where(MoneyTransaction.idempotency_key == idempotency_key)
    )


def post(
    session: Session,
    *,
    kind: str,
    idempotency_key: str,
    legs: Sequence[Leg],
    occurred_at: datetime,
    case_id: int | None = None,
    method: str | None = None,
    reason: str | None = None,
    reference: str | None = None,
    actor_user_id: int | None = None,
    post_office_id: int | None = None,
    reverses_transaction_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> tuple[MoneyTransaction, bool]:
    """Post a balanced transaction once; return it and whether this call created it.

    A second call with the same key returns the first transaction when it carries the same
    postings, and is refused (``Conflict`` on ``idempotency_key``) when it does not: a retry
    must not quietly become another payment.
    """
    key = checked_text(idempotency_key, "idempotency_key")
    if occurred_at.tzinfo is None:
        raise InvalidInput("needs a UTC offset", field="at")
    legs = [leg for leg in legs if leg.amount_vnd != 0]
    if len(legs) < 2:
        raise InvalidInput("a transaction moves money between at least two accounts",
                           field="amount_vnd")  # fmt: skip
    if sum(leg.amount_vnd for leg in legs) != 0:
        raise InvalidInput("the postings do not balance", field="amount_vnd")
    _lock_key(session, f"money-key:{key}")
    before = existing(session, key)
    if before is not None:
        stored = session.execute(
            select(MoneyAccount.key, MoneyPosting.amount_vnd, MoneyPosting.line)
            .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
            .where(MoneyPosting.transaction_id == before.id)
        ).all()
        if _fingerprint(
            before.kind, before.case_id, [(str(k), int(a), str(line)) for k, a, line in stored]
        ) != _fingerprint(kind, case_id, [(leg.account, leg.amount_vnd, leg.line) for leg in legs]):
            raise Conflict(
                "this key was already used for a different movement of money",
                field="idempotency_key",
            )
        return before, False
    transaction = insert_transaction(
        session,
        kind=kind,
        idempotency_key=key,
        legs=legs,
        occurred_at=occurred_at,
        case_id=case_id,
        method=method,
        reason=reason,
        reference=reference,
        actor_user_id=actor_user_id,
        post_office_id=post_office_id,
        reverses_transaction_id=reverses_transaction_id,
        details=details,
    )
    return transaction, True


# The postings of one transaction in one statement, the account ids looked up by key (the
# accounts were opened by the statement before, so this statement's snapshot sees them).
_INSERT_POSTINGS = text(
    "INSERT INTO money_postings (transaction_id, account_id, amount_vnd, line, case_id) "
    "SELECT :t, a.id, u.amount, u.line, u.case_id "
    "FROM unnest(CAST(:keys AS text[]), CAST(:amounts AS bigint[]), CAST(:lines AS text[]), "
    "CAST(:cases AS int[])) WITH ORDINALITY AS u(key, amount, line, case_id, n) "
    "JOIN money_accounts a ON a.key = u.key ORDER BY u.n"
)


def insert_transaction(
    session: Session,
    *,
    kind: str,
    idempotency_key: str,
    legs: Sequence[Leg],
    occurred_at: datetime,
    case_id: int | None = None,
    method: str | None = None,
    reason: str | None = None,
    reference: str | None = None,
    actor_user_id: int | None = None,
    post_office_id: int | None = None,
    reverses_transaction_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> MoneyTransaction:
    """Write a new transaction and its postings in three round trips (accounts, the row, the
    postings), without the unit of work's per-object bookkeeping.

    For callers that hold the key's lock and found no transaction under it (``post`` does
    both). The legs must balance (checked here as in ``post``); the database checks again at
    commit (the deferred ``money_postings_balanced`` trigger, migration 0007m), so nothing
    unbalanced is ever committed. Every leg must become a posting: a leg the statement
    dropped would unbalance the transaction, so that is refused here, at once.
    """
    if len(legs) < 2 or sum(leg.amount_vnd for leg in legs) != 0:
        raise InvalidInput("the postings do not balance", field="amount_vnd")
    open_accounts(session, (leg.account for leg in legs))
    transaction = session.scalars(
        insert(MoneyTransaction).returning(MoneyTransaction),
        [
            {
                "kind": kind,
                "idempotency_key": idempotency_key,
                "case_id": case_id,
                "method": method,
                "reason": reason,
                "reference": reference,
                "actor_user_id": actor_user_id,
                "post_office_id": post_office_id,
                "reverses_transaction_id": reverses_transaction_id,
                "occurred_at": occurred_at,
                "details": details or {},
            }
        ],
    ).one()
    written = session.execute(
        _INSERT_POSTINGS,
        {
            "t": transaction.id,
            "keys": [leg.account for leg in legs],
            "amounts": [leg.amount_vnd for leg in legs],
            "lines": [leg.line for leg in legs],
            "cases": [leg.case_id for leg in legs],
        },
    )
    if written.rowcount != len(legs):  # type: ignore[attr-defined]
        raise RuntimeError(f"money transaction {transaction.id}: {written.rowcount} of "  # type: ignore[attr-defined]
                           f"{len(legs)} postings written")  # fmt: skip
    return transaction


def reverse(
    session: Session,
    transaction: MoneyTransaction,
    *,
    reason: str,
    occurred_at: datetime,
    actor_user_id: int | None,
    idempotency_key: str | None = None,
) -> tuple[MoneyTransaction, bool]:
    """Cancel ``transaction`` by posting its mirror image, with the reason; the original stays."""
    why = checked_text(reason, "reason", max_length=500)
    if transaction.kind == "reversal":
        raise Conflict(
            "a reversal is not reversed; post the movement again", field="transaction_id"
        )
    already = session.scalar(
        select(MoneyTransaction).where(MoneyTransaction.reverses_transaction_id == transaction.id)
    )
    if already is not None:
        return already, False
    stored = session.execute(
        select(MoneyAccount.key, MoneyPosting.amount_vnd, MoneyPosting.line, MoneyPosting.case_id)
        .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
        .where(MoneyPosting.transaction_id == transaction.id)
        .order_by(MoneyPosting.id)
    ).all()
    return post(
        session,
        kind="reversal",
        idempotency_key=idempotency_key or f"reversal:{transaction.id}",
        legs=[Leg(key, -amount, line, case) for key, amount, line, case in stored],
        occurred_at=occurred_at,
        case_id=transaction.case_id,
        method=transaction.method,
        reason=why,
        actor_user_id=actor_user_id,
        post_office_id=transaction.post_office_id,
        reverses_transaction_id=transaction.id,
    )


def account_balance(session: Session, account_key: str) -> int:
    """The sum of the account's postings, debit positive: what a till, a courier or the bank
    holds is positive; what is owed to an office (agency payable) or to citizens is negative;
    a citizen's account is positive while they owe. An account never used has balance 0."""
    accounts.parse(account_key)
    total = session.scalar(
        select(func.coalesce(func.sum(MoneyPosting.amount_vnd), 0))
        .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
        .where(MoneyAccount.key == account_key)
    )
    return int(total or 0)


def balances(session: Session, keys: Iterable[str]) -> dict[str, int]:
    """Several accounts' balances in one query (0 for accounts never used)."""
    wanted = sorted(set(keys))
    rows = session.execute(
        select(MoneyAccount.key, func.coalesce(func.sum(MoneyPosting.amount_vnd), 0))
        .join(MoneyPosting, MoneyPosting.account_id == MoneyAccount.id)
        .where(MoneyAccount.key.in_(wanted))
        .group_by(MoneyAccount.key)
    ).all()
    found = {key: int(total) for key, total in rows}
    return {key: found.get(key, 0) for key in wanted}
