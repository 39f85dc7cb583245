"""Corrections (EPCIS errorDeclaration) and the fold that derives state from events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.custody.commands import ScanCommand, ScanResult
from core.custody.models import Bag, CustodyEvent, Item, ItemState
from core.custody.parties import Actor, parse_receiver, receiver_problem, receiver_provinces
from core.custody.rows import Target, event_row, now_utc, offset_of, store_state, write_batch
from core.custody.transitions import (
    ERROR_DECLARED,
    ERROR_REASONS,
    TRANSITIONS,
    Custody,
    EventFacts,
    ItemStateValue,
    Transition,
    apply,
)
from core.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound

# Who may declare a ledger event wrong (core.access's "corrections" area lets the same roles
# reach the pages and API that do it).
CORRECTING_ROLES = frozenset({"dispatcher", "province_supervisor", "admin"})


def declare_error(session: Session, actor: Actor, command: ScanCommand) -> ScanResult:
    """Record that an earlier event was wrong (EPCIS errorDeclaration) and re-derive state.

    The earlier event stays as it was. The item's state is folded again without it; if a
    later event only made sense because of it, the declaration is refused: declare the later
    one first, so the record never holds a state that no sequence of events explains.
    """
    if actor.role not in CORRECTING_ROLES:
        raise Forbidden(
            "only a dispatcher, a province supervisor or an admin can declare an event wrong",
            field="kind",
        )
    if command.corrects_event_id is None:
        raise InvalidInput("say which event is wrong", field="corrects_event_id")
    reason = command.details.get("reason")
    if reason not in ERROR_REASONS:
        raise InvalidInput(
            f"reason must be one of {', '.join(ERROR_REASONS)}", field="details.reason"
        )
    wrong = session.scalar(
        select(CustodyEvent).where(CustodyEvent.event_id == command.corrects_event_id)
    )
    if wrong is None:
        raise NotFound(f"no event {command.corrects_event_id}", field="corrects_event_id")
    if wrong.kind == ERROR_DECLARED:
        raise InvalidInput("an error declaration cannot itself be declared wrong",
                           field="corrects_event_id")  # fmt: skip
    state_row = session.execute(
        select(ItemState).where(ItemState.item_id == wrong.item_id).with_for_update()
    ).scalar_one()
    item = session.get(Item, wrong.item_id)
    assert item is not None
    events = list(
        session.scalars(
            select(CustodyEvent)
            .where(CustodyEvent.item_id == wrong.item_id)
            .order_by(CustodyEvent.seq)
        )
    )
    if wrong.event_id in declared_event_ids(events):
        raise Conflict("that event is already declared wrong", field="corrects_event_id")
    if wrong.seq == 1:
        raise Conflict("an item's first event cannot be declared wrong; declare it lost",
                       field="corrects_event_id")  # fmt: skip
    try:
        state = fold(item.kind, events, extra_declared={wrong.event_id})
    except InvalidTransition as exc:
        raise Conflict(
            f"later events depend on {wrong.event_id}; declare them wrong first ({exc.detail})",
            field="corrects_event_id",
        ) from exc
    recorded_at = now_utc()
    target = Target(
        item_id=item.id, code=item.code, kind=item.kind, case_id=item.case_id,
        pickup_courier_id=None, delivery_courier_id=None, booking_post_office_id=None,
        booking_citizen_id=None, state=state, last_seq=state_row.last_seq,
        last_hash=state_row.last_hash, last_event_at=state_row.last_event_at,
    )  # fmt: skip
    row = event_row(
        target=target, rule=None, actor=actor, command=command,
        occurred_offset=offset_of(command.occurred_at), from_party=wrong.from_party,
        to_party=wrong.to_party, bag_code=_bag_code(session, wrong.bag_id), bag_id=wrong.bag_id,
        details={**command.details, "corrected_kind": wrong.kind}, recorded_at=recorded_at,
        kind=ERROR_DECLARED, biz_step=wrong.biz_step, disposition=wrong.disposition,
        upu_code=None,
    )  # fmt: skip
    write_batch(session, [row], [], [], recorded_at)
    store_state(state_row, state, row["seq"], row["hash"], command.occurred_at, recorded_at)
    session.flush()
    return ScanResult(
        outcome="accepted",
        code=item.code,
        events=[{"item": item.code, "event_id": str(row["event_id"]), "seq": row["seq"],
                 "status": state.status, "custodian": state.custodian, "pending_to": None}],
    )  # fmt: skip


def check_corrective(
    session: Session, wrong: CustodyEvent, command: ScanCommand
) -> tuple[Transition, dict[str, Any], dict[str, Any]]:
    """What can be said of a corrective event before anything is written: its rule, and the
    details and evidence it will carry (the wrong event's evidence unless new is given)."""
    rule = TRANSITIONS[wrong.kind]
    if rule.service_only:
        raise InvalidInput(f"a {wrong.kind} is recorded only by its own service",
                           field="corrective.kind")  # fmt: skip
    details = dict(command.details)
    evidence = dict(command.evidence) or dict(wrong.evidence)
    for name in sorted(rule.required_details):
        present = evidence.get("proof") if name == "proof" else details.get(name)
        if name != "bag_id" and not present:
            raise InvalidInput(f"the corrective {wrong.kind} needs details.{name}",
                               field=f"corrective.details.{name}")  # fmt: skip
    return rule, details, evidence


def restate(
    session: Session, corrector: Actor, wrong: CustodyEvent, command: ScanCommand
) -> ScanResult:
    """Record the corrective event of ``wrong`` (already declared wrong): the same kind and
    the same business parties as the wrong event (the courier who noted the damage still
    noted it), with the corrected time, details and receiver, recorded by the corrector
    (``actor_user_id`` and ``actor_role`` are theirs, so the ledger shows who restated it).

    The role table is not asked whether the corrector could have done the event themselves
    (a dispatcher never records a courier's delivery attempt); the state machine is: the
    restated event must fit the state re-derived without the wrong one.
    """
    rule, details, evidence = check_corrective(session, wrong, command)
    state_row = session.execute(
        select(ItemState).where(ItemState.item_id == wrong.item_id).with_for_update()
    ).scalar_one()
    item = session.get(Item, wrong.item_id)
    assert item is not None
    events = list(session.scalars(select(CustodyEvent).where(CustodyEvent.item_id == item.id)
                                  .order_by(CustodyEvent.seq)))  # fmt: skip
    state = fold(item.kind, events)
    if command.to_party:
        parse_receiver(command.to_party, field="corrective.to_party")
        if receiver_problem(command.to_party, receiver_provinces(session, [command.to_party]),
                            None):  # fmt: skip
            raise InvalidInput(f"{command.to_party[:40]} cannot receive items",
                               field="corrective.to_party")  # fmt: skip
    to_party = command.to_party or wrong.to_party
    if rule.custody not in (Custody.OFFER, Custody.GIVE, Custody.ARRIVE):
        to_party = None
    restated = Actor(user_id=corrector.user_id, role=corrector.role, party=wrong.actor_party)
    try:
        new_state = apply(state, EventFacts(kind=wrong.kind, item_kind=item.kind,
                                            actor_party=wrong.actor_party,
                                            from_party=state.custodian, to_party=to_party,
                                            bag_id=wrong.bag_id))  # fmt: skip
    except InvalidTransition as exc:
        raise Conflict(f"the corrective event does not fit: {exc.detail}",
                       field="corrective") from exc  # fmt: skip
    recorded_at = now_utc()
    target = Target(
        item_id=item.id, code=item.code, kind=item.kind, case_id=item.case_id,
        pickup_courier_id=None, delivery_courier_id=None, booking_post_office_id=None,
        booking_citizen_id=None, state=new_state, last_seq=state_row.last_seq,
        last_hash=state_row.last_hash, last_event_at=state_row.last_event_at,
    )  # fmt: skip
    row = event_row(
        target=target, rule=rule, actor=restated,
        command=replace(command, code=item.code, evidence=evidence,
                        corrects_event_id=wrong.event_id),
        occurred_offset=offset_of(command.occurred_at), from_party=state.custodian,
        to_party=to_party if to_party is not None else new_state.custodian,
        bag_code=_bag_code(session, wrong.bag_id), bag_id=wrong.bag_id, details=details,
        recorded_at=recorded_at,
    )  # fmt: skip
    write_batch(session, [row], [], [], recorded_at)
    store_state(state_row, new_state, row["seq"], row["hash"], command.occurred_at, recorded_at)
    session.flush()
    return ScanResult(
        outcome="accepted", code=item.code, client_event_id=command.client_key,
        events=[{"item": item.code, "event_id": str(row["event_id"]), "seq": row["seq"],
                 "status": new_state.status, "custodian": new_state.custodian,
                 "pending_to": new_state.pending_to}],
    )  # fmt: skip


def _bag_code(session: Session, bag_id: int | None) -> str | None:
    """The declaration repeats the wrong event's bag, and the chain hashes a bag by its code
    (as ``hoso ledger verify`` recomputes it from the bag row)."""
    if bag_id is None:
        return None
    return session.scalar(select(Bag.code).where(Bag.id == bag_id))


class FoldedEvent(Protocol):
    """What the fold reads of an event: a ``CustodyEvent``, or a plain row (verify)."""

    @property
    def kind(self) -> str: ...
    @property
    def event_id(self) -> uuid.UUID: ...
    @property
    def corrects_event_id(self) -> uuid.UUID | None: ...
    @property
    def actor_party(self) -> str: ...
    @property
    def from_party(self) -> str | None: ...
    @property
    def to_party(self) -> str | None: ...
    @property
    def bag_id(self) -> int | None: ...


def declared_event_ids(events: Sequence[FoldedEvent]) -> set[uuid.UUID]:
    return {e.corrects_event_id for e in events if e.kind == ERROR_DECLARED and e.corrects_event_id}


def fold(
    item_kind: str,
    events: Sequence[FoldedEvent],
    extra_declared: set[uuid.UUID] | None = None,
) -> ItemStateValue:
    """Derive an item's state from its events alone, skipping those declared wrong."""
    skip = declared_event_ids(events) | (extra_declared or set())
    state: ItemStateValue | None = None
    for event in events:
        if event.kind == ERROR_DECLARED or event.event_id in skip:
            continue
        state = apply(
            state,
            EventFacts(
                kind=event.kind,
                item_kind=item_kind,
                actor_party=event.actor_party,
                from_party=event.from_party,
                to_party=event.to_party,
                bag_id=event.bag_id,
            ),
        )
    if state is None:
        raise InvalidTransition("no effective events", field="events")
    return state
