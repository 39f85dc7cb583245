"""Correcting a signed hand-over record (biên bản điều chỉnh).

A signed record never changes: the database refuses it. What was wrong on it — a dossier's
fees miscounted at the desk, a remark left out — is corrected by a new record that names the
one it replaces and why, is signed again by both sides and sealed like any record; both stay
printable, and the chain reads oldest to newest. Only the latest record of a chain can be
corrected, so two corrections of one record cannot both stand.

Custody is not corrected here. Which items moved is the ledger's business (a wrong scan is
corrected by an error declaration, ``core.custody.corrections``); the new record copies each
line's outcome as it was signed.

Money follows the record: when the fees change, the posting of the record it replaces is
reversed with the reason (``core.money.ledger.reverse``) and the corrected fees are posted
under the new record, in the same transaction as the signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.custody.parties import Actor
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.handovers.models import Handover, HandoverLine
from core.handovers.service import (
    HandoverView,
    checked_signatures,
    fees_by_item,
    handover_view,
    next_record_number,
    post_fees_handed,
    sign_and_seal,
)
from core.money.ledger import existing, reverse

MAX_REASON = 500


def superseded_by(session: Session, handover_id: int) -> Handover | None:
    """The record that corrected this one, if any."""
    return session.scalar(select(Handover).where(Handover.supersedes_id == handover_id))


def correct_handover(
    session: Session,
    actor: Actor,
    handover_id: int,
    *,
    reason: str,
    now: datetime,
    item_fees: Mapping[str, int] | None = None,
    note: str | None = None,
    giver_signature_sha256: str | None = None,
    receiver_signature_sha256: str | None = None,
) -> HandoverView:
    """Replace signed record ``handover_id`` by a corrected one, signed by both sides.

    ``item_fees``: the fees the desk really received with each dossier, by item code; a
    dossier left out keeps what the record said. A correction must change something (a fee,
    or a ``note`` saying what was wrong); ``reason`` says why, for the paper and the ledger.
    """
    if actor.user_id is None:
        raise Forbidden("a record is corrected by a person", field="actor")
    original = session.get(Handover, handover_id, with_for_update=True)
    if original is None:
        raise NotFound(
            f"no hand-over {handover_id}", field="handover_id", reason="handover.unknown"
        )
    if actor.party not in (original.from_party, original.to_party):
        raise Forbidden(
            f"hand-over {original.code} is between other parties",
            field="handover_id",
            reason="handover.not_a_side",
            params={"code": original.code},
        )
    if original.status != "completed":
        raise Conflict(
            f"hand-over {original.code} is not signed yet: change it in its sitting",
            field="handover_id",
            reason="handover.correct_unsigned",
            params={"code": original.code},
        )
    # The original's row lock makes a second correction wait here, then see the first.
    newer = superseded_by(session, original.id)
    if newer is not None:
        raise Conflict(
            f"hand-over {original.code} was already corrected by {newer.code}",
            field="handover_id",
            reason="handover.already_corrected",
            params={"code": original.code, "newer": newer.code},
        )
    why = (reason or "").strip()
    if not why or len(why) > MAX_REASON:
        raise InvalidInput(
            f"say why the record is corrected (at most {MAX_REASON} characters)",
            field="reason",
            reason="handover.correction_reason",
        )
    remark = (note or "").strip() or None
    signatures = checked_signatures(session, giver_signature_sha256, receiver_signature_sha256)

    lines = list(
        session.scalars(
            select(HandoverLine)
            .where(HandoverLine.handover_id == original.id)
            .order_by(HandoverLine.id)
        )
    )
    listed = [line.item_code for line in lines if line.outcome != "extra"]
    was = {line.item_code: line.fees_confirmed_vnd or 0 for line in lines}
    corrected = {**was, **fees_by_item(listed, item_fees or {}, None, "fees_confirmed_vnd")}
    fees_changed = corrected != was
    if not fees_changed and remark is None:
        raise InvalidInput(
            "nothing to correct: change a dossier's fees or say what was wrong in the note",
            field="item_fees",
            reason="handover.correction_no_change",
        )

    new_id, code = next_record_number(session, now)
    record = Handover(
        id=new_id,
        code=code,
        from_party=original.from_party,
        to_party=original.to_party,
        opened_by_party=actor.party,
        opened_by_user_id=actor.user_id,
        status="open",
        fees_declared_vnd=original.fees_declared_vnd,
        note=remark,
        opened_at=now,
        supersedes_id=original.id,
        correction_reason=why,
    )
    session.add(record)
    session.flush()
    # The lines while the record is open: once it says completed, the database refuses them.
    copies = [
        HandoverLine(
            handover_id=record.id, item_code=line.item_code, item_id=line.item_id,
            outcome=line.outcome, accepted=line.accepted, reason=line.reason,
            fees_declared_vnd=line.fees_declared_vnd,
            fees_confirmed_vnd=(
                corrected[line.item_code] if line.outcome != "extra"
                else line.fees_confirmed_vnd
            ),
        )
        for line in lines
    ]  # fmt: skip
    session.add_all(copies)
    session.flush()
    record.fees_confirmed_vnd = sum(corrected[code] for code in listed)
    sign_and_seal(session, actor, record, signatures, copies, now)
    if fees_changed:
        posted = existing(session, f"handover:{original.id}")
        if posted is not None:
            reverse(session, posted, reason=f"{record.code}: {why}", occurred_at=now,
                    actor_user_id=actor.user_id)  # fmt: skip
        post_fees_handed(session, record, actor, now)
    return handover_view(session, record.id)
