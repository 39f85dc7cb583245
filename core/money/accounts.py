"""Account names: one short, stable key per account, like the custody ledger's parties.

A key says what the account is (``kind``) and, for accounts held per something, which one
(``citizen:12`` is case 12's receivable). Reports and money-b's matching name accounts only
through these helpers, so a key is spelled one way everywhere.
"""

from __future__ import annotations

from core.errors import InvalidInput
from core.money.models import ACCOUNT_KINDS

# Accounts the whole system has once.
SINGLE = frozenset(
    {
        "bank",
        "postage_revenue",
        "fee_transfer_revenue",
        "refunds_payable",
        "bank_suspense",
        "cash_over_short",
    }
)
PER_ROW = frozenset(ACCOUNT_KINDS) - SINGLE


def citizen(case_id: int) -> str:
    """What case ``case_id``'s citizen owes (positive) or is owed (negative)."""
    return f"citizen:{case_id}"


def courier_cash(courier_user_id: int) -> str:
    return f"courier_cash:{courier_user_id}"


def till(post_office_id: int) -> str:
    return f"till:{post_office_id}"


def agency_payable(office_id: int) -> str:
    return f"agency_payable:{office_id}"


BANK = "bank"
POSTAGE_REVENUE = "postage_revenue"
FEE_TRANSFER_REVENUE = "fee_transfer_revenue"
REFUNDS_PAYABLE = "refunds_payable"
BANK_SUSPENSE = "bank_suspense"
CASH_OVER_SHORT = "cash_over_short"


def parse(key: str) -> tuple[str, int | None]:
    """``"till:3"`` as ``("till", 3)``; ``"bank"`` as ``("bank", None)``; refused otherwise."""
    kind, _, ident = key.partition(":")
    if kind in SINGLE and not ident:
        return kind, None
    if kind in PER_ROW and ident.isdigit() and 0 < int(ident) < 2**31:
        return kind, int(ident)
    raise InvalidInput(
        f"{key[:64]!r} is not an account: write one of {', '.join(sorted(SINGLE))}, "
        f"or KIND:ID with KIND one of {', '.join(sorted(PER_ROW))}",
        field="account_key",
    )
