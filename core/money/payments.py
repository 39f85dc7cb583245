"""Money taken from and given back to citizens: payments with their receipts, refunds,
corrections. Services flush; the caller owns the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput
from core.money import accounts
from core.money.charges import (
    SETTLE_ORDER,
    CaseMoneyFacts,
    case_facts,
    charge_case,
    charge_key,
)
from core.money.ledger import (
    Leg,
    TransactionHeader,
    case_lock,
    checked_amount,
    checked_text,
    existing,
    key_lock,
    lock_case_money,
    post,
    reverse,
)
from core.money.models import METHODS, MoneyAccount, MoneyPosting, MoneyTransaction, Receipt
from core.money.receipts import (
    PaymentCheck,
    insert_payment_if_unchanged,
    insert_payment_with_receipt,
    issue_cancellation,
    receipt_by_id,
)
from core.money.state import PaymentState

Method = Literal["cash", "vietqr"]


def citizen_lines(session: Session, case_id: int) -> dict[str, int]:
    """The citizen's account by line: positive where they still owe, negative where owed."""
    rows = session.execute(
        select(MoneyPosting.line, func.sum(MoneyPosting.amount_vnd))
        .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
        .where(MoneyAccount.key == accounts.citizen(case_id))
        .group_by(MoneyPosting.line)
    ).all()
    return {line: int(total) for line, total in rows if total}


# The payment's locks (the case's, then the key's: the order a caller of ``ledger.post``
# holding ``ledger.lock_case_money`` takes them in) and, in a statement started once both
# are held, what it must know under them (migration 0009m's function): one round trip.
_SNAPSHOT_SQL = text(
    "SELECT what, line, total FROM money_payment_snapshot(:case_lock, :key_lock, :citizen, "
    ":key, :charge, :actor)"
)


@dataclass(frozen=True)
class _Snapshot:
    used: bool  # the key was used already
    charged: bool  # the case's charge is posted
    lines: dict[str, int]  # the citizen's account by line, as ``citizen_lines``
    actor_role: str | None  # the actor's role (None: no actor given, or no such user)


def _payment_snapshot(
    session: Session, case_id: int, key: str, actor_user_id: int | None
) -> _Snapshot:
    """Take the payment's locks and read what it needs to know under them, in one round
    trip."""
    used = charged = False
    role = None
    lines: dict[str, int] = {}
    rows = session.execute(
        _SNAPSHOT_SQL,
        {
            "case_lock": case_lock(case_id),
            "key_lock": key_lock(key),
            "citizen": accounts.citizen(case_id),
            "key": key,
            "charge": charge_key(case_id),
            "actor": actor_user_id,
        },
    )
    for what, line, total in rows:
        if what == "used":
            used = True
        elif what == "charged":
            charged = True
        elif what == "role":
            role = str(line)
        elif total:
            lines[str(line)] = int(total)
    return _Snapshot(used, charged, lines, role)


def allocate(outstanding: dict[str, int], amount: int) -> dict[str, int]:
    """Split a payment over the lines still owed, in SETTLE_ORDER; the rest is ``overpaid``."""
    split: dict[str, int] = {}
    left = amount
    for line in SETTLE_ORDER:
        take = min(left, max(outstanding.get(line, 0), 0))
        if take:
            split[line] = take
            left -= take
    if left:
        split["overpaid"] = left
    return split


def _cash_account(actor_user_id: int | None, actor_role: str | None, post_office_id: int) -> str:
    """Cash a courier takes is in the courier's hands until cash-up; cash taken by anyone
    else (a counter clerk) goes into the post office's till."""
    if actor_user_id is not None:
        if actor_role is None:
            raise InvalidInput(f"no user {actor_user_id}", field="actor_user_id")
        if actor_role == "courier":
            return accounts.courier_cash(actor_user_id)
    return accounts.till(post_office_id)


def _checked_method(method: object) -> Method:
    if method not in METHODS:
        raise InvalidInput("must be cash or vietqr", field="method")
    return "cash" if method == "cash" else "vietqr"


def record_payment(
    session: Session,
    *,
    case_id: int,
    method: Method,
    amount_vnd: int,
    at: datetime,
    actor_user_id: int | None,
    payer: str,
    reference: str,
    idempotency_key: str,
    from_suspense: bool = False,
    read: PaymentState | None = None,
    actor_role: str | None = None,
) -> Receipt:
    """Post money received for a case and issue its receipt, in the caller's transaction.

    Cash goes to the collecting courier's cash (or the till, for a clerk); a VietQR transfer
    to the postal bank account (or out of bank suspense, when the bank line was parked there
    before it was matched). The payment settles the case's lines in SETTLE_ORDER; anything
    above what is owed is kept on the ``overpaid`` line, owed back to the citizen. A retry with
    the same key returns the first receipt; with other figures it is refused.

    ``read``: the case's payment state when the caller has just read it (the door-step read
    what is due first). Its facts are not read again, and the payment is split over the lines
    that read saw and written in one statement that first checks, under the payment's locks,
    that the ledger still says what was read; when it does not, nothing is written and the
    payment is split again from what the ledger says under the locks. ``actor_role``: the
    actor's role as the caller knows it (the door-step's courier), which decides the cash
    account; checked under the locks like the read (without it, cash taken by a named actor
    takes the second path, which reads the role).
    """
    checked = _checked_method(method)
    amount = checked_amount(amount_vnd)
    who = checked_text(payer, "payer")
    ref = checked_text(reference, "reference", max_length=200, required=False) or None
    key = checked_text(idempotency_key, "idempotency_key")
    if at.tzinfo is None:
        raise InvalidInput("needs a UTC offset", field="at")
    if read is not None and read.case_id == case_id and read.facts is not None:
        facts = read.facts
    else:
        read, facts = None, case_facts(session, case_id)
    draft = _Draft(facts, case_id=case_id, method=checked, amount=amount, at=at,
                   actor_user_id=actor_user_id, reference=ref, key=key,
                   from_suspense=from_suspense)  # fmt: skip
    if read is not None:
        receipt = _write_as_read(session, draft, read, actor_role, payer=who)
        if receipt is not None:
            return receipt
        # Not as read: nothing was written. The locks are held (or taken now): read under them.
    # The case's lock and the key's lock, then, under them, whether the key was used,
    # whether the charge is posted, what the citizen owes and who the actor is: one call.
    snapshot = _payment_snapshot(session, case_id, key, actor_user_id)
    if snapshot.used:
        before = existing(session, key)
        assert before is not None
        return _replayed(session, before, case_id=case_id, amount=amount, method=checked)
    outstanding = snapshot.lines
    if not facts.cancelled and not snapshot.charged:
        # A booking charges its quote when it is made (core.booking); a case booked before
        # the ledger, or by hand, is charged by its first payment.
        charge_case(session, case_id, at=at, actor_user_id=actor_user_id)
        outstanding = citizen_lines(session, case_id)
    header, legs, split = draft.allocated(outstanding, snapshot.actor_role)
    return insert_payment_with_receipt(session, header, legs, amounts=split, payer=who,
                                       note=draft.note)  # fmt: skip


def _write_as_read(
    session: Session, draft: _Draft, read: PaymentState, actor_role: str | None, *, payer: str
) -> Receipt | None:
    """The payment split by ``read`` and written in one statement, when the ledger still says
    what ``read`` says under the payment's locks; None when it does not (nothing written), or
    when one statement cannot do it: the charge is not posted yet (the payment posts it), or
    the cash account hangs on an actor's role the caller did not give."""
    taker = draft.actor_user_id if draft.method == "cash" else None
    charge_pending = not read.charge_posted and not draft.facts.cancelled
    if charge_pending or (taker is not None and actor_role is None):
        return None
    header, legs, split = draft.allocated(read.citizen_lines, actor_role)
    check = PaymentCheck(
        case_lock=case_lock(draft.case_id),
        key_lock=key_lock(draft.key),
        citizen=accounts.citizen(draft.case_id),
        citizen_lines=read.citizen_lines,
        charge_key=charge_key(draft.case_id),
        charged=read.charge_posted,
        taker=taker,
        taker_role=actor_role,
    )
    return insert_payment_if_unchanged(session, header, legs, amounts=split, payer=payer,
                                       note=draft.note, check=check)  # fmt: skip


@dataclass(frozen=True)
class _Draft:
    """A payment before it is split: what the caller gave and the case's facts."""

    facts: CaseMoneyFacts
    case_id: int
    method: Method
    amount: int
    at: datetime
    actor_user_id: int | None
    reference: str | None
    key: str
    from_suspense: bool

    @property
    def note(self) -> str | None:
        if not self.facts.exemption:
            return None
        exemption = self.facts.exemption
        label, basis = exemption.get("label_vi", ""), exemption.get("legal_basis", "")
        return f"Miễn giảm: {label} — căn cứ {basis}"

    def allocated(
        self, outstanding: dict[str, int], actor_role: str | None
    ) -> tuple[TransactionHeader, list[Leg], dict[str, int]]:
        """The payment split over ``outstanding`` (the citizen's account by line): its
        header, its legs and the split, into the account ``actor_role`` decides for cash."""
        split = allocate(outstanding, self.amount)
        if self.method == "vietqr":
            money = accounts.BANK_SUSPENSE if self.from_suspense else accounts.BANK
        else:
            money = _cash_account(self.actor_user_id, actor_role, self.facts.post_office_id)
        citizen = accounts.citizen(self.case_id)
        legs = []
        for line, part in split.items():
            legs.append(Leg(money, part, line, self.case_id))
            legs.append(Leg(citizen, -part, line, self.case_id))
        header = TransactionHeader(
            kind="payment",
            idempotency_key=self.key,
            occurred_at=self.at,
            case_id=self.case_id,
            method=self.method,
            reference=self.reference,
            actor_user_id=self.actor_user_id,
            post_office_id=self.facts.post_office_id,
        )
        return header, legs, split


def _replayed(
    session: Session, before: MoneyTransaction, *, case_id: int, amount: int, method: str
) -> Receipt:
    receipt = session.scalar(select(Receipt).where(Receipt.transaction_id == before.id))
    if (
        receipt is None
        or before.kind != "payment"
        or before.case_id != case_id
        or before.method != method
        or receipt.total_vnd != amount
    ):
        raise Conflict(
            "this key was already used for a different movement of money",
            field="idempotency_key",
        )
    return receipt


def record_refund(
    session: Session,
    *,
    case_id: int,
    amount_vnd: int,
    at: datetime,
    actor_user_id: int | None,
    reason: str,
    idempotency_key: str,
) -> MoneyTransaction:
    """Decide a refund of money the citizen is owed back (an overpayment, a cancelled booking
    paid by VietQR): the citizen's account is debited and ``refunds_payable`` credited until
    the refund is paid out (``record_refund_payout``). More than is owed back is refused."""
    amount = checked_amount(amount_vnd)
    why = checked_text(reason, "reason", max_length=500)
    key = checked_text(idempotency_key, "idempotency_key")
    facts = case_facts(session, case_id)
    lock_case_money(session, case_id)
    before = existing(session, key)
    if before is not None:
        if (
            before.kind != "refund"
            or before.case_id != case_id
            or -sum(_refund_split(session, before).values()) != amount
        ):
            raise Conflict("this key was already used for a different movement of money",
                           field="idempotency_key")  # fmt: skip
        return before
    owed_back = {
        line: -total for line, total in citizen_lines(session, case_id).items() if total < 0
    }
    if amount > sum(owed_back.values()):
        raise InvalidInput(
            f"only {sum(owed_back.values())} đồng is owed back to this citizen",
            field="amount_vnd",
        )
    split: dict[str, int] = {}
    left = amount
    for line in ("overpaid", *reversed(SETTLE_ORDER)):
        take = min(left, owed_back.get(line, 0))
        if take:
            split[line] = take
            left -= take
    header = TransactionHeader(
        kind="refund",
        idempotency_key=key,
        occurred_at=at,
        case_id=case_id,
        reason=why,
        actor_user_id=actor_user_id,
        post_office_id=facts.post_office_id,
    )
    transaction, _ = post(session, header, _refund_legs(split, case_id))
    return transaction


def _refund_legs(split: dict[str, int], case_id: int) -> list[Leg]:
    legs = []
    for line, part in split.items():
        legs.append(Leg(accounts.citizen(case_id), part, line, case_id))
        legs.append(Leg(accounts.REFUNDS_PAYABLE, -part, line, case_id))
    return legs


def _refund_split(session: Session, transaction: MoneyTransaction) -> dict[str, int]:
    rows = session.execute(
        select(MoneyPosting.line, MoneyPosting.amount_vnd)
        .join(MoneyAccount, MoneyAccount.id == MoneyPosting.account_id)
        .where(
            MoneyPosting.transaction_id == transaction.id,
            MoneyAccount.key == accounts.REFUNDS_PAYABLE,
        )
    ).all()
    split: dict[str, int] = defaultdict(int)
    for line, amount in rows:
        split[line] += int(amount)
    return split


def record_refund_payout(
    session: Session,
    *,
    case_id: int,
    method: Method,
    amount_vnd: int,
    at: datetime,
    actor_user_id: int | None,
    reference: str,
    idempotency_key: str,
) -> MoneyTransaction:
    """A decided refund paid out: by bank transfer (the statement's debit line) or in cash
    from the post office's till."""
    checked = _checked_method(method)
    amount = checked_amount(amount_vnd)
    facts = case_facts(session, case_id)
    source = accounts.BANK if checked == "vietqr" else accounts.till(facts.post_office_id)
    header = TransactionHeader(
        kind="refund_payout",
        idempotency_key=checked_text(idempotency_key, "idempotency_key"),
        occurred_at=at,
        case_id=case_id,
        method=checked,
        reference=checked_text(reference, "reference", required=False) or None,
        actor_user_id=actor_user_id,
        post_office_id=facts.post_office_id,
    )
    legs = [
        Leg(accounts.REFUNDS_PAYABLE, amount, "overpaid", case_id),
        Leg(source, -amount, "overpaid", case_id),
    ]
    transaction, _ = post(session, header, legs)
    return transaction


def cancel_payment(
    session: Session,
    *,
    receipt_id: int,
    reason: str,
    at: datetime,
    actor_user_id: int | None,
) -> Receipt:
    """A payment recorded in error: reverse it and issue the cancelling receipt. The original
    receipt stays, reprintable, with the cancellation pointing at it."""
    original = receipt_by_id(session, receipt_id)
    transaction = session.get(MoneyTransaction, original.transaction_id)
    assert transaction is not None
    lock_case_money(session, original.case_id)
    reversal, created = reverse(session, transaction, reason=reason, occurred_at=at,
                                actor_user_id=actor_user_id)  # fmt: skip
    if not created:
        cancelling = session.scalar(
            select(Receipt).where(Receipt.cancels_receipt_id == original.id)
        )
        assert cancelling is not None
        return cancelling
    return issue_cancellation(session, original, transaction=reversal, reason=reason, at=at,
                              actor_user_id=actor_user_id)  # fmt: skip
