"""The money JSON API (``/api/v1/money``) and the bank's signed notification endpoint
(``/api/bank/v1/notifications``). Who may act on which line or case is decided in
core.access (``may_see_bank_line``, ``may_see_case``); the services do the rest."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.agency import raw_body
from api.bank.schemas import (
    BankLineRead,
    BankNotification,
    BankNotificationRead,
    CaseRefundRead,
    CheckRead,
    CourierRowRead,
    ExceptionRead,
    LineErrorRead,
    MatchCreate,
    OfficeRowRead,
    QueueRead,
    ReconciliationRead,
    RefundCreate,
    RefundDueRead,
    StatementImportRead,
)
from api.staff import staff_user
from core.access import may_see_case, require_bank_line, require_post_office
from core.agency.nonces import spend_nonce
from core.agency.signing import SignedRequest
from core.bankdesk import keys
from core.bankdesk.queue import open_lines, refunds_due
from core.cases.models import Booking, Case
from core.custody.models import Item
from core.errors import Forbidden, InvalidInput, NotFound
from core.identity.models import User
from core.money.bank.matching import match_line, refund_case, refund_line
from core.money.bank.models import BankLine, BankLineDecision
from core.money.bank.queue import OUTCOME_LABELS
from core.money.bank.service import MAX_FILE_BYTES, import_statement, notified_line
from core.money.reconcile import Reconciliation, reconcile
from core.money.reconcile_files import pdf_file, table_file
from edge.deps import NowDep, SessionDep, SettingsDep
from labels.errors import InvalidCode
from labels.s10 import validate_item_id

router = APIRouter(prefix="/api/v1/money", tags=["money"])
bank_router = APIRouter(prefix="/api/bank/v1", tags=["bank"])
MoneyUser = Annotated[User, Depends(staff_user("bank"))]

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def line_read(
    session: Session, line: BankLine, decision: BankLineDecision, item_code: str | None = None
) -> BankLineRead:
    vi, en = OUTCOME_LABELS[decision.outcome]
    if item_code is None and decision.case_id is not None:
        case = session.get(Case, decision.case_id)
        item = session.get(Item, case.dossier_item_id or case.result_item_id) if case else None
        item_code = item.code if item is not None else None
    return BankLineRead(
        id=line.id, source=line.source, booked_on=line.booked_on, booked_at=line.booked_at,
        amount_vnd=line.amount_vnd, description=line.description, reference=line.reference,
        counterparty=line.counterparty, post_office_id=line.post_office_id,
        outcome=decision.outcome, outcome_vi=vi, outcome_en=en, case_id=decision.case_id,
        item_code=item_code, expected_vnd=decision.expected_vnd, note=decision.note,
        decided_at=decision.decided_at,
    )  # fmt: skip


async def read_upload(file: UploadFile) -> bytes:
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"the file is above {MAX_FILE_BYTES // 1024 // 1024} MB", field="file")
    return data


@router.post("/bank/statements", status_code=201)
async def post_bank_statement(
    user: MoneyUser,
    session: SessionDep,
    now: NowDep,
    file: Annotated[UploadFile, File(description="The statement: CSV or .xlsx.")],
    post_office_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
) -> StatementImportRead:
    """Import a bank statement. Lines seen before (this file or another) change nothing;
    unreadable rows are listed in ``errors`` beside the lines that were read."""
    data = await read_upload(file)
    result = import_statement(session, data=data, filename=file.filename, user=user, at=now,
                              post_office_id=post_office_id)  # fmt: skip
    return StatementImportRead(
        statement_id=result.statement.id, already_imported=result.already_imported,
        bank=result.statement.bank, account_no=result.statement.account_no,
        lines_new=len(result.new), lines_known=result.known,
        debits_skipped=result.statement.debits_skipped, outcomes=result.counts(),
        errors=[LineErrorRead(line=e.line, column=e.column, reason_vi=e.reason_vi,
                              reason_en=e.reason_en) for e in result.errors],
        lines=[line_read(session, o.line, o.decision) for o in result.new],
    )  # fmt: skip


@router.get("/bank/queue")
def get_queue(user: MoneyUser, session: SessionDep) -> QueueRead:
    """Bank lines waiting for a decision, and cases owed money back, within the caller's
    reach (their post office, or their province)."""
    return QueueRead(
        lines=[line_read(session, q.line, q.decision, q.item_code)
               for q in open_lines(session, user)],
        refunds_due=[RefundDueRead(**r.__dict__) for r in refunds_due(session, user)],
    )  # fmt: skip


def _line_in_reach(session: Session, user: User, line_id: int) -> BankLine:
    line = session.get(BankLine, line_id)
    if line is None:
        raise NotFound(f"no bank line {line_id}", field="line_id")
    require_bank_line(user, line)
    return line


def case_named(session: Session, user: User, item_code: str | None, case_id: int | None) -> int:
    """The case a supervisor names by item ID (what they read on a label) or by number; one
    they may see, or 404 (another post office's case is not theirs to know about)."""
    if item_code:
        try:
            code = validate_item_id(item_code)
        except InvalidCode as exc:
            raise InvalidInput(str(exc), field="item_code") from exc
        found = session.scalar(select(Item.case_id).where(Item.code == code))
        if found is None:
            raise NotFound(f"no case carries item {code}", field="item_code")
        case_id = found
    if case_id is None:
        raise InvalidInput("name the case: item_code or case_id", field="item_code")
    row = session.execute(
        select(Case, Booking).join(Booking, Booking.id == Case.booking_id).where(Case.id == case_id)
    ).first()
    if row is None or not may_see_case(user, row[1], row[0]):
        raise NotFound(f"no case {case_id}", field="case_id")
    return case_id


@router.post("/bank/lines/{line_id}/match")
def post_match_line(
    line_id: int, payload: MatchCreate, user: MoneyUser, session: SessionDep, now: NowDep
) -> BankLineRead:
    """One click: this queued line pays that case (a payment with its receipt)."""
    _line_in_reach(session, user, line_id)
    case_id = case_named(session, user, payload.item_code, payload.case_id)
    decision = match_line(session, line_id, case_id, at=now, actor_user_id=user.id,
                          note=payload.note)  # fmt: skip
    return line_read(session, session.get_one(BankLine, line_id), decision)


@router.post("/bank/lines/{line_id}/refund")
def post_refund_line(
    line_id: int, payload: RefundCreate, user: MoneyUser, session: SessionDep, now: NowDep
) -> BankLineRead:
    """One click: send this queued line's money back to its sender."""
    line = _line_in_reach(session, user, line_id)
    decision = refund_line(session, line.id, at=now, actor_user_id=user.id, note=payload.note)
    return line_read(session, line, decision)


@router.post("/bank/cases/{case_id}/refund")
def post_refund_case(
    case_id: int, payload: RefundCreate, user: MoneyUser, session: SessionDep, now: NowDep
) -> CaseRefundRead:
    """One click: refund what a case is owed back (a cancelled booking paid by VietQR)."""
    case_named(session, user, None, case_id)
    amount = refund_case(session, case_id, at=now, actor_user_id=user.id, note=payload.note)
    return CaseRefundRead(case_id=case_id, refunded_vnd=amount)


def reconciliation_for(
    session: Session, user: User, day: date, post_office_id: int
) -> Reconciliation:
    require_post_office(user, post_office_id, "post office", "post_office_id")
    return reconcile(session, day=day, post_office_id=post_office_id)


def reconciliation_read(report: Reconciliation) -> ReconciliationRead:
    return ReconciliationRead(
        day=report.day, post_office_id=report.post_office_id,
        post_office_name=report.post_office_name, balanced=report.balanced,
        collected_by_method=report.collected_by_method,
        collected_by_line=report.collected_by_line, receipts_count=report.receipts_count,
        handed_to_agency_vnd=report.handed_to_agency_vnd, in_till_vnd=report.in_till_vnd,
        with_couriers_vnd=report.with_couriers_vnd, bank_lines_vnd=report.bank_lines_vnd,
        bank_lines_count=report.bank_lines_count, refunds_paid_vnd=report.refunds_paid_vnd,
        couriers=[CourierRowRead(**c.__dict__) for c in report.couriers],
        offices=[OfficeRowRead(**o.__dict__) for o in report.offices],
        checks=[CheckRead(name=c.name, label_vi=c.label_vi, label_en=c.label_en,
                          expected_vnd=c.expected_vnd, actual_vnd=c.actual_vnd, ok=c.ok,
                          detail=c.detail) for c in report.checks],
        exceptions=[ExceptionRead(**e.__dict__) for e in report.exceptions],
    )  # fmt: skip


@router.get("/reconciliation")
def get_reconciliation(
    user: MoneyUser,
    session: SessionDep,
    date: date,  # noqa: A002  the query parameter's name, as the CLI's --date
    post_office_id: int,
) -> ReconciliationRead:
    """A day of one post office: collected by method, handed to the agency, in the till,
    with couriers, in the bank; the checks and the open exceptions."""
    return reconciliation_read(reconciliation_for(session, user, date, post_office_id))


@router.get(
    "/reconciliation.{fmt}",
    response_class=Response,
    responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()},
                     "description": "The reconciliation as a file."}},
)  # fmt: skip
def get_reconciliation_file(
    fmt: Literal["csv", "xlsx", "pdf"],
    user: MoneyUser,
    session: SessionDep,
    date: date,  # noqa: A002
    post_office_id: int,
) -> Response:
    report = reconciliation_for(session, user, date, post_office_id)
    data = pdf_file(report) if fmt == "pdf" else table_file(report, fmt)
    name = f"doi-soat-{report.day.isoformat()}-po{report.post_office_id}.{fmt}"
    return Response(data, media_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


# -- the bank's signed notification -----------------------------------------------------------


def calling_bank(
    request: Request,
    body: Annotated[bytes, Depends(raw_body)],
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> keys.VerifiedBank:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    verified = keys.verify_request(
        session,
        settings,
        SignedRequest(request.method, path, request.headers, body),
        now=now,
    )
    spend_nonce(request.app.state.sessionmaker, settings, key_id=verified.key.key_id,
                nonce=verified.nonce, signature=verified.signature, now=now)  # fmt: skip
    return verified


@bank_router.post("/notifications")
def post_bank_notification(
    payload: BankNotification,
    bank: Annotated[keys.VerifiedBank, Depends(calling_bank)],
    session: SessionDep,
    now: NowDep,
) -> BankNotificationRead:
    """One credit on the account the key reports on. The reference is the line's identity:
    the same reference again answers the first result with ``created: false``."""
    if payload.account_no.strip() != bank.key.account_no:
        raise Forbidden("this key reports on another account", field="account_no")
    outcome = notified_line(
        session, key_id=bank.key.key_id, account_no=bank.key.account_no,
        province_code=bank.key.province_code, reference=payload.reference,
        amount_vnd=payload.amount_vnd, description=payload.description,
        booked_at=payload.booked_at, counterparty=payload.counterparty, at=now,
    )  # fmt: skip
    line = line_read(session, outcome.line, outcome.decision)
    return BankNotificationRead(created=outcome.created, line=line)
