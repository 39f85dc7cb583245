"""Recording custody events: the only code that writes to the ledger.

A batch of scans is handled in one pass: lock the items involved (``SELECT … FOR UPDATE``,
in id order so two batches cannot deadlock), look up stored receipts for replays, decide
each scan in memory with the state machine, then write events, receipts and projections
with one multi-row statement each. Every scan gets its own answer; a bad scan never
spoils the batch. Services flush; the caller owns the transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from psycopg.types.json import Jsonb
from sqlalchemy import func, insert, or_, select, text
from sqlalchemy.orm import Session

from core.cases.models import Booking, Case, Item, item_serial_seq
from core.custody.hashing import GENESIS_HASH, chain_hash
from core.custody.models import Bag, CustodyEvent, CustodyException, ItemState, ScanReceipt
from core.custody.parties import Actor, citizen_party, party_kind
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
from core.errors import Conflict, DomainError, Forbidden, InvalidInput, InvalidTransition, NotFound
from labels.errors import InvalidCode
from labels.s10 import make_item_id, validate_item_id

log = logging.getLogger(__name__)

Outcome = Literal["accepted", "rejected", "exception"]


@dataclass(frozen=True)
class ScanCommand:
    """One thing a person did to an item (or a bag), as recorded on their device."""

    kind: str
    code: str
    occurred_at: datetime
    client_event_id: uuid.UUID | None = None
    to_party: str | None = None
    place: str | None = None
    lat: float | None = None
    lon: float | None = None
    gps_accuracy_m: float | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    corrects_event_id: uuid.UUID | None = None


@dataclass
class ScanResult:
    outcome: Outcome
    code: str
    client_event_id: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    reason_code: str | None = None
    detail: str | None = None
    field: str | None = None
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "code": self.code,
            "client_event_id": self.client_event_id,
            "events": self.events,
            "reason_code": self.reason_code,
            "detail": self.detail,
            "field": self.field,
        }

    @classmethod
    def from_receipt(cls, data: Mapping[str, Any]) -> ScanResult:
        return cls(
            outcome=data["outcome"],
            code=data["code"],
            client_event_id=data["client_event_id"],
            events=list(data["events"]),
            reason_code=data["reason_code"],
            detail=data["detail"],
            field=data["field"],
            replayed=True,
        )


@dataclass
class _Target:
    """An item as the batch sees it: identity, case context, and its working state."""

    item_id: int
    code: str
    kind: str
    case_id: int | None
    pickup_courier_id: int | None
    delivery_courier_id: int | None
    booking_post_office_id: int | None
    booking_citizen_id: int | None
    state: ItemStateValue
    last_seq: int
    last_hash: str
    last_event_at: datetime
    changed: bool = False


class _Rejected(Exception):
    def __init__(self, reason_code: str, error: DomainError) -> None:
        super().__init__(error.detail)
        self.reason_code = reason_code
        self.error = error


def _offset_of(moment: datetime) -> str:
    offset = moment.utcoffset()
    if offset is None:
        raise InvalidInput("occurred_at must carry a UTC offset", field="occurred_at")
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def now_utc() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------
# Batch recording


def record(session: Session, actor: Actor, commands: Sequence[ScanCommand]) -> list[ScanResult]:
    """Record a batch of scans; return one result per command, in order."""
    recorded_at = now_utc()
    codes: dict[int, str] = {}
    results: list[ScanResult | None] = [None] * len(commands)
    for index, command in enumerate(commands):
        try:
            codes[index] = validate_item_id(command.code)
        except InvalidCode as exc:
            results[index] = _reject(
                command, "malformed_code", InvalidInput(str(exc), field="code")
            )

    packing_into = {str(c.details["bag_code"]) for c in commands if c.details.get("bag_code")}
    bags = _load_bags(session, set(codes.values()) | packing_into)
    targets, bag_members = _lock_targets(session, set(codes.values()), bags)
    client_ids = [c.client_event_id for c in commands if c.client_event_id is not None]
    receipts = _load_receipts(session, client_ids)

    event_rows: list[dict[str, Any]] = []
    receipt_rows: list[dict[str, Any]] = []
    exception_rows: list[dict[str, Any]] = []
    for index, command in enumerate(commands):
        key = command.client_event_id
        if key is not None and key in receipts:
            results[index] = ScanResult.from_receipt(receipts[key])
            continue
        result = results[index]
        if result is None:
            result = _decide(command, codes[index], actor, targets, bags, bag_members,
                             recorded_at, event_rows, exception_rows)  # fmt: skip
            results[index] = result
        if key is not None:
            receipts[key] = result.to_json()
            receipt_rows.append(
                {
                    "client_event_id": key,
                    "actor_user_id": actor.user_id,
                    "outcome": result.outcome,
                    "result": result.to_json(),
                }
            )

    _write(session, event_rows, receipt_rows, exception_rows, targets, recorded_at)
    log.info(
        "custody.batch_recorded",
        extra={"commands": len(commands), "events": len(event_rows), "actor": actor.party},
    )
    return [r for r in results if r is not None]


def record_one(session: Session, actor: Actor, command: ScanCommand) -> ScanResult:
    """Record one action for an interactive caller: anything but success raises."""
    if command.kind == ERROR_DECLARED:
        return declare_error(session, actor, command)
    result = record(session, actor, [command])[0]
    if result.outcome == "accepted":
        return result
    detail = result.detail or result.outcome
    if result.reason_code in ("malformed_code", "missing_field", "invalid_input"):
        raise InvalidInput(detail, field=result.field)
    if result.reason_code == "unknown_item":
        raise NotFound(detail, field=result.field)
    if result.reason_code == "not_authorised":
        raise Forbidden(detail, field=result.field)
    raise InvalidTransition(detail, field=result.field)


def _reject(command: ScanCommand, reason_code: str, error: DomainError) -> ScanResult:
    return ScanResult(
        outcome="rejected",
        code=command.code,
        client_event_id=str(command.client_event_id) if command.client_event_id else None,
        reason_code=reason_code,
        detail=error.detail,
        field=error.field,
    )


def _load_bags(session: Session, codes: set[str]) -> dict[str, Bag]:
    if not codes:
        return {}
    return {b.code: b for b in session.scalars(select(Bag).where(Bag.code.in_(codes)))}


def _lock_targets(
    session: Session, codes: set[str], bags: Mapping[str, Bag]
) -> tuple[dict[str, _Target], dict[int, list[str]]]:
    """Lock every item named directly or through a bag, in item id order."""
    bag_ids = [b.id for b in bags.values()]
    if not codes:
        return {}, {}
    conditions = [Item.code.in_(codes)]
    if bag_ids:
        conditions.append(ItemState.bag_id.in_(bag_ids))
    # Plain columns, not ORM entities: this runs for every batch and object construction
    # was the larger part of its cost.
    rows = session.execute(
        select(
            ItemState.item_id, ItemState.status, ItemState.custodian, ItemState.pending_from,
            ItemState.pending_to, ItemState.pending_initiator, ItemState.bag_id,
            ItemState.delivery_attempts, ItemState.last_seq, ItemState.last_hash,
            ItemState.last_event_at, Item.code, Item.kind, Item.case_id,
            Case.pickup_courier_id, Case.delivery_courier_id, Booking.post_office_id,
            Booking.citizen_user_id,
        )
        .join(Item, Item.id == ItemState.item_id)
        .outerjoin(Case, Case.id == Item.case_id)
        .outerjoin(Booking, Booking.id == Case.booking_id)
        .where(or_(*conditions))
        .order_by(ItemState.item_id)
        .with_for_update(of=ItemState)
    ).all()  # fmt: skip
    targets: dict[str, _Target] = {}
    members: dict[int, list[str]] = {}
    for row in rows:
        targets[row.code] = _Target(
            item_id=row.item_id,
            code=row.code,
            kind=row.kind,
            case_id=row.case_id,
            pickup_courier_id=row.pickup_courier_id,
            delivery_courier_id=row.delivery_courier_id,
            booking_post_office_id=row.post_office_id,
            booking_citizen_id=row.citizen_user_id,
            state=ItemStateValue(
                status=row.status,
                custodian=row.custodian,
                pending_from=row.pending_from,
                pending_to=row.pending_to,
                pending_initiator=row.pending_initiator,
                bag_id=row.bag_id,
                delivery_attempts=row.delivery_attempts,
            ),
            last_seq=row.last_seq,
            last_hash=row.last_hash,
            last_event_at=row.last_event_at,
        )
        if row.bag_id is not None:
            members.setdefault(row.bag_id, []).append(row.code)
    return targets, members


def _load_receipts(session: Session, client_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    if not client_ids:
        return {}
    rows = session.execute(
        select(ScanReceipt.client_event_id, ScanReceipt.result).where(
            ScanReceipt.client_event_id.in_(client_ids)
        )
    )
    return {row.client_event_id: row.result for row in rows}


def _decide(
    command: ScanCommand,
    code: str,
    actor: Actor,
    targets: dict[str, _Target],
    bags: Mapping[str, Bag],
    bag_members: Mapping[int, list[str]],
    recorded_at: datetime,
    event_rows: list[dict[str, Any]],
    exception_rows: list[dict[str, Any]],
) -> ScanResult:
    client_id = str(command.client_event_id) if command.client_event_id else None
    bag = bags.get(code)
    if bag is not None:
        item_codes = list(bag_members.get(bag.id, []))
        if not item_codes:
            return _reject(command, "empty_bag", InvalidInput(f"bag {code} is empty", field="code"))
    elif code in targets:
        item_codes = [code]
    else:
        return _reject(command, "unknown_item", NotFound(f"no item {code}", field="code"))

    try:
        planned = [
            _plan_event(command, actor, targets[c], bag, bags, recorded_at) for c in item_codes
        ]
    except _Rejected as rejection:
        if isinstance(rejection.error, InvalidTransition):
            # It may be real (a phone that was offline scanned it before someone else
            # moved it): keep it for a dispatcher rather than drop it.
            exception_rows.append(
                {
                    "client_event_id": command.client_event_id,
                    "item_id": targets[item_codes[0]].item_id,
                    "actor_user_id": actor.user_id,
                    "reason_code": rejection.reason_code,
                    "detail": rejection.error.detail,
                    "payload": _command_payload(command, actor),
                }
            )
            return ScanResult(
                outcome="exception",
                code=command.code,
                client_event_id=client_id,
                reason_code=rejection.reason_code,
                detail=rejection.error.detail,
                field=rejection.error.field,
            )
        return _reject(command, rejection.reason_code, rejection.error)

    events: list[dict[str, Any]] = []
    for target, (row, new_state) in zip((targets[c] for c in item_codes), planned, strict=True):
        target.state = new_state
        target.last_seq = row["seq"]
        target.last_hash = row["hash"]
        target.last_event_at = row["occurred_at"]
        target.changed = True
        event_rows.append(row)
        events.append(
            {
                "item": target.code,
                "event_id": str(row["event_id"]),
                "seq": row["seq"],
                "status": new_state.status,
                "custodian": new_state.custodian,
                "pending_to": new_state.pending_to,
            }
        )
    return ScanResult(outcome="accepted", code=command.code, client_event_id=client_id,
                      events=events)  # fmt: skip


def _command_payload(command: ScanCommand, actor: Actor) -> dict[str, Any]:
    return {
        "kind": command.kind,
        "code": command.code,
        "occurred_at": command.occurred_at.isoformat(),
        "to_party": command.to_party,
        "place": command.place,
        "lat": command.lat,
        "lon": command.lon,
        "gps_accuracy_m": command.gps_accuracy_m,
        "evidence": dict(command.evidence),
        "details": dict(command.details),
        "actor": {"user_id": actor.user_id, "role": actor.role, "party": actor.party},
    }


def _plan_event(
    command: ScanCommand,
    actor: Actor,
    target: _Target,
    bag: Bag | None,
    bags: Mapping[str, Bag],
    recorded_at: datetime,
) -> tuple[dict[str, Any], ItemStateValue]:
    rule = TRANSITIONS.get(command.kind)
    if rule is None:
        raise _Rejected(
            "invalid_input", InvalidInput(f"unknown event kind {command.kind!r}", field="kind")
        )
    bag_id = bag.id if bag is not None else None
    details = dict(command.details)
    for name in sorted(rule.required_details):
        if name == "proof":
            if not command.evidence.get("proof"):
                raise _Rejected(
                    "missing_field",
                    InvalidInput(f"{command.kind} needs proof in evidence", field="evidence.proof"),
                )
        elif name == "bag_id":
            bag_code = details.get("bag_code")
            packing = bags.get(str(bag_code)) if bag_code else None
            if packing is None:
                raise _Rejected(
                    "missing_field",
                    InvalidInput(
                        "bagged needs details.bag_code of a known bag", field="details.bag_code"
                    ),  # fmt: skip
                )
            if packing.status != "open":
                raise _Rejected(
                    "bag_sealed",
                    InvalidTransition(f"bag {packing.code} is sealed", field="details.bag_code"),
                )
            bag_id = packing.id
        elif not details.get(name):
            raise _Rejected(
                "missing_field",
                InvalidInput(f"{command.kind} needs details.{name}", field=f"details.{name}"),
            )
    if actor.role not in rule.roles:
        raise _Rejected(
            "not_authorised",
            Forbidden(f"a {actor.role} cannot record {command.kind}", field="kind"),
        )
    to_party = _resolve_to_party(command, rule, actor, target)
    try:
        _authorise(actor, rule, target, to_party)
    except Forbidden as exc:
        raise _Rejected("not_authorised", exc) from exc
    try:
        occurred_offset = _offset_of(command.occurred_at)
        new_state = apply(
            target.state,
            EventFacts(
                kind=command.kind,
                item_kind=target.kind,
                actor_party=actor.party,
                from_party=target.state.custodian,
                to_party=to_party,
                bag_id=bag_id,
            ),
        )
    except InvalidTransition as exc:
        raise _Rejected("conflict", exc) from exc
    except InvalidInput as exc:
        raise _Rejected("invalid_input", exc) from exc
    row = _event_row(
        target=target,
        rule=rule,
        actor=actor,
        command=command,
        occurred_offset=occurred_offset,
        from_party=target.state.custodian,
        to_party=to_party if to_party is not None else new_state.custodian,
        bag_code=bag.code if bag is not None else details.get("bag_code"),
        bag_id=bag_id,
        details=details,
        recorded_at=recorded_at,
    )
    return row, new_state


def _resolve_to_party(
    command: ScanCommand, rule: Transition, actor: Actor, target: _Target
) -> str | None:
    if rule.custody is Custody.GIVE:
        if target.case_id is None:
            raise _Rejected("invalid_input", InvalidInput("item has no case", field="code"))
        return citizen_party(target.case_id)
    if rule.custody is Custody.ARRIVE:
        return actor.party
    if rule.custody is Custody.OFFER:
        if not command.to_party:
            raise _Rejected(
                "missing_field",
                InvalidInput("a hand-off must name the receiver", field="to_party"),
            )
        if party_kind(command.to_party) not in ("courier", "office", "post_office"):
            raise _Rejected(
                "invalid_input",
                InvalidInput(f"cannot hand over to {command.to_party}", field="to_party"),
            )
        return command.to_party
    return None


def _authorise(actor: Actor, rule: Transition, target: _Target, to_party: str | None) -> None:
    """Beyond the role: is this person allowed to act on this very item?"""
    if actor.role in ("admin", "system"):
        return
    state = target.state
    if rule.custody is Custody.TAKE or rule.kind == "pickup_refused":
        assigned = target.pickup_courier_id
        if assigned is not None and assigned != actor.user_id:
            raise Forbidden(f"item {target.code} is not assigned to this courier", field="code")
        if assigned is None and actor.post_office_id != target.booking_post_office_id:
            raise Forbidden(f"item {target.code} is booked with another post office", field="code")
        return
    if rule.kind == "cancelled":
        if actor.role == "citizen" and actor.user_id != target.booking_citizen_id:
            raise Forbidden("this booking belongs to someone else", field="code")
        return
    if rule.custody is Custody.ARRIVE or rule.kind == "lost":
        return
    if rule.custody is Custody.OFFER:
        if actor.party not in (state.custodian, to_party):
            raise Forbidden(
                f"item {target.code} is held by {state.custodian}; only the holder or the "
                "receiver can open a hand-off",
                field="code",
            )
        return
    if rule.custody in (Custody.CONFIRM, Custody.DECLINE):
        if state.pending_to is None:
            return  # the state machine explains that no hand-off is open
        counterparty = (
            state.pending_from if state.pending_initiator == state.pending_to else state.pending_to
        )
        if actor.party != counterparty:
            raise Forbidden(
                f"this hand-off of {target.code} must be confirmed by {counterparty}",
                field="code",
            )
        return
    if rule.kind == "damage_noted" and actor.party in (state.pending_to, state.pending_from):
        return
    if actor.party != state.custodian:
        raise Forbidden(f"item {target.code} is held by {state.custodian}", field="code")


def _event_row(
    *,
    target: _Target,
    rule: Transition | None,
    actor: Actor,
    command: ScanCommand,
    occurred_offset: str,
    from_party: str | None,
    to_party: str | None,
    bag_code: Any,
    bag_id: int | None,
    details: Mapping[str, Any],
    recorded_at: datetime,
    kind: str | None = None,
    biz_step: str | None = None,
    disposition: str | None = None,
    upu_code: str | None = None,
) -> dict[str, Any]:
    seq = target.last_seq + 1
    row: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "client_event_id": command.client_event_id,
        "item_id": target.item_id,
        "seq": seq,
        "kind": kind or command.kind,
        "biz_step": biz_step or (rule.biz_step if rule else ""),
        "disposition": disposition or (rule.disposition if rule else ""),
        "upu_code": upu_code if rule is None else rule.upu_code,
        "from_party": from_party,
        "to_party": to_party,
        "actor_user_id": actor.user_id,
        "actor_role": actor.role,
        "actor_party": actor.party,
        "device_id": actor.device_id,
        "occurred_at": command.occurred_at,
        "occurred_offset": occurred_offset,
        "recorded_at": recorded_at,
        "place": command.place,
        "lat": command.lat,
        "lon": command.lon,
        "gps_accuracy_m": command.gps_accuracy_m,
        "bag_id": bag_id,
        "evidence": dict(command.evidence),
        "details": dict(details),
        "raw_code": command.code,
        "corrects_event_id": command.corrects_event_id,
        "prev_hash": target.last_hash,
    }
    row["hash"] = chain_hash(
        target.last_hash,
        {**row, "item_code": target.code, "bag_code": str(bag_code) if bag_code else None},
    )
    return row


_EVENT_COLUMNS = tuple(c.name for c in CustodyEvent.__table__.columns if c.name != "id")
_RECEIPT_COLUMNS = ("client_event_id", "actor_user_id", "outcome", "result")
_JSON_COLUMNS = frozenset({"evidence", "details", "result"})


def _copy_rows(
    session: Session, table: str, columns: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    """Write rows with COPY on the session's own connection, inside its transaction.

    COPY is PostgreSQL's bulk path: several times faster than a multi-row INSERT for the
    batches phones send, and just as atomic, since it runs in the same transaction.
    """
    session.flush()
    raw = session.connection().connection.driver_connection
    assert raw is not None
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [Jsonb(row[name]) if name in _JSON_COLUMNS else row[name] for name in columns]
            )


def _write(
    session: Session,
    event_rows: list[dict[str, Any]],
    receipt_rows: list[dict[str, Any]],
    exception_rows: list[dict[str, Any]],
    targets: Mapping[str, _Target],
    recorded_at: datetime,
) -> None:
    if event_rows:
        _copy_rows(session, "custody_events", _EVENT_COLUMNS, event_rows)
    if exception_rows:
        session.execute(insert(CustodyException), exception_rows)
    if receipt_rows:
        _copy_rows(session, "scan_receipts", _RECEIPT_COLUMNS, receipt_rows)
    changed = [t for t in targets.values() if t.changed]
    if changed:
        _update_projections(session, changed, recorded_at)
    session.flush()


# One statement for the whole batch. Arrays through ``unnest`` keep the SQL text fixed, so it
# is parsed once; a VALUES list would be recompiled for every batch size and content.
_UPDATE_PROJECTIONS = text(
    """
    UPDATE item_states AS s SET
        status = u.status, custodian = u.custodian, pending_from = u.pending_from,
        pending_to = u.pending_to, pending_initiator = u.pending_initiator, bag_id = u.bag_id,
        delivery_attempts = u.delivery_attempts, last_seq = u.last_seq,
        last_hash = u.last_hash, last_event_at = u.last_event_at, updated_at = :updated_at
    FROM unnest(
        CAST(:item_id AS integer[]), CAST(:status AS text[]), CAST(:custodian AS text[]),
        CAST(:pending_from AS text[]), CAST(:pending_to AS text[]),
        CAST(:pending_initiator AS text[]), CAST(:bag_id AS integer[]),
        CAST(:delivery_attempts AS integer[]), CAST(:last_seq AS integer[]),
        CAST(:last_hash AS text[]), CAST(:last_event_at AS timestamptz[])
    ) AS u(item_id, status, custodian, pending_from, pending_to, pending_initiator, bag_id,
           delivery_attempts, last_seq, last_hash, last_event_at)
    WHERE s.item_id = u.item_id
    """
)


def _update_projections(session: Session, changed: list[_Target], recorded_at: datetime) -> None:
    session.execute(
        _UPDATE_PROJECTIONS,
        {
            "item_id": [t.item_id for t in changed],
            "status": [t.state.status for t in changed],
            "custodian": [t.state.custodian for t in changed],
            "pending_from": [t.state.pending_from for t in changed],
            "pending_to": [t.state.pending_to for t in changed],
            "pending_initiator": [t.state.pending_initiator for t in changed],
            "bag_id": [t.state.bag_id for t in changed],
            "delivery_attempts": [t.state.delivery_attempts for t in changed],
            "last_seq": [t.last_seq for t in changed],
            "last_hash": [t.last_hash for t in changed],
            "last_event_at": [t.last_event_at for t in changed],
            "updated_at": recorded_at,
        },
    )


# --------------------------------------------------------------------------------------------
# Creating items and correcting the record


def create_item(
    session: Session,
    *,
    kind: str,
    case_id: int | None,
    first_kind: str,
    holder: str,
    actor: Actor,
    occurred_at: datetime,
    service_indicator: str,
    details: Mapping[str, Any] | None = None,
) -> Item:
    """Issue an S10 identifier from the database sequence and record the item's first event."""
    serial = int(session.execute(select(item_serial_seq.next_value())).scalar_one())
    code = make_item_id(service_indicator, serial)
    item = Item(code=code, kind=kind, case_id=case_id)
    session.add(item)
    session.flush()
    rule = TRANSITIONS[first_kind]
    if actor.role not in rule.roles:
        raise Forbidden(f"a {actor.role} cannot record {first_kind}", field="kind")
    state = apply(
        None,
        EventFacts(first_kind, kind, actor.party, None, holder, None),
    )
    recorded_at = now_utc()
    target = _Target(
        item_id=item.id, code=code, kind=kind, case_id=case_id, pickup_courier_id=None,
        delivery_courier_id=None, booking_post_office_id=None, booking_citizen_id=None,
        state=state, last_seq=0, last_hash=GENESIS_HASH, last_event_at=occurred_at,
    )  # fmt: skip
    command = ScanCommand(kind=first_kind, code=code, occurred_at=occurred_at,
                          details=details or {})  # fmt: skip
    row = _event_row(
        target=target, rule=rule, actor=actor, command=command,
        occurred_offset=_offset_of(occurred_at), from_party=None, to_party=holder,
        bag_code=None, bag_id=None, details=details or {}, recorded_at=recorded_at,
    )  # fmt: skip
    session.execute(insert(CustodyEvent), [row])
    session.add(
        ItemState(
            item_id=item.id,
            status=state.status,
            custodian=state.custodian,
            last_seq=1,
            last_hash=row["hash"],
            last_event_at=occurred_at,
            updated_at=recorded_at,
        )
    )
    session.flush()
    return item


def declare_error(session: Session, actor: Actor, command: ScanCommand) -> ScanResult:
    """Record that an earlier event was wrong (EPCIS errorDeclaration) and re-derive state.

    The earlier event stays as it was. The item's state is folded again without it; if a
    later event only made sense because of it, the declaration is refused: declare the later
    one first, so the record never holds a state that no sequence of events explains.
    """
    if actor.role not in ("dispatcher", "admin"):
        raise Forbidden("only a dispatcher or an admin can declare an event wrong", field="kind")
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
    target = _Target(
        item_id=item.id, code=item.code, kind=item.kind, case_id=item.case_id,
        pickup_courier_id=None, delivery_courier_id=None, booking_post_office_id=None,
        booking_citizen_id=None, state=state, last_seq=state_row.last_seq,
        last_hash=state_row.last_hash, last_event_at=state_row.last_event_at,
    )  # fmt: skip
    row = _event_row(
        target=target, rule=None, actor=actor, command=command,
        occurred_offset=_offset_of(command.occurred_at), from_party=wrong.from_party,
        to_party=wrong.to_party, bag_code=None, bag_id=wrong.bag_id,
        details={**command.details, "corrected_kind": wrong.kind}, recorded_at=recorded_at,
        kind=ERROR_DECLARED, biz_step=wrong.biz_step, disposition=wrong.disposition,
        upu_code=None,
    )  # fmt: skip
    session.execute(insert(CustodyEvent), [row])
    _store_state(state_row, state, row["seq"], row["hash"], command.occurred_at, recorded_at)
    session.flush()
    return ScanResult(
        outcome="accepted",
        code=item.code,
        events=[{"item": item.code, "event_id": str(row["event_id"]), "seq": row["seq"],
                 "status": state.status, "custodian": state.custodian, "pending_to": None}],
    )  # fmt: skip


def _store_state(
    row: ItemState,
    state: ItemStateValue,
    last_seq: int,
    last_hash: str,
    last_event_at: datetime,
    updated_at: datetime,
) -> None:
    row.status = state.status
    row.custodian = state.custodian
    row.pending_from = state.pending_from
    row.pending_to = state.pending_to
    row.pending_initiator = state.pending_initiator
    row.bag_id = state.bag_id
    row.delivery_attempts = state.delivery_attempts
    row.last_seq = last_seq
    row.last_hash = last_hash
    row.last_event_at = last_event_at
    row.updated_at = updated_at


def declared_event_ids(events: Sequence[CustodyEvent]) -> set[uuid.UUID]:
    return {e.corrects_event_id for e in events if e.kind == ERROR_DECLARED and e.corrects_event_id}


def fold(
    item_kind: str,
    events: Sequence[CustodyEvent],
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


def count_events(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(CustodyEvent)) or 0)
