"""A signed paper never changes: the database refuses edits to a signed hand-over record and
to a recorded dossier code; a correction is a new record with a reason; with the protection
bypassed by the owner, the ledger's sealed hash names the paper."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.cases.models import Case, DossierCodeRecord
from core.custody.models import CustodyEvent, Item
from core.custody.sealing import content_hash
from core.errors import Conflict
from core.handovers.models import Handover
from core.handovers.paper import handover_content
from core.identity.service import actor_for
from core.papers.codes import record_dossier_code, records_of
from core.papers.verify import verify_sealed
from core.settings import Settings
from tests.core.papers.helpers import NOW, appointment, code_for, signed_handover


def test_signing_seals_the_record_in_the_ledger(db: Session, settings: Settings) -> None:
    signed = signed_handover(db, settings)
    handover = db.get(Handover, signed.handover_id)
    assert handover is not None and handover.status == "completed"
    assert (handover.fees_declared_vnd, handover.fees_confirmed_vnd) == (400_000, 200_000)
    assert handover.content_sha256 == content_hash(handover_content(db, handover))
    sealed = db.execute(
        select(Item.code, CustodyEvent.details, CustodyEvent.actor_party)
        .join(Item, Item.id == CustodyEvent.item_id)
        .where(CustodyEvent.kind == "record_sealed")
        .where(Item.code.in_(signed.codes))
        .order_by(CustodyEvent.id)
    ).all()
    by_record = {(code, details["record"]) for code, details, _ in sealed}
    # The record on both listed dossiers (the missing one too), the code on the received one.
    assert by_record == {(signed.codes[0], "handover"), (signed.codes[1], "handover"),
                         (signed.codes[0], "dossier_code")}  # fmt: skip
    assert {d["content_sha256"] for _, d, _ in sealed if d["record"] == "handover"} == {
        handover.content_sha256
    }
    checked, problems = verify_sealed(db)
    assert checked >= 2 and problems == []


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("UPDATE handover_lines SET fees_confirmed_vnd = 0 WHERE handover_id = :h", "is signed"),
        ("UPDATE handovers SET fees_confirmed_vnd = 400000 WHERE id = :h", "is signed"),
        ("UPDATE handovers SET receiver_signature_sha256 = NULL WHERE id = :h", "is signed"),
        ("DELETE FROM handover_lines WHERE handover_id = :h", "is signed"),
        ("INSERT INTO handover_lines (handover_id, item_code, outcome, fees_declared_vnd) "
         "VALUES (:h, 'DH000000005VN', 'extra', 0)", "is signed"),
        ("UPDATE cases SET agency_dossier_code = '000.00.24.H05-261203-9999' WHERE id = :c",
         "sealed"),
        ("UPDATE cases SET appointment_date = NULL WHERE id = :c", "sealed"),
        ("UPDATE dossier_code_records SET agency_dossier_code = '000.00.24.H05-261203-9999' "
         "WHERE case_id = :c", "append-only|permission denied"),
    ],
)  # fmt: skip
def test_the_database_refuses_to_change_a_signed_paper(
    db: Session, settings: Settings, statement: str, refusal: str
) -> None:
    signed = signed_handover(db, settings)
    with pytest.raises(DBAPIError, match=refusal), db.begin_nested():
        db.execute(text(statement), {"h": signed.handover_id, "c": signed.case.id})
    db.expire_all()
    case = db.get(Case, signed.case.id)
    assert case is not None and case.agency_dossier_code == code_for(case)


def test_a_correction_is_a_new_record_with_a_reason_and_both_stay(
    db: Session, settings: Settings
) -> None:
    signed = signed_handover(db, settings)
    desk = actor_for(signed.desk)
    wrong = code_for(signed.case, signed.case.id + 5000)
    with pytest.raises(Conflict) as caught:
        record_dossier_code(db, settings, signed.case, wrong, appointment(10), actor=desk,
                            recorded_by="x", source="desk", now=NOW)  # fmt: skip
    assert caught.value.field == "reason"
    # The same code and date again change nothing.
    same = code_for(signed.case)
    record_dossier_code(db, settings, signed.case, same, appointment(10), actor=desk,
                        recorded_by="x", source="desk", now=NOW)  # fmt: skip
    assert len(records_of(db, signed.case.id)) == 1
    record_dossier_code(db, settings, signed.case, wrong, appointment(12), actor=desk,
                        recorded_by=signed.desk.full_name, source="desk", now=NOW,
                        reason="Gõ nhầm số thứ tự")  # fmt: skip
    first, second = records_of(db, signed.case.id)
    assert (second.supersedes_id, second.reason) == (first.id, "Gõ nhầm số thứ tự")
    assert (signed.case.agency_dossier_code, signed.case.appointment_date) == (
        wrong,
        appointment(12),
    )
    assert verify_sealed(db)[1] == []


def test_with_the_protection_bypassed_verify_names_the_paper(
    owner_db: Session, settings: Settings
) -> None:
    db = owner_db  # the tables' owner may switch a trigger off; the app's role may not
    signed = signed_handover(db, settings)
    db.execute(text("ALTER TABLE handover_lines DISABLE TRIGGER handover_lines_sealed"))
    db.execute(
        text("UPDATE handover_lines SET fees_confirmed_vnd = 0 WHERE handover_id = :h"),
        {"h": signed.handover_id},
    )
    db.execute(text("ALTER TABLE handover_lines ENABLE TRIGGER handover_lines_sealed"))
    db.execute(
        text("ALTER TABLE dossier_code_records DISABLE TRIGGER dossier_code_records_append_only")
    )
    db.execute(
        text("UPDATE dossier_code_records SET agency_dossier_code = :c WHERE id = :r"),
        {"c": code_for(signed.case, signed.case.id + 7000), "r": signed.record_id},
    )
    db.execute(
        text("ALTER TABLE dossier_code_records ENABLE TRIGGER dossier_code_records_append_only")
    )
    _, problems = verify_sealed(db)
    named = {(p.record, p.item_code) for p in problems}
    assert named == {
        (f"hand-over record {signed.handover_code}", signed.codes[0]),
        (f"dossier code record {signed.record_id}", signed.codes[0]),
    }
    assert all("content changed after signing" in p.problem for p in problems)
    assert db.get(DossierCodeRecord, signed.record_id) is not None
