"""The charge: the quote the citizen accepted, posted as what they owe, line by line.

Each quote line keeps its own line in the ledger: postage is the post office's revenue, the
state fees (phí, lệ phí) are owed to the destination office (agency payable), the
fee-transfer charge is the post office's revenue for carrying them. An exemption line of the
quote (negative) reduces the line it names; it never moves money between lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.money import accounts
from core.money.ledger import Leg, TransactionHeader, post, reverse
from core.money.models import MoneyTransaction

# The ledger line each quote line code belongs to (see core.booking.pricing.QuoteLine).
QUOTE_LINES = {
    "postage_dossier": "postage",
    "postage_result": "postage",
    "admin_fee": "state_fee",
    "fee_transfer": "fee_transfer",
}
# Whose money each line is: its credit side when charged.
LINE_LABELS: dict[str, tuple[str, str]] = {
    "postage": ("Cước dịch vụ bưu chính", "Postage"),
    "state_fee": ("Phí, lệ phí thủ tục hành chính (thu hộ)", "State fees (collected on behalf)"),
    "fee_transfer": ("Cước chuyển tiền phí, lệ phí", "Fee transfer charge"),
    "overpaid": ("Tiền nộp thừa (sẽ được hoàn lại)", "Overpaid (to be refunded)"),
}
# The order a payment settles the lines: money held for the office first, since it is not
# the post office's; then what carrying it costs; the post office's own postage last.
SETTLE_ORDER = ("state_fee", "fee_transfer", "postage")


def line_of(code: str) -> str | None:
    """The ledger line of a quote line code; an exemption line names the code it reduces."""
    if code.startswith("exemption:"):
        code = code.removeprefix("exemption:")
    return QUOTE_LINES.get(code)


def quote_lines(quote: dict[str, Any]) -> dict[str, int]:
    """What the quote charges on each ledger line, exemptions applied (never below zero)."""
    due: dict[str, int] = defaultdict(int)
    for entry in quote.get("lines", []):
        line = line_of(str(entry.get("code", "")))
        if line is not None:
            due[line] += int(entry.get("amount_vnd", 0))
    return {line: max(amount, 0) for line, amount in due.items() if amount}


@dataclass(frozen=True)
class CaseMoneyFacts:
    case_id: int
    office_id: int
    post_office_id: int
    payment_method: str | None
    contact_name: str
    due_by_line: dict[str, int]
    cancelled: bool
    exemption: dict[str, Any] | None


# The booking's accepted quote, read by its table: core.booking sits above the courier's
# door-step checks, which ask the ledger what is due, so core.money may not import it.
_TERMS_SQL = text(
    "SELECT case_id, payment_method, quote, cancelled_at IS NOT NULL FROM booking_terms "
    "WHERE case_id = ANY(:c)"
)
# The case, its booking and its terms (absent for a case booked without a quote): every
# payment and every payment state starts here. The columns ``facts_of_row`` reads, and the
# joins from ``cases c`` they need (``core.money.state`` reads them with the ledger).
FACTS_COLUMNS = (
    "c.id, b.office_id, b.post_office_id, b.contact_name, t.case_id IS NOT NULL, "
    "t.payment_method, t.quote, t.cancelled_at IS NOT NULL"
)
FACTS_JOINS = "JOIN bookings b ON b.id = c.booking_id LEFT JOIN booking_terms t ON t.case_id = c.id"
_FACTS_SQL = text(f"SELECT {FACTS_COLUMNS} FROM cases c {FACTS_JOINS} WHERE c.id = ANY(:c)")


@dataclass(frozen=True)
class Terms:
    payment_method: str
    quote: dict[str, Any]
    cancelled: bool


def terms_of(session: Session, case_ids: Iterable[int]) -> dict[int, Terms]:
    """The accepted quote of each case booked with one (a case without is absent)."""
    rows = session.execute(_TERMS_SQL, {"c": sorted(set(case_ids))})
    return {int(r[0]): Terms(str(r[1]), dict(r[2] or {}), bool(r[3])) for r in rows}


def booking_terms(session: Session, case_id: int) -> Terms | None:
    return terms_of(session, [case_id]).get(case_id)


def facts_of_row(row: Sequence[Any]) -> CaseMoneyFacts:
    """The facts from a row whose first columns are FACTS_COLUMNS."""
    case_id, office_id, post_office_id, contact_name, has_terms, method, quote, cancelled = row[:8]
    quote = dict(quote or {}) if has_terms else {}
    exemption = quote.get("exemption")
    return CaseMoneyFacts(
        case_id=int(case_id),
        office_id=office_id,
        post_office_id=post_office_id,
        payment_method=str(method) if has_terms else None,
        contact_name=contact_name,
        due_by_line=quote_lines(quote),
        cancelled=bool(has_terms and cancelled),
        exemption=exemption if isinstance(exemption, dict) else None,
    )


def cases_facts(session: Session, case_ids: Iterable[int]) -> dict[int, CaseMoneyFacts]:
    """What the money of each case hangs on, in one query (an unknown case is absent)."""
    rows = session.execute(_FACTS_SQL, {"c": sorted(set(case_ids))})
    return {facts.case_id: facts for facts in map(facts_of_row, rows)}


def case_facts(session: Session, case_id: int) -> CaseMoneyFacts:
    facts = cases_facts(session, [case_id]).get(case_id)
    if facts is None:
        raise NotFound(f"no case {case_id}", field="case_id")
    return facts


def _charge_legs(facts: CaseMoneyFacts) -> list[Leg]:
    credit = {
        "postage": accounts.POSTAGE_REVENUE,
        "state_fee": accounts.agency_payable(facts.office_id),
        "fee_transfer": accounts.FEE_TRANSFER_REVENUE,
    }
    legs = []
    for line, amount in sorted(facts.due_by_line.items()):
        legs.append(Leg(accounts.citizen(facts.case_id), amount, line, facts.case_id))
        legs.append(Leg(credit[line], -amount, line, facts.case_id))
    return legs


def charge_key(case_id: int) -> str:
    return f"charge:case:{case_id}"


def charge_case(
    session: Session, case_id: int, *, at: datetime, actor_user_id: int | None = None
) -> MoneyTransaction | None:
    """Post what the booking's quote charges, once. None when the quote charges nothing
    (a fully exempt booking, a receive-only booking without postage)."""
    facts = case_facts(session, case_id)
    legs = _charge_legs(facts)
    if not legs:
        return None
    header = TransactionHeader(
        kind="charge",
        idempotency_key=charge_key(case_id),
        occurred_at=at,
        case_id=case_id,
        actor_user_id=actor_user_id,
        post_office_id=facts.post_office_id,
        details={"exemption": facts.exemption} if facts.exemption else {},
    )
    transaction, _ = post(session, header, legs)
    return transaction


def cancel_charge(
    session: Session, case_id: int, *, at: datetime, actor_user_id: int | None, reason: str
) -> MoneyTransaction | None:
    """A cancelled booking owes nothing: its charge is reversed. Money already paid then shows
    as owed back to the citizen (state ``refund_due``) until ``record_refund``."""
    charge = session.scalar(
        select(MoneyTransaction).where(MoneyTransaction.idempotency_key == charge_key(case_id))
    )
    if charge is None:
        return None
    reversal, _ = reverse(session, charge, reason=reason, occurred_at=at,
                          actor_user_id=actor_user_id)  # fmt: skip
    return reversal
