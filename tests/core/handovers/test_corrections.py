"""A signed hand-over record is corrected by a new signed record, never edited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.custody.models import CustodyEvent
from core.errors import Conflict, Forbidden, InvalidInput
from core.handovers.corrections import correct_handover, superseded_by
from core.handovers.models import Handover, HandoverLine
from core.identity.service import actor_for
from core.money import account_balance, accounts, payment_state
from core.money.models import MoneyTransaction
from core.places.models import Office
from core.settings import Settings
from core.sla.models import SlaFact
from core.sla.rollup import refresh
from tests.core.money.helpers import FEE
from tests.core.money.test_handover_and_cashup import _hand_over, _paid_pickups
from tests.factories import dossier_of, make_user
from tests.journey import both_signatures
from vntime import VN

LATER = datetime(2026, 12, 3, 17, 0, tzinfo=VN)


def test_a_miscounted_fee_is_corrected_by_a_new_signed_record_and_the_money_follows(
    db: Session, settings: Settings
) -> None:
    desk = make_user(db, "desk_officer")
    office = db.get_one(Office, desk.office_id)
    courier = make_user(db, "courier")
    cases = _paid_pickups(db, settings, courier, office, 2)
    first = _hand_over(db, courier, desk, cases, [FEE, FEE - 50_000])
    payable = accounts.agency_payable(office.id)
    assert account_balance(db, payable) == -50_000
    codes = [dossier_of(db, db.get_one(Case, c)).code for c in cases]

    # The desk counted again: the second dossier's fees were all there.
    view = correct_handover(
        db, actor_for(desk), first, reason="Đếm lại: đủ tiền hồ sơ thứ hai", now=LATER,
        item_fees={codes[1]: FEE}, **both_signatures(db),
    )  # fmt: skip
    original = db.get_one(Handover, first)
    record = db.get_one(Handover, view.id)
    assert record.supersedes_id == first and record.correction_reason
    assert record.status == "completed" and record.content_sha256
    assert record.code != original.code and superseded_by(db, first) == record
    assert [(line.item_code, line.outcome, line.fees_confirmed_vnd) for line in view.lines] == [
        (codes[0], "confirmed", FEE), (codes[1], "confirmed", FEE)
    ]  # fmt: skip
    # The original is unchanged and still says what it said.
    assert original.fees_confirmed_vnd == 2 * FEE - 50_000
    # Money: the first posting reversed with the reason, the corrected fees posted.
    assert account_balance(db, payable) == 0
    assert [payment_state(db, c).state for c in cases] == ["handed_to_agency"] * 2
    reversal = db.scalar(select(MoneyTransaction).where(MoneyTransaction.kind == "reversal",
                                                        MoneyTransaction.reason.contains(
                                                            record.code)))  # fmt: skip
    assert reversal is not None
    # Sealed in the ledger on each item, like any signed record.
    sealed = db.scalars(
        select(CustodyEvent.details["content_sha256"].astext).where(
            CustodyEvent.kind == "record_sealed",
            CustodyEvent.details["ref"].astext == record.code,
        )
    ).all()
    assert sealed == [record.content_sha256] * 2

    # Only the latest record of a chain is corrected; the new one is as sealed as the old.
    with pytest.raises(Conflict) as exc:
        correct_handover(db, actor_for(desk), first, reason="lại", now=LATER,
                         note="ghi chú", **both_signatures(db))  # fmt: skip
    assert exc.value.reason == "handover.already_corrected"
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(text("UPDATE handover_lines SET fees_confirmed_vnd = 0 WHERE handover_id = :h"),
                   {"h": record.id})  # fmt: skip


def test_a_correction_that_changes_nothing_or_comes_from_outside_is_refused(
    db: Session, settings: Settings
) -> None:
    desk = make_user(db, "desk_officer")
    office = db.get_one(Office, desk.office_id)
    courier = make_user(db, "courier")
    cases = _paid_pickups(db, settings, courier, office, 1)
    first = _hand_over(db, courier, desk, cases, [FEE])
    code = dossier_of(db, db.get_one(Case, cases[0])).code
    before = db.scalar(select(Handover.id).order_by(Handover.id.desc()).limit(1))
    refusals: list[tuple[dict[str, Any], type[Exception], str | None]] = [
        ({"reason": "", "note": "x"}, InvalidInput, "handover.correction_reason"),
        ({"reason": "r", "item_fees": {code: FEE}}, InvalidInput, "handover.correction_no_change"),
        ({"reason": "r", "item_fees": {code: -1}}, InvalidInput, None),
        ({"reason": "r", "note": "x", "giver_signature_sha256": None}, InvalidInput,
         "handover.both_signatures"),
    ]  # fmt: skip
    for kwargs, kind, reason in refusals:
        signed: dict[str, Any] = {**both_signatures(db), **kwargs}
        with pytest.raises(kind) as exc:
            correct_handover(db, actor_for(desk), first, now=LATER, **signed)
        if reason:
            assert getattr(exc.value, "reason", None) == reason, kwargs
    other_desk = make_user(db, "desk_officer")
    with pytest.raises(Forbidden):
        correct_handover(db, actor_for(other_desk), first, reason="r", note="x", now=LATER,
                         **both_signatures(db))  # fmt: skip
    # Nothing was written by any refusal.
    assert db.scalar(select(Handover.id).order_by(Handover.id.desc()).limit(1)) == before
    assert superseded_by(db, first) is None

    # A note alone is a correction: the fees stay, no money moves.
    balance = account_balance(db, accounts.agency_payable(office.id))
    view = correct_handover(db, actor_for(desk), first, reason="Thiếu ghi chú niêm phong",
                            note="Niêm phong còn nguyên", now=LATER,
                            **both_signatures(db))  # fmt: skip
    assert view.note == "Niêm phong còn nguyên"
    assert account_balance(db, accounts.agency_payable(office.id)) == balance
    assert db.scalars(select(HandoverLine.fees_confirmed_vnd).where(
        HandoverLine.handover_id == view.id)).all() == [FEE]  # fmt: skip


def test_a_correction_is_not_another_sitting_at_the_desk(db: Session, settings: Settings) -> None:
    desk = make_user(db, "desk_officer")
    office = db.get_one(Office, desk.office_id)
    courier = make_user(db, "courier")
    cases = _paid_pickups(db, settings, courier, office, 1)
    first = _hand_over(db, courier, desk, cases, [FEE])
    view = correct_handover(db, actor_for(desk), first, reason="r", note="x", now=LATER,
                            **both_signatures(db))  # fmt: skip
    refresh(db, settings, handovers={first, view.id}, now=LATER)
    subjects = set(db.scalars(select(SlaFact.subject_id).where(SlaFact.subject == "handover",
                                                               SlaFact.subject_id.in_(
                                                                   [first, view.id]))))  # fmt: skip
    assert subjects == {first}
