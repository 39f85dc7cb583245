"""Hand-overs at offices and post offices, and bags, for the courier's phone.

The hand-over rules live in ``core.handovers.service``: the side that opens a sitting offers
(or asks for) the items, the other side confirms them one by one and completes it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.access import require_handover, require_side
from core.courier.bags import bag_contents, get_bag, open_bag, seal_bag
from core.courier.sync import sync
from core.custody.commands import ScanCommand
from core.custody.models import Bag
from core.errors import InvalidInput, code_refusal
from core.handovers import service as handovers
from core.handovers.models import Handover
from core.inputs import Count
from core.settings import Settings
from edge.deps import NowDep, SettingsDep
from edge.errors import CallerLang
from labels.errors import InvalidCode
from labels.s10 import validate_item_id
from mobile_api.deps import Caller, FieldCaller, SessionDep
from mobile_api.endpoints import result_out
from mobile_api.schemas import SHA256, Receiver, ScanResultOut

router = APIRouter(prefix="/mobile/v1", tags=["mobile"])


class HandoverOpenIn(BaseModel):
    counterparty: Receiver = Field(
        description="office:ID, post_office:ID or courier:ID of the items' province"
    )
    direction: Literal["give", "collect"] = Field(
        description="give: the caller hands these items over (dossiers to an office). "
        "collect: the caller asks to receive them (results at the desk)"
    )
    item_codes: list[str] = Field(default_factory=list, max_length=500)
    bag_codes: list[str] = Field(
        default_factory=list, max_length=50, description="Bags whose items join the list"
    )
    fees_declared_vnd: Count = Field(
        default=0,
        description="The total of state fees handed over; alone only when 0 or one item, "
        "else give item_fees (the total must then be their sum)",
    )
    item_fees: dict[str, Count] | None = Field(
        default=None,
        max_length=500,
        description="State fees (phí, lệ phí) handed over with each dossier, by item code",
    )
    note: str | None = Field(default=None, max_length=500)


class LineOut(BaseModel):
    item_code: str
    outcome: str
    accepted: bool | None
    reason: str | None
    fees_declared_vnd: int
    fees_confirmed_vnd: int | None


class HandoverOut(BaseModel):
    id: int
    code: str
    status: str
    from_party: str
    from_name: str
    to_party: str
    to_name: str
    opened_by_party: str
    confirmed_by_party: str
    fees_declared_vnd: int
    fees_confirmed_vnd: int | None
    lines: list[LineOut]
    counts: dict[str, int]
    refused: list[ScanResultOut] = Field(
        default_factory=list, description="Items that could not be listed, and why"
    )


def _view(
    session: Session, handover_id: int, refused: list[ScanResultOut] | None = None
) -> HandoverOut:
    view = handovers.handover_view(session, handover_id)
    handover = session.get(Handover, handover_id)
    assert handover is not None  # handover_view has just found it
    return HandoverOut(
        id=view.id,
        code=view.code,
        status=view.status,
        from_party=view.from_party,
        from_name=view.from_name,
        to_party=view.to_party,
        to_name=view.to_name,
        opened_by_party=view.opened_by_party,
        confirmed_by_party=handovers.confirming_party(handover),
        fees_declared_vnd=view.fees_declared_vnd,
        fees_confirmed_vnd=view.fees_confirmed_vnd,
        lines=[
            LineOut(
                item_code=ln.item_code,
                outcome=ln.outcome,
                accepted=ln.accepted,
                reason=ln.reason,
                fees_declared_vnd=ln.fees_declared_vnd,
                fees_confirmed_vnd=ln.fees_confirmed_vnd,
            )  # fmt: skip
            for ln in view.lines
        ],
        counts=view.counts,
        refused=refused or [],
    )


def _taking_part(session: Session, caller: Caller, handover_id: int) -> None:
    view = handovers.handover_view(session, handover_id)
    require_side(caller.actor.party, view.from_party, view.to_party)


@router.post("/handovers", response_model=HandoverOut, status_code=201)
def open_handover(
    body: HandoverOpenIn, caller: FieldCaller, session: SessionDep, now: NowDep, lang: CallerLang
) -> HandoverOut:
    """Open a hand-over: every listed item (and every item in the listed bags) is offered to
    the receiver in the ledger; custody moves only as the other side confirms each."""
    me = caller.actor.party
    giver, receiver = (
        (me, body.counterparty) if body.direction == "give" else (body.counterparty, me)
    )
    codes = list(body.item_codes)
    for bag_code in body.bag_codes:
        codes += bag_contents(session, get_bag(session, caller.actor, bag_code))
    opened = handovers.open_handover(
        session,
        caller.actor,
        giver=giver,
        receiver=receiver,
        item_codes=codes,
        now=now,
        fees_declared_vnd=body.fees_declared_vnd,
        item_fees=body.item_fees,
        note=body.note,
    )
    return _view(session, opened.handover.id, [result_out(r, lang) for r in opened.refused])


@router.get("/handovers", response_model=list[HandoverOut])
def my_handovers(
    caller: FieldCaller, session: SessionDep, status: Literal["open", "completed"] = "open"
) -> list[HandoverOut]:
    return [
        _view(session, h.id)
        for h in handovers.list_handovers(session, caller.actor.party, status=status)
    ]


@router.get("/handovers/{handover_id}", response_model=HandoverOut)
def get_handover(handover_id: int, caller: FieldCaller, session: SessionDep) -> HandoverOut:
    """For its two sides and the dispatchers of a post office one side belongs to: the same
    rule as the printed record (``core.access.may_see_handover``). Only the sides act on it."""
    view = _view(session, handover_id)
    handover = session.get(Handover, handover_id)
    assert handover is not None  # _view has just found it
    require_handover(session, caller.user, handover)
    return view


class ReceiveIn(BaseModel):
    code: str = Field(min_length=1, max_length=32)


@router.post("/handovers/{handover_id}/items", response_model=HandoverOut)
def receive(
    handover_id: int, body: ReceiveIn, caller: FieldCaller, session: SessionDep, now: NowDep
) -> HandoverOut:
    """The confirming side scans one item (e.g. the courier taking results the desk lists)."""
    handovers.receive_item(session, caller.actor, handover_id, body.code, now=now)
    return _view(session, handover_id)


class MarkIn(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    outcome: Literal["damaged", "seal_broken", "declined"]
    reason: str = Field(min_length=1, max_length=300)
    accept: bool = Field(description="Take it anyway (damaged, noted) or leave it with the giver")


@router.post("/handovers/{handover_id}/lines", response_model=HandoverOut)
def mark(
    handover_id: int, body: MarkIn, caller: FieldCaller, session: SessionDep, now: NowDep
) -> HandoverOut:
    handovers.mark_line(
        session,
        caller.actor,
        handover_id,
        body.code,
        outcome=body.outcome,
        reason=body.reason,
        accept=body.accept,
        now=now,
    )
    return _view(session, handover_id)


class CompleteIn(BaseModel):
    fees_confirmed_vnd: int | None = Field(
        default=None,
        ge=0,
        description="Total received; omitted or equal to the declared total confirms every "
        "dossier as declared, 0 confirms none; anything else needs item_fees",
    )
    item_fees: dict[str, Count] | None = Field(
        default=None, max_length=500, description="Fees received with each dossier, by item code"
    )
    giver_signature_sha256: str = Field(pattern=SHA256, description="Both sides sign")
    receiver_signature_sha256: str = Field(pattern=SHA256, description="Both sides sign")
    note: str | None = Field(default=None, max_length=500)


@router.post("/handovers/{handover_id}/complete", response_model=HandoverOut)
def complete(
    handover_id: int, body: CompleteIn, caller: FieldCaller, session: SessionDep, now: NowDep
) -> HandoverOut:
    """Close the sitting: items never scanned are declined as missing and stay with the giver."""
    handovers.complete_handover(
        session,
        caller.actor,
        handover_id,
        fees_confirmed_vnd=body.fees_confirmed_vnd,
        item_fees=body.item_fees,
        now=now,
        giver_signature_sha256=body.giver_signature_sha256,
        receiver_signature_sha256=body.receiver_signature_sha256,
        note=body.note,
    )
    return _view(session, handover_id)


def validated_code(raw: str) -> str:
    try:
        return validate_item_id(raw)
    except InvalidCode as exc:
        raise code_refusal(exc, "code") from exc


# -- bags --------------------------------------------------------------------------------


class BagOut(BaseModel):
    code: str
    status: str
    seal_number: str | None
    items: list[str]


def _bag_out(session: Session, bag: Bag) -> BagOut:
    return BagOut(
        code=bag.code,
        status=bag.status,
        seal_number=bag.seal_number,
        items=bag_contents(session, bag),
    )


@router.post("/bags", response_model=BagOut, status_code=201)
def new_bag(caller: FieldCaller, session: SessionDep, now: NowDep) -> BagOut:
    """Open an empty bag at the caller's post office; print its code on the bag label."""
    return _bag_out(session, open_bag(session, caller.actor, now=now))


@router.get("/bags/{bag_code}", response_model=BagOut)
def show_bag(bag_code: str, caller: FieldCaller, session: SessionDep) -> BagOut:
    return _bag_out(session, get_bag(session, caller.actor, bag_code))


class BagItemIn(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    client_event_id: str | None = Field(default=None, description="UUID; makes retries safe")
    seal_number: str | None = Field(
        default=None,
        max_length=40,
        description="Taking an item out of a sealed bag: the seal number read off the bag",
    )


def _bag_event(
    caller: Caller,
    session: Session,
    settings: Settings,
    now: datetime,
    kind: str,
    bag_code: str,
    body: BagItemIn,
) -> ScanResultOut:
    bag = get_bag(session, caller.actor, bag_code)
    if kind == "unbagged" and validated_code(body.code) not in bag_contents(session, bag):
        raise InvalidInput(f"{body.code} is not in bag {bag.code}", field="code")
    key = uuid.UUID(body.client_event_id) if body.client_event_id else uuid.uuid4()
    command = ScanCommand(
        kind=kind,
        code=body.code,
        occurred_at=now,
        client_event_id=key,
        details={"bag_code": bag.code}
        | ({"seal_number": body.seal_number} if body.seal_number else {}),
    )
    (result,) = sync(session, settings, caller.actor, [command], now=now)
    return result_out(result)


@router.post("/bags/{bag_code}/items", response_model=ScanResultOut)
def add_to_bag(
    bag_code: str,
    body: BagItemIn,
    caller: FieldCaller,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> ScanResultOut:
    """Pack an item (a ``bagged`` event); the answer is the ledger's, as in a sync batch."""
    return _bag_event(caller, session, settings, now, "bagged", bag_code, body)


@router.post("/bags/{bag_code}/items/remove", response_model=ScanResultOut)
def remove_from_bag(
    bag_code: str,
    body: BagItemIn,
    caller: FieldCaller,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> ScanResultOut:
    return _bag_event(caller, session, settings, now, "unbagged", bag_code, body)


class SealIn(BaseModel):
    seal_number: str = Field(min_length=1, max_length=40)
    destination_post_office_id: int | None = Field(
        default=None,
        ge=1,
        le=2_147_483_647,
        description="The post office the bag is sent to (printed on its manifest); arriving "
        "anywhere else is an exception for a dispatcher, not an arrival.",
    )


@router.post("/bags/{bag_code}/seal", response_model=BagOut)
def seal(
    bag_code: str, body: SealIn, caller: FieldCaller, session: SessionDep, now: NowDep
) -> BagOut:
    """Seal the bag (a ``bag_sealed`` event on each item in it, with the seal number); hand it
    over by listing it in POST /mobile/v1/handovers (bag_codes)."""
    sealed = seal_bag(session, caller.actor, bag_code, body.seal_number, now=now,
                      destination_post_office_id=body.destination_post_office_id)  # fmt: skip
    return _bag_out(session, sealed)
