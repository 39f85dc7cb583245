"""The data printed on a case's papers, read from the records: dossier slip, receipt,
handover record. ``labels.documents`` renders them; this module only gathers."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.service import case_context
from core.custody.models import Item
from core.custody.parties import party_kind, party_row_id
from core.errors import InvalidInput
from core.handovers.models import Handover
from core.handovers.service import LineView, handover_view, party_name
from core.identity.models import User
from core.money.printing import receipt_doc
from core.money.receipts import receipts_of_case
from core.papers.codes import records_of
from core.papers.slip import (
    pickup_event,
    signature_png,
    slip_documents,
    user_name,
)
from core.places.models import PostOffice
from core.settings import Settings
from labels.documents import (
    FORM_SHORT,
    CodeRecordLine,
    Discrepancy,
    DiscrepancyKind,
    HandoverItem,
    HandoverRecord,
)
from labels.money import ReceiptDoc
from vntime import VN

# A handover line's outcome as the paper names it.
_DISCREPANCY: dict[str, DiscrepancyKind] = {
    "missing": "missing",
    "extra": "extra",
    "damaged": "damaged",
    "seal_broken": "broken_seal",
    "declined": "declined",
}


def latest_receipt(session: Session, item: Item) -> ReceiptDoc:
    """The last receipt of the item's case, as issued (a cancelling one included)."""
    assert item.case_id is not None
    receipts = receipts_of_case(session, item.case_id)
    if not receipts:
        raise InvalidInput(f"no money has been received for {item.code} yet: nothing to receipt",
                           field="item_id")  # fmt: skip
    return receipt_doc(session, receipts[-1])


def handover_record_for(session: Session, settings: Settings, handover_id: int) -> HandoverRecord:
    """The hand-over record (biên bản bàn giao): each listed dossier with its documents, seal,
    fees declared and confirmed, and its code and appointment once known; both sides named
    as they signed (the courier, and the desk officer who opened or completed it)."""
    view = handover_view(session, handover_id)
    handover = session.get(Handover, handover_id)
    assert handover is not None
    to_office = party_kind(view.to_party) == "office"
    office_party, courier_party = (
        (view.to_party, view.from_party) if to_office else (view.from_party, view.to_party)
    )
    courier_id = party_row_id(courier_party) if party_kind(courier_party) == "courier" else None
    courier = session.get(User, courier_id) if courier_id else None
    post_office = (
        session.get(PostOffice, courier.post_office_id)
        if courier and courier.post_office_id
        else None
    )
    # The office's signer: whoever acted for the office, opening or completing; while the
    # office has not acted yet, nobody (never the courier).
    desk_user_id = (
        view.opened_by_user_id
        if view.opened_by_party == office_party
        else view.completed_by_user_id
    )
    codes = [line.item_code for line in view.lines]
    items = {i.code: i for i in session.scalars(select(Item).where(Item.code.in_(codes)))}
    listed: list[HandoverItem] = []
    code_lines: list[CodeRecordLine] = []
    for line in view.lines:
        item = items.get(line.item_code)
        if line.outcome == "extra" or item is None:
            continue
        listed.append(_handover_item(session, item, line))
        code_lines += _code_lines(session, item, handover)
    discrepancies = [
        Discrepancy(line.item_code, _DISCREPANCY[line.outcome], line.reason or "—")
        for line in view.lines
        if line.outcome in _DISCREPANCY
    ]
    supersedes = session.get(Handover, handover.supersedes_id) if handover.supersedes_id else None
    return HandoverRecord(
        record_no=view.code,
        handed_at=(view.completed_at or view.opened_at).astimezone(VN),
        direction="dossiers_to_office" if to_office else "results_to_courier",
        office_name=party_name(session, office_party),
        post_office=post_office.name if post_office else "Bưu điện / Post office",
        courier_name=courier.full_name if courier else party_name(session, courier_party),
        desk_officer_name=user_name(session, desk_user_id),
        items=listed,
        discrepancies=discrepancies,
        fees_handed_over=[],
        record_url=f"{settings.public_base_url.rstrip('/')}/desk/handovers/{view.id}",
        courier_signature_png=signature_png(
            session, view.giver_signature_sha256 if to_office else view.receiver_signature_sha256
        ),
        desk_signature_png=signature_png(
            session, view.receiver_signature_sha256 if to_office else view.giver_signature_sha256
        ),
        signed=view.status == "completed",
        content_sha256=view.content_sha256,
        supersedes=supersedes.code if supersedes else None,
        correction_reason=handover.correction_reason,
        code_records=code_lines,
    )


def _documents_text(details: dict[str, Any]) -> tuple[str, int]:
    """What a dossier's envelope holds, as one line per paper, and its pages."""
    parts = []
    pages = 0
    for doc in slip_documents(details):
        if doc.status == "received":
            pages += doc.pages
            parts.append(f"{doc.name} ({FORM_SHORT[doc.form]}, {doc.pages} tờ)")
        elif doc.status == "shown":
            parts.append(f"{doc.name} (xuất trình, không thu)")
        elif doc.status == "not_applicable":
            parts.append(f"{doc.name} (không áp dụng: {doc.condition or '—'})")
        else:
            parts.append(f"{doc.name} (thiếu)")
    return "; ".join(parts), pages


def _handover_item(session: Session, item: Item, line: LineView) -> HandoverItem:
    state = "" if line.accepted else f" [{_NOT_TAKEN.get(line.outcome, line.outcome)}]"
    base = HandoverItem(
        item_id=item.code,
        description="—" + state,
        document_count=1 if line.accepted else 0,
        fees_declared_vnd=line.fees_declared_vnd,
        fees_confirmed_vnd=line.fees_confirmed_vnd,
    )
    if item.case_id is None:
        return base
    ctx = case_context(session, item.case_id)
    kind = "Hồ sơ" if item.kind == "dossier" else "Kết quả"
    description = f"{kind}: {ctx.procedure.name_vi} — {ctx.booking.contact_name}{state}"
    if item.kind != "dossier":
        return replace(base, description=description)
    pickup = pickup_event(session, item)
    details: dict[str, Any] = dict(pickup.details) if pickup else {}
    documents, pages = _documents_text(details)
    return replace(
        base,
        description=description,
        document_count=pages if line.accepted else 0,
        seal_number=details.get("seal_number"),
        documents=documents,
        agency_dossier_code=ctx.case.agency_dossier_code,
        appointment_date=ctx.case.appointment_date,
    )


# A listed line the receiver did not take, as the record says it.
_NOT_TAKEN = {
    "missing": "thiếu, không nhận",
    "declined": "từ chối nhận",
    "damaged": "hư hỏng, không nhận",
    "seal_broken": "niêm phong hỏng, không nhận",
}


def _code_lines(session: Session, item: Item, handover: Handover) -> list[CodeRecordLine]:
    """Each code recorded for this dossier (its own sealed record), corrections included."""
    if item.case_id is None or item.kind != "dossier":
        return []
    records = records_of(session, item.case_id)
    latest = records[-1].id if records else None
    return [
        CodeRecordLine(
            item_id=item.code, agency_dossier_code=r.agency_dossier_code,
            appointment_date=r.appointment_date, recorded_at=r.recorded_at.astimezone(VN),
            recorded_by=r.recorded_by_label, reason=r.reason, superseded=r.id != latest,
        )
        for r in records
    ]  # fmt: skip
