"""The money pages: the queue of bank lines and refunds with a statement upload
(``/money/bank``), and the day's reconciliation with its exports (``/money/reconciliation``).
Each form calls the same services as the JSON API, in a savepoint (``api.web.attempt``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.bank.endpoints import case_named, read_upload, reconciliation_for
from api.web import attempt, page_user, render, request_lang
from core.access import require_bank_line
from core.bankdesk.queue import open_lines, refunds_due
from core.errors import DomainError, InvalidInput, NotFound
from core.identity.models import User
from core.money.bank.matching import match_line, refund_case, refund_line
from core.money.bank.models import BankLine
from core.money.bank.queue import OUTCOME_LABELS
from core.money.bank.service import import_statement
from core.money.reconcile_files import LINE_LABELS, METHOD_LABELS, vnd
from core.places.models import PostOffice
from edge.deps import NowDep, SessionDep
from edge.errors import status_for
from edge.texts import text
from vntime import VN

page_router = APIRouter(prefix="/money", include_in_schema=False)
MoneyPage = Annotated[User, Depends(page_user("bank"))]


def _post_offices(session: Session, user: User) -> list[PostOffice]:
    from core.access import may_see_post_office

    return [
        po
        for po in session.scalars(select(PostOffice).order_by(PostOffice.code))
        if may_see_post_office(user, po.id)
    ]


def _queue_page(
    request: Request, session: Session, user: User, refusal: DomainError | None = None
) -> HTMLResponse:
    context: dict[str, Any] = {
        "lines": open_lines(session, user), "refunds": refunds_due(session, user),
        "labels": OUTCOME_LABELS, "vnd": vnd, "VN": VN,
        "post_offices": _post_offices(session, user), "user_post_office": user.post_office_id,
        "error": refusal.detail if refusal else None,
        "error_field": refusal.field if refusal else None,
        "done": _done_text(request),
    }  # fmt: skip
    return render(request, "money/queue.html", context,
                  status_code=status_for(refusal) if refusal else 200)  # fmt: skip


@page_router.get("/bank", response_class=HTMLResponse)
def queue_page(request: Request, user: MoneyPage, session: SessionDep) -> HTMLResponse:
    return _queue_page(request, session, user)


# What the page says after a form succeeded: the redirect carries the text's key and its
# figures (never the sentence), and the page reads them in its own language.
DONE_TEXTS = ("imported", "already_imported", "matched", "line_refunded", "case_refunded")


def _done(what: str, **params: object) -> RedirectResponse:
    query = urlencode({"done": what, **{k: str(v) for k, v in params.items()}})
    return RedirectResponse("/money/bank?" + query, status_code=303)


def _done_text(request: Request) -> str | None:
    what = request.query_params.get("done")
    if what not in DONE_TEXTS:
        return None
    lang = request_lang(request)
    asked = request.query_params
    params: dict[str, object] = {k: asked.get(k, "") for k in ("statement", "line", "item")}
    if what == "imported":
        counts = [(k, asked.get(k, "")) for k in OUTCOME_LABELS if asked.get(k, "").isdigit()]
        index = 0 if lang == "vi" else 1
        params.update(
            new=asked.get("new", "0"),
            known=asked.get("known", "0"),
            counts=", ".join(f"{OUTCOME_LABELS[k][index]}: {n}" for k, n in counts) or "—",
        )
        said = text("bank.done_imported", params, lang)
        unreadable = asked.get("unreadable", "")
        if unreadable.isdigit() and int(unreadable):
            said += " " + text("bank.done_unreadable", {"count": unreadable}, lang)
        return said
    if what == "case_refunded":
        amount = asked.get("amount", "")
        params.update(amount=vnd(int(amount)) if amount.isdigit() else amount,
                      case=asked.get("case", ""))  # fmt: skip
    return text(f"bank.done_{what}", params, lang)


@page_router.post("/bank/statements", response_model=None)
async def upload_statement(
    request: Request,
    user: MoneyPage,
    session: SessionDep,
    now: NowDep,
    file: Annotated[UploadFile, File()],
    post_office_id: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        data = await read_upload(file)
        chosen = int(post_office_id) if post_office_id.strip().isdigit() else None
    except DomainError as exc:
        return _queue_page(request, session, user, exc)
    result = attempt(session, lambda: import_statement(
        session, data=data, filename=file.filename, user=user, at=now, post_office_id=chosen,
    ))  # fmt: skip
    if isinstance(result, DomainError):
        return _queue_page(request, session, user, result)
    if result.already_imported:
        return _done("already_imported", statement=result.statement.id)
    return _done("imported", new=len(result.new), known=result.known,
                 unreadable=len(result.errors), **result.counts())  # fmt: skip


def _line(session: Session, user: User, line_id: int) -> BankLine:
    line = session.get(BankLine, line_id)
    if line is None:
        raise NotFound(f"no bank line {line_id}", field="line_id")
    require_bank_line(user, line)
    return line


@page_router.post("/bank/lines/{line_id}/match", response_model=None)
def match_line_page(
    line_id: int,
    request: Request,
    user: MoneyPage,
    session: SessionDep,
    now: NowDep,
    item_code: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    def act() -> str:
        _line(session, user, line_id)
        case_id = case_named(session, user, item_code or None, None)
        match_line(session, line_id, case_id, at=now, actor_user_id=user.id, note=note)
        return item_code

    result = attempt(session, act)
    if isinstance(result, DomainError):
        return _queue_page(request, session, user, result)
    return _done("matched", line=line_id, item=result)


@page_router.post("/bank/lines/{line_id}/refund", response_model=None)
def refund_line_page(
    line_id: int,
    request: Request,
    user: MoneyPage,
    session: SessionDep,
    now: NowDep,
    note: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    def act() -> None:
        _line(session, user, line_id)
        refund_line(session, line_id, at=now, actor_user_id=user.id, note=note)

    result = attempt(session, act)
    if isinstance(result, DomainError):
        return _queue_page(request, session, user, result)
    return _done("line_refunded", line=line_id)


@page_router.post("/bank/cases/{case_id}/refund", response_model=None)
def refund_case_page(
    case_id: int,
    request: Request,
    user: MoneyPage,
    session: SessionDep,
    now: NowDep,
    note: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    def act() -> int:
        case_named(session, user, None, case_id)
        return refund_case(session, case_id, at=now, actor_user_id=user.id, note=note)

    result = attempt(session, act)
    if isinstance(result, DomainError):
        return _queue_page(request, session, user, result)
    return _done("case_refunded", amount=result, case=case_id)


@page_router.get("/reconciliation", response_class=HTMLResponse)
def reconciliation_page(
    request: Request,
    user: MoneyPage,
    session: SessionDep,
    now: NowDep,
    date: str = "",  # noqa: A002  as the CLI's --date
    post_office_id: str = "",
) -> HTMLResponse:
    offices = _post_offices(session, user)
    chosen = int(post_office_id) if post_office_id.isdigit() else (
        user.post_office_id or (offices[0].id if offices else None))  # fmt: skip
    context: dict[str, Any] = {
        "post_offices": offices, "chosen": chosen, "report": None, "error": None, "vnd": vnd,
        "method_labels": METHOD_LABELS, "line_labels": LINE_LABELS,
    }  # fmt: skip
    try:
        day = _day(date, now)
        context["day"] = day
        if chosen is not None:
            context["report"] = reconciliation_for(session, user, day, chosen)
    except DomainError as exc:
        context["error"] = exc.detail
        context.setdefault("day", now.astimezone(VN).date())
        return render(request, "money/reconciliation.html", context, status_code=status_for(exc))
    return render(request, "money/reconciliation.html", context)


def _day(value: str, now: datetime) -> date:
    if not value.strip():
        return now.astimezone(VN).date()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    raise InvalidInput("a day is dd/mm/yyyy", field="date")
