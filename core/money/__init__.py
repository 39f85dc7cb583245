"""Money collected on behalf: a double-entry ledger in PostgreSQL, quotes charged line by line,
payments with their receipts, refunds, cash-ups and the fees handed to the offices.

The names below are the contract other parts code against (docs/money.md): keep them.
"""

from core.money import accounts
from core.money.charges import cancel_charge, charge_case
from core.money.ledger import Leg, TransactionHeader, account_balance, balances, post, reverse
from core.money.models import Receipt
from core.money.payments import (
    cancel_payment,
    record_payment,
    record_refund,
    record_refund_payout,
)
from core.money.state import PaymentState, payment_state

__all__ = [
    "Leg",
    "PaymentState",
    "Receipt",
    "TransactionHeader",
    "account_balance",
    "accounts",
    "balances",
    "cancel_charge",
    "cancel_payment",
    "charge_case",
    "payment_state",
    "post",
    "record_payment",
    "record_refund",
    "record_refund_payout",
    "reverse",
]
