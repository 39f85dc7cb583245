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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
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


def _lock_key(session: Session, key: str) -> None:
    """Serialise the writers of one idempotency key (or one case's money) until commit."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 7))"), {"k": key})


def case_lock(case_id: int) -> str:
    """The advisory lock's name that serialises the movements of one case's money."""
    return f"money-case:{case_id}"


def key_lock(idempotency_key: str) -> str:
    """The advisory lock's name that serialises the writers of one idempotency key."""
    return f"money-key:{idempotency_key}"


def lock_case_money(session: Session, case_id: int) -> None:
    """Two payments of one case allocate against the same outstanding lines: one at a time.
    (A payment takes this lock and its key's in its snapshot, ``payments._payment_snapshot``,
    in the same order as a caller of ``post`` holding this one: case, then key.)"""
    _lock_key(session, case_lock(case_id))


def _fingerprint(
    kind: str, case_id: int | None, legs: Iterable[tuple[str, int, str]]
) -> Counter[Any]:
    return Counter([(kind, case_id), *legs])


def existing(session: Session, idempotency_key: str) -> MoneyTransaction | None:
    return session.scalar(
        select(MoneyTransaction).where(MoneyTransaction.idempotency_key == idempotency_key)
    )


@dataclass(frozen=True)
class TransactionHeader:
    """What a money transaction says besides its postings: what kind of movement, under which
    idempotency key, when, for which case and post office, by whom and why."""

    kind: str
    idempotency_key: str
    occurred_at: datetime
    case_id: int | None = None
    method: str | None = None
    reason: str | None = None
    reference: str | None = None
    actor_user_id: int | None = None
    post_office_id: int | None = None
    reverses_transaction_id: int | None = None
    details: dict[str, Any] | None = None


def post(
    session: Session, header: TransactionHeader, legs: Sequence[Leg]
) -> tuple[MoneyTransaction, bool]:
    """Post a balanced transaction once; return it and whether this call created it.

    A second call with the same key returns the first transaction when it carries the same
    postings, and is refused (``Conflict`` on ``idempotency_key``) when it does not: a retry
    must not quietly become another payment.
    """
    key = checked_text(header.idempotency_key, "idempotency_key")
    if header.occurred_at.tzinfo is None:
        raise InvalidInput("needs a UTC offset", field="occurred_at")
    legs = [leg for leg in legs if leg.amount_vnd != 0]
    if len(legs) < 2:
        raise InvalidInput("a transaction moves money between at least two accounts",
                           field="amount_vnd")  # fmt: skip
    if sum(leg.amount_vnd for leg in legs) != 0:
        raise InvalidInput("the postings do not balance", field="amount_vnd")
    _lock_key(session, key_lock(key))
    before = existing(session, key)
    if before is not None:
        stored = session.execute(
            select(MoneyAccount.key, MoneyPosting.amount_vnd, MoneyPosting.line)
            .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
            .where(MoneyPosting.transaction_id == before.id)
        ).all()
        if _fingerprint(
            before.kind, before.case_id, [(str(k), int(a), str(line)) for k, a, line in stored]
        ) != _fingerprint(
            header.kind, header.case_id, [(leg.account, leg.amount_vnd, leg.line) for leg in legs]
        ):
            raise Conflict(
                "this key was already used for a different movement of money",
                field="idempotency_key",
            )
        return before, False
    return insert_transaction(session, replace(header, idempotency_key=key), legs), True


# The transaction, the accounts it opens and its postings, written by one call of the
# database's function (migration 0009m): the function's statements see each other's rows.
WRITE_CALL = (
    "money_write_transaction(:kind, :idempotency_key, :case_id, :method, :reason, :reference, "
    ":actor_user_id, :post_office_id, :reverses_transaction_id, :occurred_at, :details, "
    "CAST(:keys AS text[]), CAST(:kinds AS text[]), CAST(:refs AS int[]), "
    "CAST(:amounts AS bigint[]), CAST(:lines AS text[]), CAST(:cases AS int[]))"
)
_INSERT_TRANSACTION = (
    text(f"SELECT * FROM {WRITE_CALL}")
    .bindparams(bindparam("details", type_=JSONB))
    .columns(*MoneyTransaction.__table__.columns)
)


def write_parameters(header: TransactionHeader, legs: Sequence[Leg]) -> dict[str, Any]:
    """The parameters of ``WRITE_CALL`` (also called inside the payment's statement, see
    ``core.money.receipts.insert_payment_with_receipt``), the legs checked to balance."""
    if len(legs) < 2 or sum(leg.amount_vnd for leg in legs) != 0:
        raise InvalidInput("the postings do not balance", field="amount_vnd")
    parsed = [accounts.parse(leg.account) for leg in legs]
    return {
        "kind": header.kind,
        "idempotency_key": header.idempotency_key,
        "case_id": header.case_id,
        "method": header.method,
        "reason": header.reason,
        "reference": header.reference,
        "actor_user_id": header.actor_user_id,
        "post_office_id": header.post_office_id,
        "reverses_transaction_id": header.reverses_transaction_id,
        "occurred_at": header.occurred_at,
        "details": header.details or {},
        "keys": [leg.account for leg in legs],
        "kinds": [kind for kind, _ in parsed],
        "refs": [ref for _, ref in parsed],
        "amounts": [leg.amount_vnd for leg in legs],
        "lines": [leg.line for leg in legs],
        "cases": [leg.case_id for leg in legs],
    }


def insert_transaction(
    session: Session, header: TransactionHeader, legs: Sequence[Leg]
) -> MoneyTransaction:
    """Write a new transaction and its postings in one round trip, without the unit of work's
    per-object bookkeeping.

    For callers that hold the key's lock and found no transaction under it (``post`` does
    both). The legs must balance (checked here as in ``post``); the database checks again at
    commit (the deferred ``money_postings_balanced`` trigger, migration 0007m), so nothing
    unbalanced is ever committed. Every leg must become a posting: the database function
    refuses at once a statement that wrote fewer postings than legs.
    """
    transaction: MoneyTransaction = session.scalars(
        select(MoneyTransaction).from_statement(_INSERT_TRANSACTION),
        write_parameters(header, legs),
    ).one()
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
    header = TransactionHeader(
        kind="reversal",
        idempotency_key=idempotency_key or f"reversal:{transaction.id}",
        occurred_at=occurred_at,
        case_id=transaction.case_id,
        method=transaction.method,
        reason=why,
        actor_user_id=actor_user_id,
        post_office_id=transaction.post_office_id,
        reverses_transaction_id=transaction.id,
    )
    return post(
        session, header, [Leg(key, -amount, line, case) for key, amount, line, case in stored]
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
