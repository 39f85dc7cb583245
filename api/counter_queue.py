"""The counter's queue: the clerk calls numbers (/counter/queue/...), and the public ticket
page (/q/{post_office_id}) a kiosk shows, or the citizen's phone opens from the QR on the
wall. The rules are core.counter.queue's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.counter import ClerkUser, redirect_back
from api.web import attempt, refusal_text, render
from core.counter.models import CounterTicket
from core.counter.queue import ahead_of, call_next, call_number, finish_serving, take_ticket
from core.errors import DomainError, InvalidInput, NotFound
from core.places.models import PostOffice
from edge.deps import NowDep, SessionDep, SettingsDep
from labels.codes import qr_svg
from vntime import VN

router = APIRouter(prefix="/counter", include_in_schema=False)
kiosk_router = APIRouter(prefix="/q", include_in_schema=False)

# -- the queue ------------------------------------------------------------------------------


@router.post("/queue/next")
def queue_next(
    request: Request,
    user: ClerkUser,
    session: SessionDep,
    now: NowDep,
    counter_label: Annotated[str, Form()] = "",
) -> Response:
    called = attempt(session, lambda: call_next(session, user, counter_label=counter_label,
                                                now=now))  # fmt: skip
    if isinstance(called, DomainError):
        return redirect_back("/counter", error=refusal_text(request, called), field=called.field)
    return redirect_back("/counter", ok=f"called:{called.number}")


@router.post("/queue/call")
def queue_call(
    request: Request,
    user: ClerkUser,
    session: SessionDep,
    now: NowDep,
    number: Annotated[str, Form()] = "",
    counter_label: Annotated[str, Form()] = "",
) -> Response:
    """Call one number again after a citizen stepped away: a number already called is
    refused (and nothing changes)."""

    def call() -> CounterTicket:
        if not number.strip().isdigit():
            raise InvalidInput("type the ticket's number", field="number",
                               reason="counter.ticket_number")  # fmt: skip
        return call_number(session, user, int(number), counter_label=counter_label, now=now)

    called = attempt(session, call)
    if isinstance(called, DomainError):
        return redirect_back("/counter", error=refusal_text(request, called), field=called.field)
    return redirect_back("/counter", ok=f"called:{called.number}")


@router.post("/queue/done")
def queue_done(user: ClerkUser, session: SessionDep, now: NowDep) -> Response:
    finish_serving(session, user, now=now)
    return redirect_back("/counter", ok="done")


# -- the queue's ticket page (public: a kiosk, or a citizen's phone from the QR on the wall) --


def _post_office(session: Session, post_office_id: int) -> PostOffice | None:
    return session.get(PostOffice, post_office_id) if 0 < post_office_id < 2**31 else None


@kiosk_router.get("/{post_office_id}", response_class=HTMLResponse)
def ticket_page(request: Request, post_office_id: int, session: SessionDep) -> HTMLResponse:
    post = _post_office(session, post_office_id)
    if post is None:
        return render(request, "counter/ticket.html", {"post_office": None}, status_code=404)
    return render(request, "counter/ticket.html", {"post_office": post, "ticket": None})


@kiosk_router.post("/{post_office_id}", response_model=None)
def take(request: Request, post_office_id: int, session: SessionDep, now: NowDep) -> Response:
    taken = attempt(session, lambda: take_ticket(session, post_office_id, now=now))
    if isinstance(taken, DomainError):
        post = _post_office(session, post_office_id)
        status = 404 if post is None else 409
        return render(request, "counter/ticket.html",
                      {"post_office": post, "ticket": None,
                       "error": refusal_text(request, taken)}, status_code=status)  # fmt: skip
    return redirect_back(f"/q/{post_office_id}/{taken.number}")


@kiosk_router.get("/{post_office_id}/qr.svg", response_class=Response)
def ticket_qr(post_office_id: int, session: SessionDep, settings: SettingsDep) -> Response:
    """The QR to print and put on the wall: it opens the ticket page on a citizen's phone."""
    if _post_office(session, post_office_id) is None:
        raise NotFound(f"no post office {post_office_id}", field="post_office_id",
                       reason="counter.no_post_office")  # fmt: skip
    url = f"{settings.public_base_url.rstrip('/')}/q/{post_office_id}"
    return Response(qr_svg(url), media_type="image/svg+xml")


@kiosk_router.get("/{post_office_id}/{number}", response_class=HTMLResponse)
def ticket_status(
    request: Request, post_office_id: int, number: int, session: SessionDep, now: NowDep
) -> HTMLResponse:
    """The citizen's ticket: its number, how many are ahead, and the counter calling it."""
    post = _post_office(session, post_office_id)
    ticket = None
    if post is not None and 0 < number < 10_000:
        ticket = session.scalar(select(CounterTicket).where(
            CounterTicket.post_office_id == post.id, CounterTicket.number == number,
            CounterTicket.day == now.astimezone(VN).date()))  # fmt: skip
    if ticket is None:
        return render(request, "counter/ticket.html", {"post_office": post, "ticket": None,
                      "missing": True}, status_code=404)  # fmt: skip
    context = {"post_office": post, "ticket": ticket, "ahead": ahead_of(session, ticket)}
    return render(request, "counter/ticket.html", context)
