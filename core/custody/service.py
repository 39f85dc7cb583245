"""Recording custody events: the only code that writes to the ledger.

A batch of scans is handled in one pass: lock the items involved (``SELECT … FOR UPDATE``,
in id order so two batches cannot deadlock) and, in the same round trip, look up earlier
answers for replays; decide each scan in memory with the state machine; then write events,
receipts for refused scans and projections in one statement for the batch. Every scan gets
its own answer; a bad scan never spoils the batch. Services flush; the caller owns the
transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.custody.commands import Outcome, ScanCommand, ScanResult
from core.custody.corrections import declare_error, fold
from core.custody.hashing import GENESIS_HASH
from core.custody.models import (
    Bag,
    CustodyEvent,
    CustodyException,
    Item,
    ItemState,
    item_serial_seq,
)
from core.custody.parties import Actor, citizen_party, party, party_kind
from core.custody.rows import Target, event_row, now_utc, offset_of, write_batch
from core.custody.transitions import (
    ERROR_DECLARED,
    TRANSITIONS,
    Custody,
    EventFacts,
    ItemStateValue,
    Transition,
    apply,
    counterparty,
)
from core.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    code_refusal,
)
from core.ops.metrics import count_scans
from labels.errors import InvalidCode
from labels.s10 import make_item_id, validate_item_id

__all__ = ["Outcome", "ScanCommand", "ScanResult", "create_item", "declare_error", "record",
           "record_one"]  # fmt: skip

log = logging.getLogger(__name__)


class Precheck(Protocol):
    """A caller's own checks of a batch (the courier's door-step rules), run by ``record``
    after the items are locked, on facts read in the same round trip as the lock.

    ``facts_sql`` takes ``%(codes)s``, the scanned codes as a PostgreSQL text array literal.
    ``check`` returns the command as the ledger should store it, or the caller's refusal
    (not stored as a receipt: the same event sent again is checked again). Replays are
    answered before any check.
    """

    facts_sql: str

    def load(self, rows: Sequence[Any]) -> None: ...

    def check(self, command: ScanCommand) -> ScanCommand | ScanResult: ...


class _Rejected(Exception):
    def __init__(self, reason_code: str, error: DomainError) -> None:
        super().__init__(error.detail)
        self.reason_code = reason_code
        self.error = error


def record(
    session: Session,
    actor: Actor,
    commands: Sequence[ScanCommand],
    *,
    service_kinds: frozenset[str] = frozenset(),
    precheck: Precheck | None = None,
) -> list[ScanResult]:
    """Record a batch of scans; return one result per command, in order.

    ``service_kinds``: service-only kinds the calling service records itself (a bag's seal);
    sent by anyone else, they are refused. ``precheck``: see ``Precheck``.
    """
    recorded_at = now_utc()
    commands = list(commands)
    codes: dict[int, str] = {}
    results: list[ScanResult | None] = [None] * len(commands)
    for index, command in enumerate(commands):
        try:
            commands[index], codes[index] = _normalised(command)
        except InvalidInput as exc:
            results[index] = ScanResult.refusal(command, "malformed_code", exc)

    scanned = set(codes.values())
    client_ids = list(dict.fromkeys(c.client_event_id for c in commands if c.client_event_id))
    targets, bag_members, answers, facts_rows = _lock_and_look_up(
        session, sorted(scanned), client_ids, actor.user_id, precheck
    )
    # Bag rows are read only when a code is not an item, or an item is being packed: most
    # batches scan items alone and skip this query.
    packing_into = {str(c.details["bag_code"]) for c in commands if c.details.get("bag_code")}
    bags = _load_bags(session, (scanned - targets.keys()) | packing_into)
    # Taking an item out of a sealed bag is checked against the bag's seal, and an arrival
    # against the bag's destination.
    unpacking_from = {
        target.state.bag_id
        for index, command in enumerate(commands)
        if command.kind in ("unbagged", "arrived")
        and (target := targets.get(codes.get(index, ""))) is not None
        and target.state.bag_id is not None
    } - {bag.id for bag in bags.values()}
    if unpacking_from:
        opened = session.scalars(select(Bag).where(Bag.id.in_(unpacking_from)))
        bags.update((bag.code, bag) for bag in opened)
    scanned_bags = [bag.id for code, bag in bags.items() if code in scanned]
    if scanned_bags:
        # A bag was scanned: its items are locked by a second statement. A batch doing the
        # reverse at the same moment could deadlock with this one; PostgreSQL then aborts
        # one of the two, and the phone's retry is answered safely (replays are idempotent).
        # The common batch, items only, keeps one locking statement.
        inside, members = _lock_targets(session, _LOCK_BY_BAG, sorted(scanned_bags))
        targets.update(inside)
        for bag_id, member_codes in members.items():
            bag_members[bag_id] = member_codes
        # Looked up again now that the bag's items are locked: a concurrent batch carrying
        # the same scan of the bag has committed by now, and its answer must be found.
        answers = _look_up_answers(session, client_ids, actor.user_id)
    refused_by_caller: set[int] = set()
    if precheck is not None:
        precheck.load(facts_rows)
        for index, command in enumerate(commands):
            if results[index] is not None or command.client_event_id in answers:
                continue
            checked = precheck.check(command)
            if isinstance(checked, ScanResult):
                results[index] = checked
                refused_by_caller.add(index)
            else:
                commands[index] = checked

    event_rows: list[dict[str, Any]] = []
    receipt_rows: list[dict[str, Any]] = []
    exception_rows: list[dict[str, Any]] = []
    decided: dict[uuid.UUID, ScanResult] = {}
    for index, command in enumerate(commands):
        key = command.client_event_id
        if key is not None:
            if key in answers:
                results[index] = answers[key]
                continue
            if key in decided:  # the phone sent the same scan twice in one batch
                results[index] = ScanResult.from_receipt(decided[key].to_json())
                continue
        result = results[index]
        rule = TRANSITIONS.get(command.kind)
        if result is None and rule is not None and rule.service_only:
            if command.kind not in service_kinds:
                result = ScanResult.refusal(command, "invalid_input", _service_only(command.kind))
                results[index] = result
        if result is None:
            result = _decide(command, codes[index], actor, targets, bags, bag_members,
                             recorded_at, event_rows, exception_rows)  # fmt: skip
            results[index] = result
        if key is not None:
            decided[key] = result
            # Every answer is stored, accepted ones too, so that a replay is one index
            # lookup by (sender, key) however long the chain. A caller's own refusal is not:
            # the same event sent again is checked again.
            if index not in refused_by_caller:
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
    answered = [r for r in results if r is not None]
    count_scans([r.outcome for r in answered])
    return answered


def record_one(session: Session, actor: Actor, command: ScanCommand) -> ScanResult:
    """Record one action for an interactive caller: anything but success raises."""
    if command.kind == ERROR_DECLARED:
        return declare_error(session, actor, command)
    result = record(session, actor, [command])[0]
    if result.outcome == "accepted":
        return result
    detail = result.detail or result.outcome
    if result.reason_code in ("malformed_code", "missing_field", "invalid_input"):
        raise InvalidInput(detail, field=result.field, reason=result.reason, params=result.params)
    if result.reason_code == "unknown_item":
        raise NotFound(detail, field=result.field, reason=result.reason, params=result.params)
    if result.reason_code == "not_authorised":
        raise Forbidden(detail, field=result.field, reason=result.reason, params=result.params)
    raise InvalidTransition(detail, field=result.field, reason=result.reason, params=result.params)


def _valid_code(raw: object, field: str) -> str:
    try:
        return validate_item_id(str(raw))
    except InvalidCode as exc:
        raise code_refusal(exc, field) from exc


def _normalised(command: ScanCommand) -> tuple[ScanCommand, str]:
    """The scanned code and any bag code as S10 IDs, however they were typed or scanned.

    ``raw_code`` keeps what was scanned; ``details.bag_code`` is stored normalised, since it
    names a bag rather than recording a reading.
    """
    code = _valid_code(command.code, "code")
    bag_code = command.details.get("bag_code")
    if bag_code:
        details = {**command.details, "bag_code": _valid_code(bag_code, "details.bag_code")}
        command = replace(command, details=details)
    return command, code


def _load_bags(session: Session, codes: set[str]) -> dict[str, Bag]:
    if not codes:
        return {}
    return {b.code: b for b in session.scalars(select(Bag).where(Bag.code.in_(codes)))}


_LOCK_COLUMNS = (
    "s.item_id, s.status, s.custodian, s.pending_from, s.pending_to, s.pending_initiator, "
    "s.bag_id, s.delivery_attempts, s.last_seq, s.last_hash, s.last_event_at, "
    "i.code, i.kind, i.case_id, c.pickup_courier_id, c.delivery_courier_id, "
    "b.post_office_id, b.citizen_user_id"
)
# Fixed SQL on the driver, with the keys as one array parameter: through SQLAlchemy the IN
# list was re-expanded and every row post-processed on each call, 50 us an event against 20
# for the same query here (measured, batches of 500).
_LOCK_SQL = f"""
    SELECT {_LOCK_COLUMNS}
    FROM item_states AS s
    JOIN items AS i ON i.id = s.item_id
    LEFT JOIN cases AS c ON c.id = i.case_id
    LEFT JOIN bookings AS b ON b.id = c.booking_id
    WHERE {{which}}
    ORDER BY s.item_id
    FOR UPDATE OF s
"""
# Keys travel as one array literal (``{a,b}``) cast on the server: psycopg adapts a Python
# list element by element in Python, a measurable part of a 500-scan batch. Item codes are
# validated S10 IDs and bag ids integers, so nothing in them needs quoting.
_LOCK_BY_CODE = _LOCK_SQL.format(which="i.code = ANY(%s::text[])")
_LOCK_BY_BAG = _LOCK_SQL.format(which="s.bag_id = ANY(%s::integer[])")


def _array_literal(keys: Sequence[object]) -> str:
    return "{" + ",".join(map(str, keys)) + "}"


def _lock_targets(
    session: Session, statement: str, keys: list[str] | list[int]
) -> tuple[dict[str, Target], dict[int, list[str]]]:
    """Lock the items selected by ``keys``, in item id order, with what deciding needs."""
    session.flush()  # the driver must see what the session has pending, as a query would
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        cursor.execute(statement, (_array_literal(keys),))
        return _targets_of(cursor.fetchall())


def _targets_of(rows: list[Any]) -> tuple[dict[str, Target], dict[int, list[str]]]:
    targets: dict[str, Target] = {}
    members: dict[int, list[str]] = {}
    for (
        item_id, status, custodian, pending_from, pending_to, pending_initiator, bag_id,
        delivery_attempts, last_seq, last_hash, last_event_at, code, kind, case_id,
        pickup_courier_id, delivery_courier_id, post_office_id, citizen_user_id,
    ) in rows:  # fmt: skip
        targets[code] = Target(
            item_id=item_id,
            code=code,
            kind=kind,
            case_id=case_id,
            pickup_courier_id=pickup_courier_id,
            delivery_courier_id=delivery_courier_id,
            booking_post_office_id=post_office_id,
            booking_citizen_id=citizen_user_id,
            state=ItemStateValue(
                status=status,
                custodian=custodian,
                pending_from=pending_from,
                pending_to=pending_to,
                pending_initiator=pending_initiator,
                bag_id=bag_id,
                delivery_attempts=delivery_attempts,
            ),
            last_seq=last_seq,
            last_hash=last_hash,
            last_event_at=last_event_at,
        )
        if bag_id is not None:
            members.setdefault(bag_id, []).append(code)
    return targets, members


# What this sender's client event IDs already have as an answer: the stored receipt, found
# through the unique (sender, key) index. Scans accepted before every answer was stored
# (migration 0006a) have none; theirs is re-derived from the events they recorded, by the
# same sender. Error declarations are recorded through ``record_one`` and never answered
# here, as before. The system actor (no account) is one sender: ``{sender}`` is filled in.
_ANSWERS_SQL = """
    SELECT r.client_event_id, r.result, NULL::integer, NULL::integer
    FROM scan_receipts AS r
    WHERE r.actor_user_id {sender} AND r.client_event_id = ANY(%(ids)s::uuid[])
    UNION ALL
    SELECT e.client_event_id, NULL::jsonb, e.item_id, e.seq
    FROM custody_events AS e
    WHERE e.client_event_id = ANY(%(ids)s::uuid[]) AND e.actor_user_id {sender}
      AND e.kind <> 'error_declared'
      AND NOT EXISTS (
          SELECT 1 FROM scan_receipts AS r
          WHERE r.actor_user_id {sender} AND r.client_event_id = e.client_event_id
      )
"""
_ANSWERS_BY_USER_SQL = _ANSWERS_SQL.format(sender="= %(sender)s")
_ANSWERS_BY_SYSTEM_SQL = _ANSWERS_SQL.format(sender="IS NULL")


def _answers_query(client_ids: list[uuid.UUID], sender_id: int | None) -> tuple[str, Any]:
    params = {"ids": _array_literal(client_ids), "sender": sender_id}
    return (_ANSWERS_BY_SYSTEM_SQL if sender_id is None else _ANSWERS_BY_USER_SQL), params


def _service_only(kind: str) -> InvalidInput:
    where = {"bag_sealed": "POST /mobile/v1/bags/{code}/seal"}.get(kind, "its own service")
    return InvalidInput(
        f"{kind} is recorded by {where}, not sent as a scan",
        field="kind",
        reason="scan.service_only",
        params={"kind_text": f"event.{kind}"},
    )


def _lock_and_look_up(
    session: Session,
    codes: list[str],
    client_ids: list[uuid.UUID],
    sender_id: int | None,
    precheck: Precheck | None = None,
) -> tuple[dict[str, Target], dict[int, list[str]], dict[uuid.UUID, ScanResult], list[Any]]:
    """Lock the scanned items, find earlier answers and read the precheck's facts, in one
    round trip.

    The lookup runs after the lock, in its own snapshot: if a concurrent batch carrying the
    same scans held the items, it has committed by the time the lock is granted, and its
    events are seen here, so the scan is answered as a replay rather than recorded twice.
    """
    if not codes and not client_ids:
        return {}, {}, {}, []
    session.flush()  # the driver must see what the session has pending, as a query would
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.pipeline():
        locked = raw.execute(_LOCK_BY_CODE, (_array_literal(codes),)) if codes else None
        found = raw.execute(*_answers_query(client_ids, sender_id)) if client_ids else None
        facts = (
            raw.execute(precheck.facts_sql, {"codes": _array_literal(codes)})
            if precheck is not None and codes
            else None
        )
    targets, members = _targets_of(locked.fetchall()) if locked else ({}, {})
    answers = _answers_of(session, found.fetchall()) if found else {}
    return targets, members, answers, facts.fetchall() if facts else []


def _look_up_answers(
    session: Session, client_ids: list[uuid.UUID], sender_id: int | None
) -> dict[uuid.UUID, ScanResult]:
    if not client_ids:
        return {}
    raw = session.connection().connection.driver_connection
    assert raw is not None
    found = raw.execute(*_answers_query(client_ids, sender_id))
    return _answers_of(session, found.fetchall())


def _answers_of(session: Session, rows: list[Any]) -> dict[uuid.UUID, ScanResult]:
    """This sender's earlier answers by client event ID: stored, or for scans accepted
    before every answer was stored, re-derived from their events."""
    stored: dict[uuid.UUID, ScanResult] = {}
    recorded: dict[uuid.UUID, list[tuple[int, int]]] = {}
    for client_event_id, result, item_id, seq in rows:
        if result is not None:
            stored[client_event_id] = ScanResult.from_receipt(result)
        else:
            recorded.setdefault(client_event_id, []).append((item_id, seq))
    if recorded:
        stored.update(_answers_from_events(session, recorded))
    return stored


def _answers_from_events(
    session: Session, recorded: dict[uuid.UUID, list[tuple[int, int]]]
) -> dict[uuid.UUID, ScanResult]:
    """Re-derive the answer a scan accepted before migration 0006a got from its events.

    O(chain length) per item, under the items' locks: only ledgers written before every
    answer was stored take this path, and only for their old scans.

    The answer named, for each item, the event and the item's state just after it: the fold
    of that item's events up to it, which is what the projection held then (``hoso ledger
    verify`` holds the two equal). A bag scan's items are listed in item id order, the order
    they were locked and decided in.
    """
    item_ids = {item_id for pairs in recorded.values() for item_id, _ in pairs}
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(item_ids)))}
    history: dict[int, list[CustodyEvent]] = {}
    for event in session.scalars(
        select(CustodyEvent)
        .where(CustodyEvent.item_id.in_(item_ids))
        .order_by(CustodyEvent.item_id, CustodyEvent.seq)
    ):
        history.setdefault(event.item_id, []).append(event)
    answers: dict[uuid.UUID, ScanResult] = {}
    for client_event_id, pairs in recorded.items():
        entries = []
        raw_code = ""
        for item_id, seq in sorted(pairs):
            events = history[item_id][:seq]
            event = events[-1]
            state = fold(items[item_id].kind, events)
            raw_code = event.raw_code or ""
            entries.append(
                {
                    "item": items[item_id].code,
                    "event_id": str(event.event_id),
                    "seq": event.seq,
                    "status": state.status,
                    "custodian": state.custodian,
                    "pending_to": state.pending_to,
                }
            )
        answers[client_event_id] = ScanResult(
            outcome="accepted",
            code=raw_code,
            client_event_id=str(client_event_id),
            events=entries,
            replayed=True,
        )
    return answers


def _decide(
    command: ScanCommand,
    code: str,
    actor: Actor,
    targets: dict[str, Target],
    bags: Mapping[str, Bag],
    bag_members: Mapping[int, list[str]],
    recorded_at: datetime,
    event_rows: list[dict[str, Any]],
    exception_rows: list[dict[str, Any]],
) -> ScanResult:
    bag = bags.get(code)
    if bag is not None:
        item_codes = list(bag_members.get(bag.id, []))
        if not item_codes:
            empty = InvalidInput(
                f"bag {code} is empty", field="code", reason="bag.empty", params={"code": code}
            )
            return ScanResult.refusal(command, "empty_bag", empty)
    elif code in targets:
        item_codes = [code]
    else:
        unknown = NotFound(
            f"no item {code}", field="code", reason="item.unknown", params={"code": code}
        )
        return ScanResult.refusal(command, "unknown_item", unknown)

    planned = []
    for target in (targets[c] for c in item_codes):
        try:
            planned.append((target, *_plan_event(command, actor, target, bag, bags, recorded_at)))
        except _Rejected as rejection:
            return _refuse(command, actor, target, rejection, exception_rows)

    events: list[dict[str, Any]] = []
    for target, row, new_state in planned:
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
    return ScanResult(
        outcome="accepted", code=command.code, client_event_id=command.client_key, events=events
    )


def _refuse(
    command: ScanCommand,
    actor: Actor,
    target: Target,
    rejection: _Rejected,
    exception_rows: list[dict[str, Any]],
) -> ScanResult:
    if not isinstance(rejection.error, InvalidTransition):
        return ScanResult.refusal(command, rejection.reason_code, rejection.error)
    # It may be real (a phone that was offline scanned it before someone else moved it):
    # keep it, against the item it contradicts, for a dispatcher rather than drop it.
    exception_rows.append(
        {
            "client_event_id": command.client_event_id,
            "item_id": target.item_id,
            "actor_user_id": actor.user_id,
            "reason_code": rejection.reason_code,
            "detail": rejection.error.detail,
            "payload": _command_payload(command, actor),
        }
    )
    return ScanResult(
        outcome="exception",
        code=command.code,
        client_event_id=command.client_key,
        reason_code=rejection.reason_code,
        detail=rejection.error.detail,
        field=rejection.error.field,
        reason=rejection.error.reason,
        params=rejection.error.params,
    )


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


# In a fixed order, so that a scan missing two details is always told about the same one.
_REQUIRED_DETAILS = {kind: sorted(rule.required_details) for kind, rule in TRANSITIONS.items()}


def _plan_event(
    command: ScanCommand,
    actor: Actor,
    target: Target,
    bag: Bag | None,
    bags: Mapping[str, Bag],
    recorded_at: datetime,
) -> tuple[dict[str, Any], ItemStateValue]:
    rule = TRANSITIONS.get(command.kind)
    if rule is None:
        raise _Rejected(
            "invalid_input",
            InvalidInput(
                f"unknown event kind {command.kind!r}",
                field="kind",
                reason="scan.unknown_kind",
                params={"kind": command.kind},
            ),
        )
    event_bag = bag  # the bag scanned, or for "bagged" the bag packed into
    details = dict(command.details)
    for name in _REQUIRED_DETAILS[rule.kind]:
        if name == "proof":
            if not command.evidence.get("proof"):
                raise _Rejected(
                    "missing_field",
                    InvalidInput(
                        f"{command.kind} needs proof in evidence",
                        field="evidence.proof",
                        reason="scan.needs_proof",
                    ),
                )
        elif name == "bag_id":
            bag_code = details.get("bag_code")
            packing = bags.get(str(bag_code)) if bag_code else None
            if packing is None:
                raise _Rejected(
                    "missing_field",
                    InvalidInput(
                        "bagged needs details.bag_code of a known bag",
                        field="details.bag_code",
                        reason="bag.unknown_bag_code",
                    ),  # fmt: skip
                )
            if packing.status != "open":
                raise _Rejected(
                    "bag_sealed",
                    InvalidTransition(
                        f"bag {packing.code} is sealed",
                        field="details.bag_code",
                        reason="bag.sealed",
                        params={"code": packing.code},
                    ),
                )
            event_bag = packing
        elif not details.get(name):
            raise _Rejected(
                "missing_field",
                InvalidInput(
                    f"{command.kind} needs details.{name}",
                    field=f"details.{name}",
                    reason="scan.needs_detail",
                    params={"kind_text": f"event.{command.kind}", "name": name},
                ),
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
    except InvalidTransition as exc:
        raise _Rejected("conflict", exc) from exc
    if rule.kind == "unbagged":
        _check_seal_on_opening(details, target, bags)
    if rule.custody is Custody.ARRIVE:
        _check_destination(actor, target, bags)
    try:
        occurred_offset = offset_of(command.occurred_at)
        new_state = apply(
            target.state,
            EventFacts(
                kind=command.kind,
                item_kind=target.kind,
                actor_party=actor.party,
                from_party=target.state.custodian,
                to_party=to_party,
                bag_id=event_bag.id if event_bag else None,
            ),
        )
    except InvalidTransition as exc:
        raise _Rejected("conflict", exc) from exc
    except InvalidInput as exc:
        raise _Rejected("invalid_input", exc) from exc
    row = event_row(
        target=target,
        rule=rule,
        actor=actor,
        command=command,
        occurred_offset=occurred_offset,
        from_party=target.state.custodian,
        to_party=to_party if to_party is not None else new_state.custodian,
        bag_code=event_bag.code if event_bag else None,
        bag_id=event_bag.id if event_bag else None,
        details=details,
        recorded_at=recorded_at,
    )
    return row, new_state


def _resolve_to_party(
    command: ScanCommand, rule: Transition, actor: Actor, target: Target
) -> str | None:
    if rule.custody is Custody.GIVE:
        if target.case_id is None:
            raise _Rejected(
                "invalid_input",
                InvalidInput("item has no case", field="code", reason="item.no_case"),
            )
        return citizen_party(target.case_id)
    if rule.custody is Custody.ARRIVE:
        return actor.party
    if rule.custody is Custody.OFFER:
        if not command.to_party:
            raise _Rejected(
                "missing_field",
                InvalidInput(
                    "a hand-off must name the receiver",
                    field="to_party",
                    reason="transition.needs_receiver",
                ),
            )
        if party_kind(command.to_party) not in ("courier", "office", "post_office"):
            raise _Rejected(
                "invalid_input",
                InvalidInput(
                    f"cannot hand over to {command.to_party}",
                    field="to_party",
                    reason="handover.bad_receiver",
                ),
            )
        return command.to_party
    return None


def _authorise(actor: Actor, rule: Transition, target: Target, to_party: str | None) -> None:
    """Beyond the role: is this person allowed to act on this very item?"""
    if actor.role in ("admin", "system"):
        return
    state = target.state
    if rule.custody is Custody.TAKE or rule.kind == "pickup_refused":
        # A citizen who brings the dossier to the post office's counter instead of waiting
        # for the courier: the clerk takes it for the post office the booking names.
        assigned = target.pickup_courier_id if actor.role != "counter_clerk" else None
        if assigned is not None and assigned != actor.user_id:
            raise Forbidden(
                f"item {target.code} is not assigned to this courier",
                field="code",
                reason="item.not_assigned",
                params={"code": target.code},
            )
        if assigned is None and actor.post_office_id != target.booking_post_office_id:
            raise Forbidden(
                f"item {target.code} is booked with another post office",
                field="code",
                reason="item.other_post_office",
                params={"code": target.code},
            )
        return
    if rule.kind == "cancelled":
        if actor.role == "citizen" and actor.user_id != target.booking_citizen_id:
            raise Forbidden(
                "this booking belongs to someone else", field="code", reason="booking.not_yours"
            )
        return
    if rule.custody is Custody.ARRIVE or rule.kind in ("lost", "record_sealed", "digitised"):
        # record_sealed is service-only: core.papers.sealing checks the actor signed the paper;
        # digitised too: core.digitising.service checks the actor holds the paper.
        return
    if rule.custody is Custody.OFFER:
        if actor.party not in (state.custodian, to_party) and _may_come_to_hold(actor, target):
            # The courier of this item offering what the ledger does not yet show them
            # holding: the pickup or collection is still on a phone somewhere, or lost. Real,
            # but out of order: kept as an exception for a dispatcher, not refused.
            raise InvalidTransition(
                f"item {target.code} is held by {state.custodian}, not yet by {actor.party}",
                field="code",
                reason="item.not_yet_yours",
                params={"code": target.code, "party_text": f"party.{party_kind(state.custodian)}"},
            )
        if actor.party not in (state.custodian, to_party):
            raise Forbidden(
                f"item {target.code} is held by {state.custodian}; only the holder or the "
                "receiver can open a hand-off",
                field="code",
                reason="transition.holder_or_receiver",
            )
        return
    if rule.custody in (Custody.CONFIRM, Custody.DECLINE):
        confirmer = counterparty(state)
        if confirmer is not None and actor.party != confirmer:
            raise Forbidden(
                f"this hand-off of {target.code} must be confirmed by {confirmer}",
                field="code",
                reason="transition.confirm_by",
                params={"party_text": f"party.{party_kind(confirmer)}"},
            )
        # With no hand-off open, the state machine gives the clearer answer.
        return
    if rule.kind == "damage_noted" and actor.party in (state.pending_to, state.pending_from):
        return
    if actor.party != state.custodian:
        raise Forbidden(f"item {target.code} is held by {state.custodian}", field="code",
                        reason="item.held_by",
                        params={"code": target.code,
                                "party_text": f"party.{party_kind(state.custodian)}"})  # fmt: skip


def _check_seal_on_opening(
    details: Mapping[str, Any], target: Target, bags: Mapping[str, Bag]
) -> None:
    """An item leaves a sealed bag only by someone who read the seal first: a seal number
    that does not match the one recorded at sealing may mean tampering, and is kept."""
    bag = next((b for b in bags.values() if b.id == target.state.bag_id), None)
    if bag is None or bag.status != "sealed":
        return
    seen = str(details.get("seal_number") or "").strip()
    if not seen:
        raise _Rejected(
            "missing_field",
            InvalidInput(
                f"bag {bag.code} is sealed: give the seal number you read before opening it",
                field="details.seal_number",
            ),
        )
    if seen != bag.seal_number:
        raise _Rejected(
            "conflict",
            # The answer does not say which seal was recorded: reading it off the bag is
            # the point. The dispatcher sees both.
            InvalidTransition(
                f"seal {seen} is not the seal recorded for bag {bag.code}; kept for a dispatcher",
                field="details.seal_number",
            ),
        )


def _check_destination(actor: Actor, target: Target, bags: Mapping[str, Bag]) -> None:
    """A bag arrives only where its manifest sends it: scanned in at another post office, its
    items stay in transit and the scan is kept as an exception for a dispatcher."""
    bag = next((b for b in bags.values() if b.id == target.state.bag_id), None)
    if bag is None or bag.destination_post_office_id is None:
        return
    destination = party("post_office", bag.destination_post_office_id)
    if actor.party != destination:
        raise _Rejected(
            "conflict",
            InvalidTransition(
                f"bag {bag.code} is addressed to {destination}, not {actor.party}",
                field="code",
                reason="bag.wrong_destination",
                params={"code": bag.code, "destination": bag.destination_post_office_id},
            ),
        )


def _may_come_to_hold(actor: Actor, target: Target) -> bool:
    """Is this the courier who takes the item on its round (so their offer may be real)?"""
    if actor.role != "courier":
        return False
    if actor.user_id in (target.pickup_courier_id, target.delivery_courier_id):
        return True
    return (
        target.pickup_courier_id is None and actor.post_office_id == target.booking_post_office_id
    )


def _write(
    session: Session,
    event_rows: list[dict[str, Any]],
    receipt_rows: list[dict[str, Any]],
    exception_rows: list[dict[str, Any]],
    targets: Mapping[str, Target],
    recorded_at: datetime,
) -> None:
    if exception_rows:
        session.execute(insert(CustodyException), exception_rows)
    changed = [t for t in targets.values() if t.changed]
    write_batch(session, event_rows, receipt_rows, changed, recorded_at)
    session.flush()


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
    target = Target(
        item_id=item.id, code=code, kind=kind, case_id=case_id, pickup_courier_id=None,
        delivery_courier_id=None, booking_post_office_id=None, booking_citizen_id=None,
        state=state, last_seq=0, last_hash=GENESIS_HASH, last_event_at=occurred_at,
    )  # fmt: skip
    command = ScanCommand(kind=first_kind, code=code, occurred_at=occurred_at,
                          details=details or {})  # fmt: skip
    row = event_row(
        target=target, rule=rule, actor=actor, command=command,
        occurred_offset=offset_of(occurred_at), from_party=None, to_party=holder,
        bag_code=None, bag_id=None, details=details or {}, recorded_at=recorded_at,
    )  # fmt: skip
    write_batch(session, [row], [], [], recorded_at)
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
