"""Citizen messages for staff: delivery status by channel, and a retry for dead ones.

``/api/v1/admin/messages`` is the JSON API (bearer token or session cookie); ``/staff/messages``
is the page. Both call ``core.outbox.status``, which decides who may look and what may be
retried.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from api.staff import staff_user
from api.web import page_user, refusal_text, render
from core.errors import DomainError
from core.identity.models import User
from core.outbox.citizen import CHANNEL_LABELS, SUBJECTS
from core.outbox.status import (
    CHANNELS,
    STAFF_STATUSES,
    MessageView,
    list_messages,
    retry_message,
)
from edge.deps import NowDep, SessionDep
from edge.errors import status_for

router = APIRouter(prefix="/api/v1/admin/messages", tags=["admin"])
page_router = APIRouter(include_in_schema=False)
MessageStaff = Annotated[User, Depends(staff_user("messages"))]
MessageStaffPage = Annotated[User, Depends(page_user("messages"))]

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "queued": ("Đang chờ gửi", "Queued"),
    "failed": ("Gửi lỗi, sẽ thử lại", "Failed, will retry"),
    "sent": ("Đã gửi", "Sent"),
    "dead": ("Đã ngừng gửi", "Dead"),
    "rerouted": ("Chuyển kênh khác", "Rerouted"),
}


@router.get("")
def get_messages(
    user: MessageStaff,
    session: SessionDep,
    channel: str | None = None,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[MessageView]:
    """Citizen messages, newest first; filter by channel (sms, zalo, email) and status
    (queued, failed, sent, dead, rerouted). Recipients are masked."""
    return list_messages(session, user, channel=channel, status=status, before_id=before_id,
                         limit=limit)  # fmt: skip


@router.post("/{message_id}/retry")
def post_retry_message(
    message_id: int, user: MessageStaff, session: SessionDep, now: NowDep
) -> MessageView:
    """Queue a dead message again (same request id, fresh attempts). 404 if there is no such
    citizen message; 422 if it is not dead or carries a one-time code."""
    return retry_message(session, user, message_id, now=now)


def _page(
    request: Request,
    session: Session,
    user: User,
    channel: str,
    status: str,
    refusal: DomainError | None = None,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "channel": channel, "status": status, "channels": CHANNELS, "statuses": STAFF_STATUSES,
        "channel_labels": CHANNEL_LABELS, "status_labels": STATUS_LABELS,
        "kind_labels": SUBJECTS, "error": refusal_text(request, refusal) if refusal else None,
        "retried": request.query_params.get("retried"),
        "messages": [],
    }  # fmt: skip
    try:
        context["messages"] = list_messages(session, user, channel=channel or None,
                                            status=status or None)  # fmt: skip
    except DomainError as exc:
        refusal = exc
        context["error"] = refusal_text(request, exc)
    # The page carries the refusal, with the status its kind has everywhere (unknown message 404).
    return render(request, "staff/messages.html", context,
                  status_code=status_for(refusal) if refusal else 200)  # fmt: skip


@page_router.get("/staff/messages", response_class=HTMLResponse)
def messages_page(
    request: Request,
    user: MessageStaffPage,
    session: SessionDep,
    channel: str = "",
    status: str = "",
) -> HTMLResponse:
    return _page(request, session, user, channel, status)


@page_router.post("/staff/messages/{message_id}/retry", response_model=None)
def messages_page_retry(
    message_id: int,
    request: Request,
    user: MessageStaffPage,
    session: SessionDep,
    now: NowDep,
    channel: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        retry_message(session, user, message_id, now=now)
    except DomainError as exc:
        return _page(request, session, user, channel, status, exc)
    query = urlencode({"channel": channel, "status": status, "retried": message_id})
    return RedirectResponse(f"/staff/messages?{query}", status_code=303)
