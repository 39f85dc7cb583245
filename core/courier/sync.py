"""A phone's batch of events, checked and recorded: every event gets its own answer.

Everything goes to the ledger in one ``record`` call, which locks, deduplicates by client
event ID, runs the door-step checks (pickup, refusal, delivery, failed attempt, departure on a
round: ``doorstep.prepare``) on the locked items, decides and writes. Nothing here is
all-or-nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
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
from core.custody.parties import Actor, item_provinces, receiver_problem, receiver_provinces
from core.custody.service import record
from core.errors import InvalidInput
from core.outbox.citizen import send_to_citizen
from core.settings import Settings
from labels.errors import InvalidCode
from labels.s10 import validate_item_id


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
) -> list[ScanResult]:
    results: list[ScanResult | None] = [None] * len(entries)
    commands: list[tuple[int, ScanCommand]] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, Malformed):
            results[index] = rejected(entry)
        else:
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
    for (index, command), result in zip(commands, recorded, strict=True):
        results[index] = result
        if command.kind == "attempt_failed" and result.outcome == "accepted":
            _warn_when_attempts_run_out(session, settings, facts_for(checks.facts, command.code))
    return [r for r in results if r is not None]


@dataclass(frozen=True)
class Receivers:
    """The receivers a batch's hand-offs name, and the provinces of the items handed off:
    read once per batch, before the items are locked (neither changes with custody)."""

    provinces: dict[str, str]
    item_provinces: dict[str, str]

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

    def load(self, rows: Sequence[Any]) -> None:
        self.facts = facts_from_rows(rows)

    def check(self, command: ScanCommand) -> ScanCommand | ScanResult:
        if self.receivers is not None and (refused := self.receivers.refusal(command)):
            return refused
        if command.kind not in CHECKED_KINDS:
            return command
        try:
            return prepare(
                self.session,
                self.settings,
                command,
                facts_for(self.facts, command.code),
                actor_party=self.actor_party,
                now=self.now,
            )
        except Refused as refusal:
            return ScanResult.refusal(command, refusal.reason_code, refusal.error)


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
