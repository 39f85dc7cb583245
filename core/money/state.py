"""A case's payment state, derived from the ledger alone (never stored, so never stale).

quoted → paid (cash / VietQR) → handed to the agency; part-paid and over-paid on the way;
cancelled, refund due and refunded after a cancellation. The figures come from the case's
citizen account and from the agency hand-overs that name the case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.custody.models import Item
from core.errors import NotFound
from core.money import accounts
from core.money.charges import CaseMoneyFacts, booking_terms, cases_facts, charge_key

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
    # What the state was derived from: a payment taken next passes them on, not re-read.
    facts: CaseMoneyFacts | None = field(default=None, compare=False, repr=False)

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


# Everything the states of a set of cases need from the ledger, in one round trip: the
# citizens' postings by (kind, line, method), a reversal counting as the kind it cancels (a
# reversed payment is money not taken); which charges are posted; the state fees handed to
# the office per case.
_LEDGER_SQL = text(
    "SELECT 'posting', a.key, coalesce(o.kind, t.kind), p.line, t.method, sum(p.amount_vnd) "
    "FROM money_postings p JOIN money_transactions t ON t.id = p.transaction_id "
    "JOIN money_accounts a ON a.id = p.account_id "
    "LEFT JOIN money_transactions o ON o.id = t.reverses_transaction_id "
    "WHERE a.key = ANY(:citizens) GROUP BY a.key, coalesce(o.kind, t.kind), p.line, t.method "
    "UNION ALL SELECT 'charged', t.idempotency_key, NULL, NULL, NULL, NULL "
    "FROM money_transactions t WHERE t.idempotency_key = ANY(:charges) "
    "UNION ALL SELECT 'handed', CAST(p.case_id AS text), NULL, NULL, NULL, sum(p.amount_vnd) "
    "FROM money_postings p JOIN money_transactions t ON t.id = p.transaction_id "
    "JOIN money_accounts a ON a.id = p.account_id "
    "WHERE p.case_id = ANY(:cases) AND a.kind = 'agency_payable' "
    "AND t.kind IN ('agency_handover', 'reversal') GROUP BY p.case_id"
)


def payment_states(session: Session, case_ids: Iterable[int]) -> dict[int, PaymentState]:
    """Each case's payment state in two queries whatever their number (a run sheet's stops,
    the refunds due): an unknown case is absent."""
    facts = cases_facts(session, case_ids)
    wanted = sorted(facts)
    keys = {accounts.citizen(case_id): case_id for case_id in wanted}
    charges = {charge_key(case_id): case_id for case_id in wanted}
    by_case: dict[int, list[tuple[str, str, str | None, int]]] = defaultdict(list)
    charges_posted: set[int] = set()
    handed: dict[int, int] = {}
    rows = session.execute(
        _LEDGER_SQL, {"citizens": list(keys), "charges": list(charges), "cases": wanted}
    )
    for part, key, tx_kind, line, method, total in rows:
        if part == "posting":
            by_case[keys[key]].append((tx_kind, line, method, int(total)))
        elif part == "charged":
            charges_posted.add(charges[key])
        else:
            handed[int(key)] = int(total)
    return {
        case_id: _state_of(
            facts[case_id], by_case[case_id], case_id in charges_posted, handed.get(case_id, 0)
        )
        for case_id in wanted
    }


def _state_of(
    facts: CaseMoneyFacts,
    rows: list[tuple[str, str, str | None, int]],
    charge_posted: bool,
    handed: int,
) -> PaymentState:
    charged_lines: dict[str, int] = {}
    paid = refunded = 0
    methods: set[str] = set()
    for tx_kind, line, method, amount in rows:
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
