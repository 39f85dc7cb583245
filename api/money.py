"""A post office's money for its staff: couriers' cash and the cash-up, money exceptions, a
case's payment state and its receipts.

``/api/v1/money/...`` is the JSON API (bearer token or session cookie); ``/money/...`` are the
pages. Who may do what is ``core.access`` (areas money, cash_up, money_review); the figures
are ``core.money``'s, read from the ledger.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.staff import staff_user
from api.web import page_user, render
from core.access import may_enter, may_see_case, money_post_office
from core.cases.service import case_context
from core.cashdesk.exceptions import ExceptionView, list_exceptions, resolve_exception
from core.errors import DomainError, InvalidInput, NotFound
from core.identity.models import User
from core.inputs import RowId, Text
from core.money.cashup import CourierCash, cash_position, record_cash_up
from core.money.charges import LINE_LABELS
from core.money.models import CashUp, Receipt
from core.money.payments import cancel_payment
from core.money.receipts import receipts_of_case
from core.money.state import payment_state
from edge.deps import NowDep, SessionDep
from edge.errors import status_for
from labels.text import format_vnd
from vntime import VN

router = APIRouter(prefix="/api/v1/money", tags=["money"])
page_router = APIRouter(include_in_schema=False)
MoneyStaff = Annotated[User, Depends(staff_user("money"))]
CashUpStaff = Annotated[User, Depends(staff_user("cash_up"))]
Reviewer = Annotated[User, Depends(staff_user("money_review"))]
MoneyPage = Annotated[User, Depends(page_user("money"))]
CashUpPage = Annotated[User, Depends(page_user("cash_up"))]
ReviewPage = Annotated[User, Depends(page_user("money_review"))]

# What a refused cash-up form says, by the field core names (core's detail is the English).
CASH_UP_ERRORS: dict[str, tuple[str, str]] = {
    "reason": ("Số tiền đếm được khác số phải nộp: ghi lý do chênh lệch.",
               "Counted differs from expected: give the reason for the difference."),
    "period_date": ("Bưu tá này đã kiểm quỹ ngày này rồi; không kiểm quỹ lần hai.",
                    "This courier has already cashed up for this day."),
    "counted_vnd": ("Nhập số tiền đếm được bằng chữ số, đơn vị đồng.",
                    "Type the amount counted in digits, in đồng."),
    "courier_id": ("Bưu tá không thuộc bưu cục này.",
                   "The courier belongs to another post office."),
    "post_office_id": ("Bạn không quản lý bưu cục này.", "This post office is not yours."),
}  # fmt: skip

CASH_LINE_LABELS = {**LINE_LABELS, "difference": ("Chênh lệch kiểm quỹ", "Cash-up difference")}


class CashUpRead(BaseModel):
    id: int
    courier_id: int
    post_office_id: int
    period_date: date
    expected_vnd: int
    counted_vnd: int
    difference_vnd: int
    reason: str | None
    confirmed_by_user_id: int
    created_at: datetime


class CourierCashRead(BaseModel):
    courier_id: int
    name: str
    expected_vnd: int = Field(description="What the ledger says the courier holds now")
    lines: dict[str, int] = Field(description="The same by line: state_fee, postage, ...")
    cash_up: CashUpRead | None = Field(description="The cash-up of the day, once recorded")


class CashUpCreate(BaseModel):
    courier_id: RowId
    period_date: date
    counted_vnd: int = Field(description="What the till counted, in đồng")
    reason: Text | None = Field(
        default=None, max_length=500, description="Required when counted differs from expected"
    )
    post_office_id: RowId | None = None


class ResolveIn(BaseModel):
    resolution: Text = Field(min_length=1, max_length=1000)


def _cash_up_read(c: CashUp) -> CashUpRead:
    return CashUpRead(
        id=c.id, courier_id=c.courier_user_id, post_office_id=c.post_office_id,
        period_date=c.period_date, expected_vnd=c.expected_vnd, counted_vnd=c.counted_vnd,
        difference_vnd=c.difference_vnd, reason=c.reason,
        confirmed_by_user_id=c.confirmed_by_user_id, created_at=c.created_at,
    )  # fmt: skip


def _courier_read(row: CourierCash) -> CourierCashRead:
    return CourierCashRead(courier_id=row.courier_user_id, name=row.name,
                           expected_vnd=row.expected_vnd, lines=row.lines,
                           cash_up=_cash_up_read(row.done) if row.done else None)  # fmt: skip


def _today(now: datetime) -> date:
    return now.astimezone(VN).date()


@router.get("/cash-ups")
def get_cash_position(
    user: MoneyStaff,
    session: SessionDep,
    now: NowDep,
    post_office_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    day: Annotated[date | None, Query(alias="date")] = None,
) -> list[CourierCashRead]:
    """Each courier of the post office: the cash the ledger says they hold, and the day's
    cash-up once recorded. Dispatchers and clerks read their own post office."""
    post = money_post_office(user, post_office_id)
    return [_courier_read(r) for r in cash_position(session, post, day or _today(now))]


@router.post("/cash-ups")
def post_cash_up(
    body: CashUpCreate, user: CashUpStaff, session: SessionDep, now: NowDep
) -> CashUpRead:
    """Record a courier's cash-up: counted against expected (from the ledger); a difference
    needs a reason; a second cash-up of the same courier and day is 409."""
    post = money_post_office(user, body.post_office_id)
    cash_up = record_cash_up(
        session, courier_user_id=body.courier_id, post_office_id=post,
        period_date=body.period_date, counted_vnd=body.counted_vnd, reason=body.reason,
        confirmed_by_user_id=user.id, at=now,
    )  # fmt: skip
    return _cash_up_read(cash_up)


@router.get("/exceptions")
def get_exceptions(
    user: MoneyStaff, session: SessionDep, status: str | None = "open"
) -> list[ExceptionView]:
    """Money exceptions of the post offices the caller reaches (status open or resolved)."""
    return list_exceptions(session, user, status=status or None)


@router.post("/exceptions/{exception_id}/resolve")
def post_resolve(
    exception_id: int, body: ResolveIn, user: Reviewer, session: SessionDep, now: NowDep
) -> ExceptionView:
    """Close an exception with what was found and done (409 when already resolved)."""
    return resolve_exception(session, user, exception_id, resolution=body.resolution, at=now)


class ReceiptRead(BaseModel):
    id: int
    number: str
    kind: str
    method: str
    payer: str
    lines: list[dict[str, Any]]
    total_vnd: int
    issued_at: datetime
    cancels_receipt_id: int | None
    reason: str | None


class CaseMoneyRead(BaseModel):
    state: dict[str, Any]
    receipts: list[ReceiptRead]


def case_money(session: Session, user: User, case_id: int) -> CaseMoneyRead:
    context = case_context(session, case_id) if case_id < 2**31 else None
    if context is None or not may_see_case(user, context.booking, context.case):
        raise NotFound(f"no case {case_id}", field="case_id")
    receipts = [_receipt_read(r) for r in receipts_of_case(session, case_id)]
    return CaseMoneyRead(state=payment_state(session, case_id).to_json(), receipts=receipts)


class CancelReceiptIn(BaseModel):
    reason: Text = Field(min_length=1, max_length=500,
                         description="Why the payment was recorded in error")  # fmt: skip


@router.post("/receipts/{receipt_id}/cancel")
def post_cancel_receipt(
    receipt_id: int, body: CancelReceiptIn, user: CashUpStaff, session: SessionDep, now: NowDep
) -> ReceiptRead:
    """A payment recorded in error: reverse it in the ledger and issue the cancelling receipt
    (same series); the original stays, reprintable. Cancelling twice returns the first
    cancelling receipt."""
    receipt = session.get(Receipt, receipt_id) if 0 < receipt_id < 2**63 else None
    if receipt is None:
        raise NotFound(f"no receipt {receipt_id}", field="receipt_id")
    money_post_office(user, receipt.post_office_id)
    cancelling = cancel_payment(session, receipt_id=receipt.id, reason=body.reason, at=now,
                                actor_user_id=user.id)  # fmt: skip
    return _receipt_read(cancelling)


def _receipt_read(r: Receipt) -> ReceiptRead:
    return ReceiptRead(id=r.id, number=r.number, kind=r.kind, method=r.method, payer=r.payer,
                       lines=r.lines, total_vnd=r.total_vnd, issued_at=r.issued_at,
                       cancels_receipt_id=r.cancels_receipt_id, reason=r.reason)  # fmt: skip


@router.get("/cases/{case_id}")
def get_case_money(case_id: int, user: MoneyStaff, session: SessionDep) -> CaseMoneyRead:
    """A case's payment state, derived from the ledger, and its receipts."""
    return case_money(session, user, case_id)


# -- pages ---------------------------------------------------------------------------------------


def _cash_page(
    request: Request,
    session: Session,
    user: User,
    now: datetime,
    post_office_id: int | None,
    day: date | None,
    refusal: DomainError | None = None,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "rows": [], "day": day or _today(now), "vnd": format_vnd, "VN": VN,
        "line_labels": CASH_LINE_LABELS, "post_office_id": post_office_id,
        "may_cash_up": may_enter(user, "cash_up"), "error": None,
        "done": request.query_params.get("done"),
    }  # fmt: skip
    try:
        post = money_post_office(user, post_office_id)
        context["post_office_id"] = post
        context["rows"] = cash_position(session, post, context["day"])
    except DomainError as exc:
        refusal = refusal or exc
    if refusal is not None:
        context["error"] = CASH_UP_ERRORS.get(refusal.field or "", (refusal.detail, refusal.detail))
        context["error_detail"] = refusal.detail
    return render(request, "staff/cash_up.html", context,
                  status_code=status_for(refusal) if refusal else 200)  # fmt: skip


@page_router.get("/money/cash-up", response_class=HTMLResponse)
def cash_up_page(
    request: Request,
    user: MoneyPage,
    session: SessionDep,
    now: NowDep,
    post_office_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    day: Annotated[date | None, Query(alias="date")] = None,
) -> HTMLResponse:
    return _cash_page(request, session, user, now, post_office_id, day)


@page_router.post("/money/cash-up", response_model=None)
def cash_up_form(
    request: Request,
    user: CashUpPage,
    session: SessionDep,
    now: NowDep,
    courier_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    period_date: Annotated[date, Form()],
    counted_vnd: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=500)] = "",
    post_office_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
) -> HTMLResponse | RedirectResponse:
    try:
        post = money_post_office(user, post_office_id)
        counted = _whole_vnd(counted_vnd)
        record_cash_up(session, courier_user_id=courier_id, post_office_id=post,
                       period_date=period_date, counted_vnd=counted, reason=reason or None,
                       confirmed_by_user_id=user.id, at=now)  # fmt: skip
    except DomainError as exc:
        session.rollback()
        return _cash_page(request, session, user, now, post_office_id, period_date, exc)
    query = urlencode({"date": period_date.isoformat(), "post_office_id": post, "done": courier_id})
    return RedirectResponse(f"/money/cash-up?{query}", status_code=303)


def _whole_vnd(raw: str) -> int:
    """A typed amount: digits, with the dots or spaces Vietnamese write between thousands."""
    cleaned = raw.strip().replace(".", "").replace(" ", "").replace(",", "")
    if not cleaned.isdigit():
        raise InvalidInput("type the amount counted in đồng, digits only", field="counted_vnd")
    return int(cleaned)


def _exceptions_page(
    request: Request, session: Session, user: User, status: str,
    refusal: DomainError | None = None,
) -> HTMLResponse:  # fmt: skip
    context: dict[str, Any] = {
        "status": status, "vnd": format_vnd, "VN": VN, "rows": [], "error": None,
        "may_resolve": may_enter(user, "money_review"),
        "resolved": request.query_params.get("resolved"),
    }  # fmt: skip
    try:
        context["rows"] = list_exceptions(session, user, status=status or None)
    except DomainError as exc:
        refusal = refusal or exc
    if refusal is not None:
        context["error"] = refusal.detail
    return render(request, "staff/money_exceptions.html", context,
                  status_code=status_for(refusal) if refusal else 200)  # fmt: skip


@page_router.get("/money/exceptions", response_class=HTMLResponse)
def exceptions_page(
    request: Request, user: MoneyPage, session: SessionDep, status: str = "open"
) -> HTMLResponse:
    return _exceptions_page(request, session, user, status)


@page_router.post("/money/exceptions/{exception_id}/resolve", response_model=None)
def exceptions_resolve_form(
    exception_id: int,
    request: Request,
    user: ReviewPage,
    session: SessionDep,
    now: NowDep,
    resolution: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        resolve_exception(session, user, exception_id, resolution=resolution, at=now)
    except DomainError as exc:
        session.rollback()
        return _exceptions_page(request, session, user, "open", exc)
    return RedirectResponse(f"/money/exceptions?resolved={exception_id}", status_code=303)
