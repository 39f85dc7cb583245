"""Hand-over sittings: open a list, receive item by item, note discrepancies, complete and sign.

Custody itself moves only through ledger events (``core.custody.service``): opening offers
every listed item to the receiver (``handover_offered``), each scan by the other side confirms
one (``handover_confirmed``), and completing declines whatever was never presented
(``handover_declined``, reason ``missing``), so those items stay with the giver, on record.
The handover rows are the paper (biên bản bàn giao) built from those events: what was listed,
what came, what was wrong, the fees passed on and who signed.

Each ledger event here carries a client event ID derived from the handover and the item, so
a repeated request (a double click, a retried phone call) is answered by the ledger's replay
rule instead of recording twice.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from core.custody.commands import ScanCommand, ScanResult
from core.custody.models import Item
from core.custody.parties import (
    Actor,
    item_provinces,
    parse_receiver,
    party_kind,
    party_row_id,
    receiver_problem,
    receiver_provinces,
)
from core.custody.sealing import RECORD_HANDOVER, content_hash, seal
from core.custody.service import record, record_one
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, code_refusal
from core.handovers.models import Handover, HandoverLine
from core.handovers.paper import handover_content
from core.identity.models import User
from core.media.service import missing_media, validate_sha256
from core.money.handover import HandedFee, post_agency_handover, post_fees_to_courier
from core.places.models import Office, PostOffice
from labels.errors import InvalidCode
from labels.s10 import validate_item_id
from vntime import in_vietnam

# Namespace for the client event IDs of hand-over events (uuid5 of handover code and item).
_EVENT_NAMESPACE = uuid.UUID("5b0f3c1e-7a52-4f3e-9d6c-2f1b8e0a4d21")
DISCREPANCIES = ("damaged", "seal_broken", "declined")
MAX_ITEMS = 500
_NEXT_HANDOVER_ID = text("SELECT nextval(pg_get_serial_sequence('handovers', 'id'))")


@dataclass(frozen=True)
class OpenedHandover:
    handover: Handover
    # Items that could not be offered (not held by the giver, unknown, ...), with the reason.
    refused: list[ScanResult]


@dataclass(frozen=True)
class LineView:
    item_code: str
    outcome: str
    accepted: bool | None
    reason: str | None
    fees_declared_vnd: int = 0
    fees_confirmed_vnd: int | None = None

    @property
    def fees_mismatch(self) -> bool:
        return self.fees_confirmed_vnd is not None and (
            self.fees_confirmed_vnd != self.fees_declared_vnd
        )


@dataclass(frozen=True)
class HandoverView:
    id: int
    code: str
    status: str
    from_party: str
    from_name: str
    to_party: str
    to_name: str
    opened_by_party: str
    opened_at: datetime
    completed_at: datetime | None
    fees_declared_vnd: int
    fees_confirmed_vnd: int | None
    giver_signature_sha256: str | None
    receiver_signature_sha256: str | None
    note: str | None
    lines: list[LineView]
    counts: dict[str, int] = field(default_factory=dict)
    opened_by_user_id: int | None = None
    completed_by_user_id: int | None = None
    content_sha256: str | None = None

    @property
    def fees_mismatch(self) -> bool:
        return self.fees_confirmed_vnd is not None and (
            self.fees_confirmed_vnd != self.fees_declared_vnd
        )

    @property
    def discrepancies(self) -> list[LineView]:
        return [line for line in self.lines if line.outcome not in ("expected", "confirmed")]

    @property
    def items_moved(self) -> int:
        return sum(1 for line in self.lines if line.accepted)


def _event_id(handover: Handover, item_code: str, step: str) -> uuid.UUID:
    return uuid.uuid5(_EVENT_NAMESPACE, f"{handover.code}:{item_code}:{step}")


def _item_code(raw: str, field: str = "code") -> str:
    try:
        return validate_item_id(raw)
    except InvalidCode as exc:
        raise code_refusal(exc, field) from exc


def open_handover(
    session: Session,
    actor: Actor,
    *,
    giver: str,
    receiver: str,
    item_codes: Sequence[str],
    now: datetime,
    fees_declared_vnd: int = 0,
    item_fees: Mapping[str, int] | None = None,
    note: str | None = None,
) -> OpenedHandover:
    """Open a hand-over of ``item_codes`` from ``giver`` to ``receiver``.

    The acting party must be one of the two. Items the ledger refuses to offer are returned in
    ``refused`` and left off the list; if none can be offered, nothing is created.
    ``item_fees``: the state fees handed over with each dossier, by item code; the record's
    total is their sum. A total alone (``fees_declared_vnd``) is taken only when it cannot be
    ambiguous: zero, or a single item.
    """
    if actor.user_id is None:
        raise Forbidden("a hand-over is opened by a person", field="actor")
    if actor.party not in (giver, receiver):
        raise Forbidden(f"{actor.party} is neither side of this hand-over", field="actor")
    if giver == receiver:
        raise InvalidInput("giver and receiver must differ", field="receiver")
    for name, value in (("giver", giver), ("receiver", receiver)):
        if party_kind(value) not in ("courier", "office", "post_office"):
            raise InvalidInput(f"{value} cannot take part in a hand-over", field=name)
        parse_receiver(value, field=name)
    if fees_declared_vnd < 0:
        raise InvalidInput("fees cannot be negative", field="fees_declared_vnd")
    codes = list(dict.fromkeys(_item_code(c, "item_codes") for c in item_codes))
    if not codes:
        raise InvalidInput("list at least one item", field="item_codes")
    if len(codes) > MAX_ITEMS:
        raise InvalidInput(f"at most {MAX_ITEMS} items per hand-over", field="item_codes")
    declared = fees_by_item(codes, item_fees, fees_declared_vnd, "fees_declared_vnd")
    _check_sides(session, giver, receiver, codes)

    handover_id, code = next_record_number(session, now)
    handover = Handover(
        id=handover_id,
        code=code,
        from_party=giver,
        to_party=receiver,
        opened_by_party=actor.party,
        opened_by_user_id=actor.user_id,
        status="open",
        fees_declared_vnd=0,
        note=note,
        opened_at=now,
    )
    session.add(handover)
    session.flush()
    commands = [
        ScanCommand(
            kind="handover_offered",
            code=code,
            occurred_at=now,
            client_event_id=_event_id(handover, code, "offered"),
            to_party=receiver,
            details={"handover_code": handover.code},
        )
        for code in codes
    ]
    results = record(session, actor, commands)
    offered = [r for r in results if r.outcome == "accepted"]
    refused = [r for r in results if r.outcome != "accepted"]
    if not offered:
        first = refused[0]
        raise Conflict(
            f"no item could be offered: {first.code}: {first.detail}", field="item_codes"
        )
    rows = session.execute(
        select(Item.code, Item.id).where(Item.code.in_([r.code for r in offered]))
    )
    # A Result has .keys(), so dict(rows) would read it as a mapping; unpack the rows instead.
    item_ids = {code: item_id for code, item_id in rows}  # noqa: C416
    session.add_all(
        HandoverLine(
            handover_id=handover.id, item_code=r.code, item_id=item_ids[r.code],
            outcome="expected", fees_declared_vnd=declared.get(r.code, 0),
        )
        for r in offered
    )  # fmt: skip
    # The total is the sum of the lines: a fee declared for an item that could not be
    # offered is not on this record.
    handover.fees_declared_vnd = sum(declared.get(r.code, 0) for r in offered)
    session.flush()
    return OpenedHandover(handover=handover, refused=refused)


def next_record_number(session: Session, now: datetime) -> tuple[int, str]:
    """A new record's row ID and its code. The code is printed on the record, so it is made
    from the row's own ID up front."""
    handover_id = int(session.execute(_NEXT_HANDOVER_ID).scalar_one())
    # The year on the paper is Vietnam's: at 23:30 UTC on 31 December it is already 1 January.
    return handover_id, f"BG-{in_vietnam(now):%Y}-{handover_id:06d}"


def fees_by_item(
    codes: Sequence[str], item_fees: Mapping[str, int] | None, total: int | None, total_field: str
) -> dict[str, int]:
    """Each item's fee from ``item_fees`` (by code, however typed), or from an unambiguous
    total; a total given beside per-item fees must be their sum."""
    if item_fees is None:
        if total is None or total == 0:
            return {}
        if total < 0:
            raise InvalidInput("fees cannot be negative", field=total_field)
        if len(codes) == 1:
            return {codes[0]: total}
        raise InvalidInput(
            "give the fees of each dossier (item_fees)",
            field="item_fees",
            reason="handover.fees_per_dossier",
        )
    fees: dict[str, int] = {}
    for raw, amount in item_fees.items():
        code = _item_code(raw, "item_fees")
        if code not in codes:
            raise InvalidInput(f"{code} is not on this hand-over", field="item_fees")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise InvalidInput(f"{code}: fees are whole đồng, not negative", field="item_fees")
        fees[code] = amount
    if total and total != sum(fees.values()):
        raise InvalidInput(
            f"the total {total} differs from the sum per dossier {sum(fees.values())}",
            field=total_field,
            reason="handover.fees_total_differs",
            params={"total": total, "sum": sum(fees.values())},
        )
    return fees


def _check_sides(session: Session, giver: str, receiver: str, codes: list[str]) -> None:
    """Both sides exist and may hold an item, and belong to the province of every item:
    a hand-over to no one could never be confirmed, and the item would be stuck for good."""
    provinces = receiver_provinces(session, (giver, receiver))
    of_items = item_provinces(session, codes)
    for name, value in (("giver", giver), ("receiver", receiver)):
        for code in codes:
            problem = receiver_problem(value, provinces, of_items.get(code))
            if problem is not None:
                raise InvalidInput(f"{problem} ({code})", field=name)


def _open_for_confirmer(session: Session, actor: Actor, handover_id: int) -> Handover:
    handover = session.get(Handover, handover_id, with_for_update=True)
    if handover is None:
        raise NotFound(
            f"no hand-over {handover_id}", field="handover_id", reason="handover.unknown"
        )
    if handover.status != "open":
        raise Conflict(
            f"hand-over {handover.code} is {handover.status}",
            field="handover_id",
            reason="handover.closed",
            params={"code": handover.code},
        )
    confirmer = confirming_party(handover)
    if actor.party != confirmer:
        raise Forbidden(
            f"hand-over {handover.code} is confirmed by {confirmer}",
            field="actor",
            reason="transition.confirm_by",
            params={"party_text": f"party.{party_kind(confirmer)}"},
        )
    return handover


def confirming_party(handover: Handover) -> str:
    """The side that did not open the hand-over confirms it."""
    return (
        handover.to_party
        if handover.opened_by_party == handover.from_party
        else (handover.from_party)
    )


def _line(session: Session, handover: Handover, code: str) -> HandoverLine | None:
    return session.scalar(
        select(HandoverLine)
        .where(HandoverLine.handover_id == handover.id, HandoverLine.item_code == code)
        .with_for_update()
    )


def receive_item(
    session: Session, actor: Actor, handover_id: int, raw_code: str, *, now: datetime
) -> HandoverLine:
    """The confirming side scans one item: a listed item is confirmed, anything else is extra.

    Scanning the same item again returns its line unchanged.
    """
    handover = _open_for_confirmer(session, actor, handover_id)
    code = _item_code(raw_code)
    line = _line(session, handover, code)
    if line is None:
        item_id = session.scalar(select(Item.id).where(Item.code == code))
        line = HandoverLine(
            handover_id=handover.id,
            item_code=code,
            item_id=item_id,
            outcome="extra",
            accepted=False,
            reason="không có trong danh sách bàn giao / not on the hand-over list",
        )
        session.add(line)
        session.flush()
        return line
    if line.outcome == "expected":
        _confirm(session, actor, handover, code, now)
        line.outcome, line.accepted = "confirmed", True
        session.flush()
    return line


def _confirm(session: Session, actor: Actor, handover: Handover, code: str, now: datetime) -> None:
    record_one(
        session,
        actor,
        ScanCommand(
            kind="handover_confirmed",
            code=code,
            occurred_at=now,
            client_event_id=_event_id(handover, code, "confirmed"),
            details={"handover_code": handover.code},
        ),
    )


def _decline(
    session: Session, actor: Actor, handover: Handover, code: str, reason_code: str, now: datetime
) -> None:
    record_one(
        session,
        actor,
        ScanCommand(
            kind="handover_declined",
            code=code,
            occurred_at=now,
            client_event_id=_event_id(handover, code, "declined"),
            details={"handover_code": handover.code, "reason_code": reason_code},
        ),
    )


def mark_line(
    session: Session,
    actor: Actor,
    handover_id: int,
    raw_code: str,
    *,
    outcome: Literal["damaged", "seal_broken", "declined"],
    reason: str,
    accept: bool,
    now: datetime,
) -> HandoverLine:
    """Record a discrepancy on a listed item.

    Damage or a broken seal is noted in the ledger (``damage_noted``); the receiver then either
    accepts the item as it is (custody moves, the remark stays) or refuses it (custody stays
    with the giver). ``declined`` refuses an item for another reason, given in ``reason``.
    """
    if outcome not in DISCREPANCIES:
        raise InvalidInput(f"outcome must be one of {', '.join(DISCREPANCIES)}", field="outcome")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say what is wrong", field="reason", reason="handover.say_what")
    if outcome == "declined" and accept:
        raise InvalidInput(
            "a declined item cannot be accepted",
            field="accept",
            reason="handover.declined_not_accepted",
        )
    handover = _open_for_confirmer(session, actor, handover_id)
    code = _item_code(raw_code)
    line = _line(session, handover, code)
    if line is None:
        raise NotFound(
            f"{code} is not on hand-over {handover.code}",
            field="code",
            reason="handover.not_listed",
            params={"code": code, "record": handover.code},
        )
    movable = line.outcome == "expected"
    noting_after_receipt = line.outcome == "confirmed" and outcome != "declined"
    if not (movable or noting_after_receipt):
        raise Conflict(
            f"{code} is already {line.outcome}",
            field="code",
            reason="handover.line_done",
            params={"code": code},
        )
    if outcome != "declined":
        record_one(
            session,
            actor,
            ScanCommand(
                kind="damage_noted",
                code=code,
                occurred_at=now,
                client_event_id=_event_id(handover, code, f"damage:{outcome}"),
                details={
                    "handover_code": handover.code,
                    "reason_code": outcome,
                    "reason": reason,
                },
            ),
        )
    if movable:
        if accept:
            _confirm(session, actor, handover, code, now)
        else:
            _decline(session, actor, handover, code, outcome, now)
    line.outcome, line.reason = outcome, reason
    line.accepted = True if noting_after_receipt else accept
    session.flush()
    return line


def complete_handover(
    session: Session,
    actor: Actor,
    handover_id: int,
    *,
    now: datetime,
    fees_confirmed_vnd: int | None = None,
    item_fees: Mapping[str, int] | None = None,
    giver_signature_sha256: str | None = None,
    receiver_signature_sha256: str | None = None,
    note: str | None = None,
) -> HandoverView:
    """Close the sitting and sign the record: unseen items are declined as missing, each
    dossier's fees confirmed, both drawn signatures required. The signed record is sealed
    (its content hash in the ledger on every listed item) and can no longer change.

    ``item_fees``: the fees the desk received with each dossier, by item code. Without them,
    a total equal to what the courier declared (or no total) confirms every line as
    declared, and a total of zero confirms none; any other total must be split per dossier.
    """
    # Only the confirming side completes: asked first, so nobody else learns more.
    handover = _open_for_confirmer(session, actor, handover_id)
    checked = checked_signatures(session, giver_signature_sha256, receiver_signature_sha256)
    lines = session.scalars(
        select(HandoverLine)
        .where(HandoverLine.handover_id == handover.id, HandoverLine.outcome != "extra")
        .order_by(HandoverLine.id)
        .with_for_update()
    ).all()
    confirmed = _confirmed_fees(lines, item_fees, fees_confirmed_vnd)
    for line in lines:
        if line.outcome == "expected":
            _decline(session, actor, handover, line.item_code, "missing", now)
            line.outcome, line.accepted = "missing", False
            line.reason = "không có khi bàn giao / not presented at the hand-over"
        line.fees_confirmed_vnd = confirmed.get(line.item_code, 0)
    # The lines first: once the hand-over row says completed, the database refuses them.
    session.flush()
    handover.fees_declared_vnd = sum(line.fees_declared_vnd for line in lines)
    handover.fees_confirmed_vnd = sum(confirmed.values())
    if note:
        handover.note = f"{handover.note}\n{note}" if handover.note else note
    sign_and_seal(session, actor, handover, checked, lines, now)
    post_fees_handed(session, handover, actor, now)
    return handover_view(session, handover.id)


def sign_and_seal(
    session: Session,
    actor: Actor,
    handover: Handover,
    signatures: Mapping[str, str],
    lines: Sequence[HandoverLine],
    now: datetime,
) -> None:
    """Both signatures on the record, completed by ``actor``, its content hash sealed in the
    ledger on every listed item. The lines must be final: from here the database refuses
    any change to the record and its lines."""
    handover.giver_signature_sha256 = signatures["giver_signature_sha256"]
    handover.receiver_signature_sha256 = signatures["receiver_signature_sha256"]
    handover.status = "completed"
    handover.completed_at = now
    handover.completed_by_user_id = actor.user_id
    handover.content_sha256 = content_hash(handover_content(session, handover))
    session.flush()
    seal(
        session,
        actor,
        record_kind=RECORD_HANDOVER,
        ref=handover.code,
        content_sha256=handover.content_sha256,
        item_codes=[line.item_code for line in lines if line.item_id is not None],
        now=now,
    )


def checked_signatures(
    session: Session, giver_signature_sha256: str | None, receiver_signature_sha256: str | None
) -> dict[str, str]:
    """Both drawn signatures, each an uploaded image's hash: a record is never signed by one."""
    signatures = {
        "giver_signature_sha256": giver_signature_sha256,
        "receiver_signature_sha256": receiver_signature_sha256,
    }
    checked: dict[str, str] = {}
    for name, value in signatures.items():
        if value is None:
            raise InvalidInput(
                "both sides must sign the record", field=name, reason="handover.both_signatures"
            )
        checked[name] = validate_sha256(value, name)
        if missing_media(session, [checked[name]]):
            raise InvalidInput(
                "upload the signature image first", field=name, reason="signature.not_uploaded"
            )
    return checked


def post_fees_handed(session: Session, handover: Handover, actor: Actor, now: datetime) -> None:
    """The state fees confirmed per dossier move with the dossiers, in the same transaction as
    the signed record (core.money.handover): from a courier to an office they leave the
    courier's cash and the office's payable; from the post office to a courier taking the
    dossiers on, they leave the till for the courier's cash."""
    giver, receiver = party_kind(handover.from_party), party_kind(handover.to_party)
    giver_id, receiver_id = party_row_id(handover.from_party), party_row_id(handover.to_party)
    if giver_id is None or receiver_id is None:
        return
    if (giver, receiver) not in (("courier", "office"), ("post_office", "courier")):
        return
    received = session.execute(
        select(Item.case_id, HandoverLine.fees_confirmed_vnd)
        .join(HandoverLine, HandoverLine.item_id == Item.id)
        .where(
            HandoverLine.handover_id == handover.id,
            HandoverLine.accepted.is_(True),
            Item.kind == "dossier",
            Item.case_id.is_not(None),
        )
    ).all()
    fees = [HandedFee(case_id, amount) for case_id, amount in received if amount]
    if giver == "courier":
        post_agency_handover(session, handover_id=handover.id, office_id=receiver_id,
                             courier_user_id=giver_id, fees=fees, at=now,
                             actor_user_id=actor.user_id)  # fmt: skip
    else:
        post_fees_to_courier(session, handover_id=handover.id, post_office_id=giver_id,
                             courier_user_id=receiver_id, fees=fees, at=now,
                             actor_user_id=actor.user_id)  # fmt: skip


def _confirmed_fees(
    lines: Sequence[HandoverLine], item_fees: Mapping[str, int] | None, total: int | None
) -> dict[str, int]:
    if total is not None and total < 0:
        raise InvalidInput(
            "fees cannot be negative", field="fees_confirmed_vnd", reason="money.negative"
        )
    declared = {line.item_code: line.fees_declared_vnd for line in lines}
    if item_fees is None and (total is None or total == sum(declared.values())):
        return declared
    return fees_by_item(list(declared), item_fees, total, "fees_confirmed_vnd")


def list_handovers(
    session: Session, party: str, *, status: str | None = "open", limit: int = 100
) -> list[Handover]:
    """Hand-overs ``party`` takes part in, newest first."""
    query = select(Handover).where(or_(Handover.from_party == party, Handover.to_party == party))
    if status is not None:
        query = query.where(Handover.status == status)
    return list(session.scalars(query.order_by(Handover.opened_at.desc()).limit(limit)))


def party_name(session: Session, party: str) -> str:
    """How a party is written on paper: the person's or the office's name."""
    kind = party_kind(party)
    ident = party_row_id(party)  # None for an ID no row can have: shown as written
    name: str | None = None
    if ident is not None:
        if kind in ("courier", "admin"):
            name = session.scalar(select(User.full_name).where(User.id == ident))
        elif kind == "office":
            name = session.scalar(select(Office.name_vi).where(Office.id == ident))
        elif kind == "post_office":
            name = session.scalar(select(PostOffice.name).where(PostOffice.id == ident))
    return name or party


def handover_view(session: Session, handover_id: int) -> HandoverView:
    handover = session.get(Handover, handover_id)
    if handover is None:
        raise NotFound(
            f"no hand-over {handover_id}", field="handover_id", reason="handover.unknown"
        )
    lines = [
        LineView(
            line.item_code,
            line.outcome,
            line.accepted,
            line.reason,
            line.fees_declared_vnd,
            line.fees_confirmed_vnd,
        )
        for line in session.scalars(
            select(HandoverLine)
            .where(HandoverLine.handover_id == handover.id)
            .order_by(HandoverLine.id)
        )
    ]
    return HandoverView(
        id=handover.id,
        code=handover.code,
        status=handover.status,
        from_party=handover.from_party,
        from_name=party_name(session, handover.from_party),
        to_party=handover.to_party,
        to_name=party_name(session, handover.to_party),
        opened_by_party=handover.opened_by_party,
        opened_at=handover.opened_at,
        completed_at=handover.completed_at,
        fees_declared_vnd=handover.fees_declared_vnd,
        fees_confirmed_vnd=handover.fees_confirmed_vnd,
        giver_signature_sha256=handover.giver_signature_sha256,
        receiver_signature_sha256=handover.receiver_signature_sha256,
        note=handover.note,
        lines=lines,
        counts=dict(Counter(line.outcome for line in lines)),
        opened_by_user_id=handover.opened_by_user_id,
        completed_by_user_id=handover.completed_by_user_id,
        content_sha256=handover.content_sha256,
    )
