"""A phone's batch of events, checked and recorded: every event gets its own answer.

Everything goes to the ledger in one ``record`` call, which locks, deduplicates by client
event ID, runs the door-step checks (pickup, refusal, delivery, failed attempt, departure on a
round: ``doorstep.prepare``) on the locked items, decides and writes. Nothing here is
all-or-nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.courier.doorstep import (
    CHECKED_KINDS,
    FACTS_SQL,
    ItemFacts,
    Refused,
    facts_for,
    facts_from_rows,
    prepare,
)
from core.custody.attempts import attempts_used_up
from core.custody.commands import ScanCommand, ScanResult
from core.custody.device_signing import Checked, active_keys, check_scan, store_signatures
from core.custody.parties import Actor, item_provinces, receiver_problem, receiver_provinces
from core.custody.service import record
from core.errors import InvalidInput
from core.money.doorstep import CashCheck, record_doorstep_cash
from core.outbox.citizen import send_to_citizen
from core.settings import Settings
from labels.errors import InvalidCode
from labels.s10 import validate_item_id

# A phone's clock may run a little fast; an event further ahead is a broken clock or a typo.
# One rule for every statement a phone makes (the scan sync and the door-step forms).
MAX_CLOCK_LEAD = timedelta(days=1)


@dataclass(frozen=True)
class Malformed:
    """An event the edge could not even read; it is answered without touching the ledger."""

    client_event_id: str | None
    code: str
    reason_code: str
    detail: str
    field: str | None


def rejected(entry: Malformed) -> ScanResult:
    return ScanResult(
        outcome="rejected",
        code=entry.code,
        client_event_id=entry.client_event_id,
        reason_code=entry.reason_code,
        detail=entry.detail,
        field=entry.field,
    )


def sync(
    session: Session,
    settings: Settings,
    actor: Actor,
    entries: Sequence[ScanCommand | Malformed],
    *,
    now: datetime,
    device_signed: bool = False,
) -> list[ScanResult]:
    """``device_signed``: the entries are the phone's own statements (the scan sync, the
    door-step forms), each checked against the device's key before the ledger sees it."""
    results: list[ScanResult | None] = [None] * len(entries)
    commands: list[tuple[int, ScanCommand]] = []
    keys = active_keys(session, actor.device_id) if device_signed and actor.device_id else {}
    signed: dict[int, Checked] = {}
    for index, entry in enumerate(entries):
        if isinstance(entry, Malformed):
            results[index] = rejected(entry)
            continue
        if entry.occurred_at > now + MAX_CLOCK_LEAD:
            results[index] = rejected(Malformed(
                client_event_id=entry.client_key, code=entry.code,
                reason_code="invalid_input", field="occurred_at",
                detail="occurred_at: is more than a day ahead of the server's clock",
            ))  # fmt: skip
            continue
        if device_signed and actor.device_id is not None:
            checked = check_scan(entry, keys, required=settings.device_signatures_required)
            if isinstance(checked, ScanResult):
                results[index] = checked  # refused before the ledger: nothing is stored
                continue
            if checked is not None:
                signed[index] = checked
        commands.append((index, entry))
    if not commands:
        return [r for r in results if r is not None]

    checks = DoorstepChecks(session, settings, actor.party, now)
    offers = [command for _, command in commands if command.to_party is not None]
    if offers:
        checks.receivers = Receivers.of(session, offers)
    needs_checks = bool(offers) or any(command.kind in CHECKED_KINDS for _, command in commands)
    recorded = record(
        session,
        actor,
        [command for _, command in commands],
        precheck=checks if needs_checks else None,
    )
    store_signatures(
        session,
        [
            (signed[index], result)
            for (index, _), result in zip(commands, recorded, strict=True)
            if index in signed
        ],
    )
    for (index, command), result in zip(commands, recorded, strict=True):
        results[index] = result
        if command.kind == "attempt_failed" and result.outcome == "accepted":
            _warn_when_attempts_run_out(session, settings, facts_for(checks.facts, command.code))
        if command.kind == "picked_up" and result.outcome == "accepted" and not result.replayed:
            facts = facts_for(checks.facts, command.code)
            _post_doorstep_cash(
                session,
                actor,
                checks.prepared.get(_key(command)),
                facts.case_id if facts is not None else None,
                result,
                now,
            )
    return [r for r in results if r is not None]


@dataclass(frozen=True)
class Receivers:
    """The receivers a batch's hand-offs name, and the provinces of the items handed off:
    read once per batch, before the items are locked (neither changes with custody)."""

    provinces: dict[str, str]
    item_provinces: dict[str, frozenset[str]]

    @classmethod
    def of(cls, session: Session, offers: Sequence[ScanCommand]) -> Receivers:
        codes = []
        for command in offers:
            try:
                codes.append(validate_item_id(command.code))
            except InvalidCode:
                pass  # refused as malformed by the ledger
        return cls(
            provinces=receiver_provinces(session, {c.to_party for c in offers if c.to_party}),
            item_provinces=item_provinces(session, codes),
        )

    def refusal(self, command: ScanCommand) -> ScanResult | None:
        if command.to_party is None:
            return None
        try:
            code = validate_item_id(command.code)
        except InvalidCode:
            return None
        problem = receiver_problem(command.to_party, self.provinces, self.item_provinces.get(code))
        if problem is None:
            return None
        return ScanResult.refusal(command, "invalid_input", InvalidInput(problem, field="to_party"))


class DoorstepChecks:
    """The door-step rules as the ledger's precheck: run after the items are locked, on
    facts read in the same round trip, and never on a replay (a one-time code consumed, or
    attempts that ran out since, would turn the stored answer into another)."""

    facts_sql = FACTS_SQL

    def __init__(self, session: Session, settings: Settings, actor_party: str, now: datetime):
        self.session, self.settings, self.actor_party, self.now = (
            session, settings, actor_party, now,
        )  # fmt: skip
        self.facts: dict[str, ItemFacts] = {}
        self.receivers: Receivers | None = None
        # The pickups as checked (with the cash due), by client key and item code.
        self.prepared: dict[tuple[str | None, str], ScanCommand] = {}

    def load(self, rows: Sequence[Any]) -> None:
        self.facts = facts_from_rows(rows)

    def check(self, command: ScanCommand) -> ScanCommand | ScanResult:
        if self.receivers is not None and (refused := self.receivers.refusal(command)):
            return refused
        if command.kind not in CHECKED_KINDS:
            return command
        try:
            prepared = prepare(
                self.session,
                self.settings,
                command,
                facts_for(self.facts, command.code),
                actor_party=self.actor_party,
                now=self.now,
            )
        except Refused as refusal:
            return ScanResult.refusal(command, refusal.reason_code, refusal.error)
        if prepared.kind == "picked_up":
            self.prepared[(prepared.client_key, prepared.code)] = prepared
        return prepared


def _key(command: ScanCommand) -> tuple[str | None, str]:
    try:
        return command.client_key, validate_item_id(command.code)
    except InvalidCode:
        return command.client_key, command.code


def _post_doorstep_cash(
    session: Session,
    actor: Actor,
    command: ScanCommand | None,
    case_id: int | None,
    result: ScanResult,
    now: datetime,
) -> None:
    """The pickup is in the ledger: post the cash taken, with its receipt, and open the
    exception when it differed from what was due (the check ran before: ``_check_cash``)."""
    if command is None or case_id is None or "cash_due_vnd" not in command.details:
        return  # no quote to compare with, or paid by another method: nothing to post
    event_id = next((str(e["event_id"]) for e in result.events if "event_id" in e), None)
    ref = f"pickup:{event_id or command.client_key or command.code}"
    raw_reason = command.details.get("cash_difference_reason")
    record_doorstep_cash(
        session,
        CashCheck(
            case_id=case_id,
            due_vnd=int(command.details["cash_due_vnd"]),
            collected_vnd=int(command.details.get("fees_collected_vnd", 0)),
            reason_code=str(raw_reason) if raw_reason is not None else None,
        ),
        courier_user_id=actor.user_id,
        event_ref=ref,
        at=command.occurred_at or now,
        note=command.details.get("note"),
    )


def _warn_when_attempts_run_out(
    session: Session, settings: Settings, facts: ItemFacts | None
) -> None:
    """The last allowed attempt failed: the result goes back to the office; tell the citizen."""
    if facts is None or facts.contact_phone is None:
        return
    if not attempts_used_up(facts.delivery_attempts + 1, settings):
        return
    send_to_citizen(
        session,
        phone=facts.contact_phone,
        kind="attempts_exhausted",
        text=f"Bưu tá đã phát kết quả {facts.code} không thành công "
        f"{facts.delivery_attempts + 1} lần. Kết quả sẽ được trả lại bộ phận một cửa; "
        "vui lòng liên hệ để nhận.",
        params={"item_code": facts.code, "attempts": facts.delivery_attempts + 1},
    )
