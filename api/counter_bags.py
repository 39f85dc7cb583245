"""Bags at the counter (/counter/bags): open one, scan items into it (USB scanner + Enter),
seal it to the post office it goes to, print its manifest (bảng kê), send it off. The bag is
the courier app's (core.courier.bags); packing and departing are ledger scans
(core.counter.bags)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from api.counter import ClerkUser, _common, _flash, _scan_refusal, redirect_back
from api.web import attempt, refusal_text, render
from core.counter.bags import pack, send_off
from core.counter.reception import counter_post_office
from core.courier.bags import bag_contents, bag_destinations, get_bag, open_bag, seal_bag
from core.custody.commands import ScanResult
from core.custody.models import Bag
from core.errors import DomainError, InvalidInput
from core.identity.service import actor_for
from core.places.models import PostOffice
from edge.deps import NowDep, SessionDep, SettingsDep

router = APIRouter(prefix="/counter/bags", include_in_schema=False)


@router.post("")
def new_bag(user: ClerkUser, session: SessionDep, now: NowDep) -> Response:
    counter_post_office(user)
    bag = open_bag(session, actor_for(user), now=now)
    return redirect_back(f"/counter/bags/{bag.code}")


@router.get("/{bag_code}", response_class=HTMLResponse)
def bag_page(request: Request, bag_code: str, user: ClerkUser, session: SessionDep) -> Response:
    found = attempt(session, lambda: get_bag(session, actor_for(user), bag_code))
    if isinstance(found, DomainError):
        refused = {**_common(session, user), "detail": refusal_text(request, found)}
        return render(request, "counter/refused.html", refused, status_code=404)
    counter_post_office(user)
    context: dict[str, Any] = {
        **_common(session, user),
        "bag": found,
        "items": bag_contents(session, found),
        # The province's post offices, and the far end of its items addressed elsewhere.
        "destinations": bag_destinations(session, found),
        "destination": session.get(PostOffice, found.destination_post_office_id)
        if found.destination_post_office_id
        else None,
        "flash": _flash(request),
    }
    return render(request, "counter/bag.html", context)


def _answered(request: Request, here: str, done: ScanResult | DomainError, ok: str) -> Response:
    if isinstance(done, DomainError):
        return redirect_back(here, error=refusal_text(request, done), field=done.field)
    if done.outcome != "accepted":
        return redirect_back(here, error=_scan_refusal(request, done), field="code")
    return redirect_back(here, ok=ok)


@router.post("/{bag_code}/items")
def bag_item(
    request: Request,
    bag_code: str,
    user: ClerkUser,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    code: Annotated[str, Form()] = "",
) -> Response:
    """One scanner read: the item goes into the bag (a ``bagged`` event)."""
    done = attempt(session, lambda: pack(session, settings, user, bag_code, code, now=now))
    return _answered(request, f"/counter/bags/{bag_code}", done, f"packed:{code.strip()}")


@router.post("/{bag_code}/seal")
def bag_seal(
    request: Request,
    bag_code: str,
    user: ClerkUser,
    session: SessionDep,
    now: NowDep,
    seal_number: Annotated[str, Form()] = "",
    destination_post_office_id: Annotated[str, Form()] = "",
) -> Response:
    """Seal it to the post office it goes to (its manifest names both)."""
    here = f"/counter/bags/{bag_code}"

    def seal() -> Bag:
        counter_post_office(user)
        raw = destination_post_office_id.strip()
        if not raw.isdigit() or len(raw) > 9:
            raise InvalidInput("choose the post office the bag goes to",
                               field="destination_post_office_id",
                               reason="bag.choose_destination")  # fmt: skip
        return seal_bag(session, actor_for(user), bag_code, seal_number, now=now,
                        destination_post_office_id=int(raw))  # fmt: skip

    sealed = attempt(session, seal)
    if isinstance(sealed, DomainError):
        return redirect_back(here, error=refusal_text(request, sealed), field=sealed.field)
    return redirect_back(here, ok="sealed")


@router.post("/{bag_code}/depart")
def bag_depart(
    request: Request,
    bag_code: str,
    user: ClerkUser,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """The sealed bag leaves the post office (``departed`` on each item in it)."""
    done = attempt(session, lambda: send_off(session, settings, user, bag_code, now=now))
    return _answered(request, f"/counter/bags/{bag_code}", done, "departed")
