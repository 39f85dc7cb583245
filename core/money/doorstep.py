"""Cash at the door: the courier takes exactly what is still due, or says why not.

The amount still due comes from the ledger (the case's charge less what was already paid,
e.g. by VietQR before the visit). A different cash amount is refused unless the courier
gives one of the reasons below; the pickup is then recorded, the cash posted with its
receipt, and an exception opened for a supervisor. Nothing is taken on trust and nothing
different is hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.money.charges import case_facts
from core.money.models import MoneyException, Receipt
from core.money.payments import record_payment
from core.money.state import PaymentState, payment_state, payment_states

# Why the cash taken differs from what is due. The label is what the courier picks and what
# the supervisor reads; the code is what the event and the exception keep.
CASH_DIFFERENCE_REASONS: dict[str, tuple[str, str]] = {
    "citizen_short_of_cash": (
        "Người dân không đủ tiền mặt, nộp một phần",
        "The citizen did not have enough cash and paid part",
    ),
    "rest_by_transfer": (
        "Người dân chuyển khoản phần còn lại",
        "The citizen pays the rest by bank transfer",
    ),
    "exemption_shown_at_door": (
        "Người dân xuất trình giấy tờ miễn, giảm tại nhà",
        "The citizen showed an exemption document at the door",
    ),
    "fee_differs_from_quote": (
        "Mức phí, lệ phí thực tế khác báo giá",
        "The actual state fee differs from the quote",
    ),
    "no_change_for_overpayment": (
        "Người dân nộp thừa, bưu tá không có tiền trả lại",
        "The citizen overpaid and the courier had no change",
    ),
}


@dataclass(frozen=True)
class CashCheck:
    """What the door-step check found: the amount due, and the reason for a difference."""

    case_id: int
    due_vnd: int
    collected_vnd: int
    reason_code: str | None
    # The payment state the check read (None: read again when the cash is posted), which
    # the cash is then split by (``record_payment``'s ``read``).
    state: PaymentState | None = field(default=None, compare=False, repr=False)

    @property
    def differs(self) -> bool:
        return self.collected_vnd != self.due_vnd


def check_cash(
    session: Session, case_id: int, *, collected_vnd: int, reason_code: object
) -> CashCheck | None:
    """Compare the cash taken with what the ledger says is due. None when the case has no quote
    on record (booked outside the citizen booking): there is nothing to compare with.

    Raises InvalidInput naming ``details.fees_collected_vnd`` when the amounts differ and no
    reason is given, or ``details.cash_difference_reason`` when the reason is not one of ours.
    """
    # The state's facts say whether the booking has a quote (terms on record): one read of
    # the case, not one for the quote and another for the state.
    state = payment_states(session, [case_id]).get(case_id)
    if state is None or state.facts is None or state.facts.payment_method is None:
        return None
    due = state.due_vnd
    if collected_vnd == due:
        return CashCheck(case_id, due, collected_vnd, None, state)
    if reason_code is None:
        raise InvalidInput(
            f"{due} đồng is due for this case (already paid amounts deducted); collect exactly "
            "that, or choose a reason for the difference",
            field="details.fees_collected_vnd",
            reason="doorstep.cash_differs",
            params={"due": f"{due:,}".replace(",", ".") + " ₫"},
        )
    if reason_code not in CASH_DIFFERENCE_REASONS:
        raise InvalidInput(
            f"must be one of {', '.join(CASH_DIFFERENCE_REASONS)}",
            field="details.cash_difference_reason",
            reason="doorstep.cash_difference_reason",
        )
    return CashCheck(case_id, due, collected_vnd, str(reason_code), state)


def record_doorstep_cash(
    session: Session,
    check: CashCheck,
    *,
    courier_user_id: int | None,
    event_ref: str,
    at: datetime,
    note: str | None = None,
) -> Receipt | None:
    """After the ledger accepted the pickup: post the cash with its receipt and, when the
    amount differed from what was due, open the exception. Keyed by the event, so a replayed
    pickup posts and opens nothing twice."""
    receipt = None
    if check.collected_vnd > 0:
        state = check.state or payment_state(session, check.case_id)
        assert state.facts is not None
        receipt = record_payment(
            session,
            case_id=check.case_id,
            method="cash",
            amount_vnd=check.collected_vnd,
            at=at,
            actor_user_id=courier_user_id,
            payer=state.facts.contact_name,
            reference=event_ref,
            idempotency_key=f"doorstep:{event_ref}",
            read=state,
            # The cash is taken at the door by a courier (checked under the payment's locks).
            actor_role="courier",
        )
    if check.differs:
        open_exception(
            session,
            kind="doorstep_cash_difference",
            ref=event_ref,
            case_id=check.case_id,
            courier_user_id=courier_user_id,
            expected_vnd=check.due_vnd,
            actual_vnd=check.collected_vnd,
            reason_code=check.reason_code,
            note=note,
            at=at,
        )
    return receipt


def open_exception(
    session: Session,
    *,
    kind: str,
    ref: str,
    at: datetime,
    case_id: int | None = None,
    courier_user_id: int | None = None,
    post_office_id: int | None = None,
    expected_vnd: int | None = None,
    actual_vnd: int | None = None,
    reason_code: str | None = None,
    note: str | None = None,
) -> MoneyException:
    found = session.scalar(
        select(MoneyException).where(MoneyException.kind == kind, MoneyException.ref == ref)
    )
    if found is not None:
        return found
    if post_office_id is None and case_id is not None:
        post_office_id = case_facts(session, case_id).post_office_id
    exception = MoneyException(
        kind=kind,
        ref=ref,
        case_id=case_id,
        courier_user_id=courier_user_id,
        post_office_id=post_office_id,
        expected_vnd=expected_vnd,
        actual_vnd=actual_vnd,
        reason_code=reason_code,
        note=note,
        status="open",
        opened_at=at,
    )
    session.add(exception)
    session.flush()
    return exception
