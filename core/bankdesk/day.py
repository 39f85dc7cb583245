"""A day of money, driven through the services: what the demo seeds and what the issue's
test day checks (issue 14, "Done means").

``money_day`` takes thirty booked cases with their quotes and plays one day at one post
office: couriers take cash at the door (one short, with a reason; one exempt case pays its
reduced quote), citizens pay by VietQR before the visit (a bank statement carries their
transfers, one of them twice, and a line nobody can claim), some never pay, one cancels after
paying and is refunded through the queue, two couriers cash up (one 10,000 ₫ short) after two
hand-overs of the state fees to the desks. At the end the reconciliation must balance to the
đồng with exactly four exceptions open.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from core.booking.models import BookingTerms
from core.cases.models import Booking, Case
from core.custody.commands import ScanCommand
from core.custody.models import Item
from core.custody.parties import party
from core.custody.service import record_one
from core.demo.people import signature_png
from core.handovers.service import complete_handover, open_handover, receive_item
from core.identity.models import User
from core.identity.service import actor_for
from core.media.service import store_media
from core.money.bank.matching import refund_case
from core.money.bank.service import ImportResult, import_statement
from core.money.bank.statements import statement_file
from core.money.cashup import courier_cash_lines, record_cash_up
from core.money.charges import cancel_charge
from core.money.doorstep import check_cash, record_doorstep_cash
from core.money.models import CashUp
from core.money.reconcile import Reconciliation, reconcile
from core.money.state import payment_state

# How the thirty cases of the day pay, in the order they are given.
CASH_PER_COURIER = 7  # the first 14: cash at the door, 7 per courier (incl. short and exempt)
VIETQR_PAID = 11  # then: paid by transfer before the visit
VIETQR_UNPAID = 4  # then: chose VietQR and never paid
CANCELLED = 1  # last: paid by transfer, then cancelled and refunded
DAY_SIZE = 2 * CASH_PER_COURIER + VIETQR_PAID + VIETQR_UNPAID + CANCELLED  # 30
SHORT_BY = 50_000  # the citizen short of cash at the door
CASH_UP_SHORT = 10_000  # the second courier's till count
UNKNOWN_LINE_VND = 150_000  # a transfer with no HOSO code
PICKUP_DETAILS = {"seal_number": "NP-DEMO", "checklist": [{"doc": "Tờ khai", "present": True}]}


@dataclass
class MoneyDay:
    day: date
    cash_cases: list[int] = field(default_factory=list)
    short_case: int = 0
    exempt_case: int = 0
    vietqr_paid: list[int] = field(default_factory=list)
    vietqr_unpaid: list[int] = field(default_factory=list)
    cancelled_case: int = 0
    statement: ImportResult | None = None
    statement_csv: bytes = b""
    handovers: list[int] = field(default_factory=list)
    cash_ups: list[CashUp] = field(default_factory=list)
    report: Reconciliation | None = None


def dossier_code(session: Session, case_id: int) -> str:
    case = session.get_one(Case, case_id)
    assert case.dossier_item_id is not None, "a money day needs dossier cases (send or both)"
    return session.get_one(Item, case.dossier_item_id).code


def _pick_up(session: Session, courier: User, case_id: int, at: datetime) -> str:
    code = dossier_code(session, case_id)
    record_one(session, actor_for(courier), ScanCommand(
        kind="picked_up", code=code, occurred_at=at, client_event_id=uuid.uuid4(),
        details=PICKUP_DETAILS))  # fmt: skip
    return code


def open_handovers(
    session: Session,
    day: MoneyDay,
    couriers: Sequence[User],
    desks: Sequence[User],
    *,
    at: datetime,
) -> list[tuple[int, dict[str, int]]]:
    """Each courier offers their cash cases' dossiers to their desk's office, declaring each
    dossier's state fee: (hand-over id, {dossier code: fee}) per courier, for the desk to
    receive and sign."""
    by_courier = [day.cash_cases[:CASH_PER_COURIER], day.cash_cases[CASH_PER_COURIER:]]
    opened_handovers = []
    for courier, desk, own in zip(couriers, desks, by_courier, strict=True):
        codes = [dossier_code(session, c) for c in own]
        for case_id in own:
            office_id = session.get_one(
                Booking, session.get_one(Case, case_id).booking_id
            ).office_id
            if office_id != desk.office_id:
                raise ValueError(f"case {case_id} is not bound for desk {desk.username}'s office")
        # A payment settles the state fees first (core.money.charges.SETTLE_ORDER), so even the
        # citizen short of cash paid their fee in full: every fee goes to the desk.
        item_fees = {
            code: payment_state(session, case_id).lines.get("state_fee", 0)
            for code, case_id in zip(codes, own, strict=True)
        }
        opened = open_handover(session, actor_for(courier), giver=party("courier", courier.id),
                               receiver=party("office", desk.office_id or 0), item_codes=codes,
                               now=at, item_fees=item_fees)  # fmt: skip
        opened_handovers.append((opened.handover.id, item_fees))
    return opened_handovers


def money_day(
    session: Session,
    *,
    cases: Sequence[int],
    couriers: Sequence[User],
    desks: Sequence[User],
    supervisor: User,
    start: datetime,
    account_no: str = "1500201234567",
    short_reason: str = "citizen_short_of_cash",
    exempt_case: int | None = None,
    bank_by_hand: bool = False,
    doors_by_hand: Collection[int] = (),
) -> MoneyDay:
    """Play the day. ``cases``: thirty booked cases of one post office, in the order of the
    module's constants, each courier's cash cases bound for that courier's desk's office;
    ``exempt_case`` (one of the cash cases) carries an exemption in its quote. Returns what
    happened and the day's reconciliation.

    ``bank_by_hand``: leave the bank to a person (the browser test does it through the pages):
    the statement is written (``statement_csv``) but not imported, and the cancelled booking,
    not yet paid when it cancels, is refunded from the queue once its transfer arrives.

    ``doors_by_hand``: cash cases whose door-step a courier does in the app (the browser
    test). The day then stops after the other doors: the hand-overs need every dossier
    picked up, so the caller goes on (``open_handovers``, the desk and cash-up pages) and
    ``report`` stays None."""
    if len(cases) != DAY_SIZE or len(couriers) != 2 or len(desks) != 2:
        raise ValueError(f"a money day is {DAY_SIZE} cases, 2 couriers, 2 desks")
    day = start.date()
    result = MoneyDay(day=day)
    post_office_id = couriers[0].post_office_id
    assert post_office_id is not None
    cash = list(cases[: 2 * CASH_PER_COURIER])
    rest = list(cases[2 * CASH_PER_COURIER :])
    result.vietqr_paid = rest[:VIETQR_PAID]
    result.vietqr_unpaid = rest[VIETQR_PAID : VIETQR_PAID + VIETQR_UNPAID]
    result.cancelled_case = rest[-1]
    result.cash_cases = cash
    result.short_case = cash[0]
    result.exempt_case = exempt_case if exempt_case is not None else cash[1]
    clock = start

    def tick() -> datetime:
        nonlocal clock
        clock += timedelta(minutes=7)
        return clock

    # 08:00-: the citizens who chose VietQR pay from their phones; the bank's statement comes
    # at noon (one citizen sends the money twice; someone sends money with no code at all).
    paid_by_transfer = [*result.vietqr_paid, result.cancelled_case]
    rows = []
    # The bank's references are unique to its account: a day played again (another test in
    # the same database) is another day's transfers, not a re-import of this one.
    batch = f"{day:%y%m%d}{cases[0] % 100_000:05d}"
    for number, case_id in enumerate(paid_by_transfer, start=1):
        due = payment_state(session, case_id).due_vnd
        code = dossier_code(session, case_id)
        text = (f"MBVCB.{9000 + number}.HOSO {code}.CT tu 0351000646393" if number % 2 else
                f"hoso{code.lower()} chuyen tien")  # fmt: skip
        rows.append((f"FT{batch}{number:04d}", due, text))
    rows.append((f"FT{batch}9001", rows[0][1], rows[0][2] + " lan 2"))  # paid twice
    rows.append((f"FT{batch}9002", UNKNOWN_LINE_VND, "NGUYEN VAN B chuyen tien"))
    result.statement_csv = statement_file(rows, day, account_no)
    if not bank_by_hand:
        result.statement = import_statement(
            session, data=result.statement_csv, filename=f"vcb-{day:%Y%m%d}.csv",
            user=supervisor, at=start.replace(hour=12), post_office_id=post_office_id,
        )  # fmt: skip

    # 13:00-: the last transfer's citizen cancels; their money goes back through the queue.
    cancelled_at = start.replace(hour=13)
    terms = session.get_one(BookingTerms, result.cancelled_case)
    terms.cancelled_at = cancelled_at
    cancel_charge(session, result.cancelled_case, at=cancelled_at, actor_user_id=None,
                  reason="Công dân huỷ lịch hẹn")  # fmt: skip
    if not bank_by_hand:
        refund_case(session, result.cancelled_case, at=cancelled_at,
                    actor_user_id=supervisor.id,
                    note="Huỷ lịch hẹn sau khi đã chuyển khoản")  # fmt: skip

    # Couriers at the doors: cash, exactly what is due (one short, with a reason).
    by_courier = [cash[:CASH_PER_COURIER], cash[CASH_PER_COURIER:]]
    for courier, own in zip(couriers, by_courier, strict=True):
        for case_id in own:
            at = tick()
            if case_id in doors_by_hand:
                continue
            code = _pick_up(session, courier, case_id, at)
            due = payment_state(session, case_id).due_vnd
            short = case_id == result.short_case
            taken = due - SHORT_BY if short else due
            check = check_cash(session, case_id, collected_vnd=taken,
                               reason_code=short_reason if short else None)  # fmt: skip
            assert check is not None
            record_doorstep_cash(session, check, courier_user_id=courier.id,
                                 event_ref=f"demo-doorstep:{code}", at=at)  # fmt: skip

    if doors_by_hand:
        return result
    # 15:00-: each courier hands their dossiers and the state fees to their desk.
    for (handover_id, item_fees), courier, desk in zip(
        open_handovers(session, result, couriers, desks, at=tick()), couriers, desks, strict=True
    ):
        at = tick()
        for code in item_fees:
            receive_item(session, actor_for(desk), handover_id, code, now=at)
        giver_signature, receiver_signature = (
            store_media(session, signature_png(person.full_name, person.id), "image/png",
                        uploaded_by_user_id=person.id)
            for person in (courier, desk)
        )  # fmt: skip
        complete_handover(session, actor_for(desk), handover_id, item_fees=item_fees,
                          now=at, giver_signature_sha256=giver_signature,
                          receiver_signature_sha256=receiver_signature)  # fmt: skip
        result.handovers.append(handover_id)

    # 17:00-: cash-up at the post office; the second courier's cash counts 10,000 ₫ short.
    for index, courier in enumerate(couriers):
        at = start.replace(hour=17, minute=10 * index)
        expected = sum(courier_cash_lines(session, courier.id).values())
        short = index == 1
        result.cash_ups.append(
            record_cash_up(
                session, courier_user_id=courier.id, post_office_id=post_office_id,
                period_date=day, counted_vnd=expected - (CASH_UP_SHORT if short else 0),
                reason="Thiếu 10.000 ₫ khi đếm tiền" if short else None,
                confirmed_by_user_id=supervisor.id, at=at,
            )
        )  # fmt: skip
    result.report = reconcile(session, day=day, post_office_id=post_office_id)
    return result
