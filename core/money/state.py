"""A case's payment state, derived from the ledger alone (never stored, so never stale).

quoted → paid (cash / VietQR) → handed to the agency; part-paid and over-paid on the way;
cancelled, refund due and refunded after a cancellation. The figures come from the case's
citizen account and from the agency hand-overs that name the case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.custody.models import Item
from core.errors import NotFound
from core.money import accounts
from core.money.charges import (
    FACTS_COLUMNS,
    FACTS_JOINS,
    CaseMoneyFacts,
    booking_terms,
    charge_key,
    facts_of_row,
)

STATE_LABELS: dict[str, tuple[str, str]] = {
    "nothing_due": ("Không phải thanh toán", "Nothing to pay"),
    "quoted": ("Chưa thanh toán", "Not paid yet"),
    "part_paid": ("Đã thanh toán một phần", "Part paid"),
    "paid": ("Đã thanh toán", "Paid"),
    "over_paid": ("Đã nộp thừa, chờ hoàn lại", "Overpaid, refund pending"),
    "handed_to_agency": (
        "Đã thanh toán, phí đã nộp cho cơ quan",
        "Paid; fees handed to the office",
    ),
    "cancelled": ("Đã hủy, không phải thanh toán", "Cancelled, nothing to pay"),
    "refund_due": ("Đã hủy, chờ hoàn tiền", "Cancelled, refund pending"),
    "refunded": ("Đã hoàn tiền", "Refunded"),
}


@dataclass(frozen=True)
class PaymentState:
    case_id: int
    state: str
    charged_vnd: int  # what the case owes in all (after exemptions and cancellations)
    paid_vnd: int  # taken from the citizen, net of cancelled payments
    refunded_vnd: int  # decided refunds
    due_vnd: int  # still to collect (never negative)
    owed_back_vnd: int  # to give back (never negative)
    handed_vnd: int  # state fees handed to the office for this case
    payment_method: str | None  # as chosen at booking
    methods: tuple[str, ...]  # the methods actually used
    lines: dict[str, int] = field(default_factory=dict)  # charged per line
    # What the state was derived from, which a payment taken next is computed from (passed
    # on, not read again; ``core.money.payments.record_payment`` checks under its locks that
    # the ledger still says this): the case's facts, the citizen's account by line (positive
    # where owed, negative where owed back), whether the charge is posted.
    facts: CaseMoneyFacts | None = field(default=None, compare=False, repr=False)
    citizen_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    charge_posted: bool = field(default=False, compare=False, repr=False)

    @property
    def label_vi(self) -> str:
        return STATE_LABELS[self.state][0]

    @property
    def label_en(self) -> str:
        return STATE_LABELS[self.state][1]

    def to_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "state": self.state,
            "label_vi": self.label_vi,
            "label_en": self.label_en,
            "charged_vnd": self.charged_vnd,
            "paid_vnd": self.paid_vnd,
            "refunded_vnd": self.refunded_vnd,
            "due_vnd": self.due_vnd,
            "owed_back_vnd": self.owed_back_vnd,
            "handed_vnd": self.handed_vnd,
            "payment_method": self.payment_method,
            "methods": list(self.methods),
            "lines": self.lines,
        }


def payment_state(session: Session, case_id: int) -> PaymentState:
    state = payment_states(session, [case_id]).get(case_id)
    if state is None:
        raise NotFound(f"no case {case_id}", field="case_id")
    return state


# Everything the states of a set of cases need, in one round trip, one row per case: the
# case's facts (FACTS_COLUMNS); the citizen's postings summed by (kind, line, method), a
# reversal counting as the kind it cancels (a reversed payment is money not taken), as a JSON
# array of [kind, line, method, total]; whether the charge is posted; the state fees handed
# to the office for the case.
_STATE_SELECT = (
    f"SELECT {FACTS_COLUMNS}, "
    "(SELECT jsonb_agg(jsonb_build_array(g.kind, g.line, g.method, g.total)) FROM ("
    "SELECT coalesce(o.kind, x.kind) AS kind, p.line, x.method, sum(p.amount_vnd) AS total "
    "FROM money_accounts a JOIN money_postings p ON p.account_id = a.id "
    "JOIN money_transactions x ON x.id = p.transaction_id "
    "LEFT JOIN money_transactions o ON o.id = x.reverses_transaction_id "
    "WHERE a.key = {citizen} GROUP BY 1, 2, 3) g), "
    "EXISTS (SELECT 1 FROM money_transactions x WHERE x.idempotency_key = {charge}), "
    "(SELECT sum(p.amount_vnd) FROM money_postings p "
    "JOIN money_transactions x ON x.id = p.transaction_id "
    "JOIN money_accounts a ON a.id = p.account_id "
    "WHERE p.case_id = c.id AND a.kind = 'agency_payable' "
    "AND x.kind IN ('agency_handover', 'reversal')) "
    f"FROM {{cases}} {FACTS_JOINS} {{where}}"
)
# One case (every payment reads this first) by scalar parameters, so the server keeps one
# generic plan per session (psycopg prepares a statement from its fifth run); a plan over
# an array parameter is planned afresh on every run, which cost more than running it.
_STATE_OF_ONE = text(
    _STATE_SELECT.format(
        citizen=":citizen", charge=":charge", cases="cases c", where="WHERE c.id = :case_id"
    )
)
_STATES_OF_MANY = text(
    _STATE_SELECT.format(
        citizen="w.citizen",
        charge="w.charge",
        cases="unnest(CAST(:cases AS int[]), CAST(:citizens AS text[]), CAST(:charges AS text[]))"
        " AS w(case_id, citizen, charge) JOIN cases c ON c.id = w.case_id",
        where="",
    )
)


def payment_states(session: Session, case_ids: Iterable[int]) -> dict[int, PaymentState]:
    """Each case's payment state in one query whatever their number (a run sheet's stops,
    the refunds due): an unknown case is absent."""
    wanted = sorted(set(case_ids))
    if len(wanted) == 1:
        (case_id,) = wanted
        rows = session.execute(
            _STATE_OF_ONE,
            {
                "case_id": case_id,
                "citizen": accounts.citizen(case_id),
                "charge": charge_key(case_id),
            },
        )
    else:
        rows = session.execute(
            _STATES_OF_MANY,
            {
                "cases": wanted,
                "citizens": [accounts.citizen(case_id) for case_id in wanted],
                "charges": [charge_key(case_id) for case_id in wanted],
            },
        )
    states = {}
    for row in rows:
        facts = facts_of_row(row)
        postings, charge_posted, handed = row[8:]
        states[facts.case_id] = _state_of(facts, postings or [], charge_posted, int(handed or 0))
    return states


def _state_of(
    facts: CaseMoneyFacts, rows: list[list[Any]], charge_posted: bool, handed: int
) -> PaymentState:
    charged_lines: dict[str, int] = {}
    citizen_lines: dict[str, int] = {}
    paid = refunded = 0
    methods: set[str] = set()
    for tx_kind, line, method, amount in rows:
        citizen_lines[line] = citizen_lines.get(line, 0) + amount
        if tx_kind == "charge":
            charged_lines[line] = charged_lines.get(line, 0) + amount
        elif tx_kind in ("payment", "suspense_match"):
            paid -= amount
            if amount and method:
                methods.add(method)
        elif tx_kind == "refund":
            refunded += amount
    if not charge_posted and not facts.cancelled:
        charged_lines = dict(facts.due_by_line)  # not posted yet: the quote is what is owed
    charged = sum(charged_lines.values())
    balance = charged - paid + refunded
    return PaymentState(
        case_id=facts.case_id,
        state=_state_name(
            facts.cancelled,
            charged,
            paid,
            refunded,
            balance,
            handed,
            charged_lines.get("state_fee", 0),
        ),  # fmt: skip
        charged_vnd=charged,
        paid_vnd=paid,
        refunded_vnd=refunded,
        due_vnd=max(balance, 0),
        owed_back_vnd=max(-balance, 0),
        handed_vnd=handed,
        payment_method=facts.payment_method,
        methods=tuple(sorted(methods)),
        lines={line: amount for line, amount in charged_lines.items() if amount},
        facts=facts,
        citizen_lines={line: amount for line, amount in citizen_lines.items() if amount},
        charge_posted=charge_posted,
    )


def _state_name(
    cancelled: bool, charged: int, paid: int, refunded: int, balance: int, handed: int, fee: int
) -> str:
    if cancelled or (charged == 0 and (paid or refunded)):
        if balance < 0:
            return "refund_due"
        return "refunded" if refunded else "cancelled"
    if charged == 0:
        return "nothing_due"
    if balance < 0:
        return "over_paid"
    if paid == 0:
        return "quoted"
    if balance > 0:
        return "part_paid"
    if fee > 0 and handed >= fee:
        return "handed_to_agency"
    return "paid"


def tracked_payment_state(session: Session, item_code: str) -> PaymentState | None:
    """The payment state the public tracking page shows for an item's case (None when the
    case was not booked with a quote)."""
    case_id = session.scalar(select(Item.case_id).where(Item.code == item_code))
    if case_id is None or booking_terms(session, case_id) is None:
        return None
    return payment_state(session, case_id)
