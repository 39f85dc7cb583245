"""The data printed on a case's papers, read from the records: dossier slip, receipt,
handover record. ``labels.documents`` renders them; this module only gathers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.service import case_context
from core.custody.models import CustodyEvent, Item
from core.custody.parties import party_kind
from core.errors import InvalidInput
from core.handovers.models import Handover
from core.handovers.service import handover_view, party_name
from core.identity.models import User
from core.media.models import MediaObject
from core.money.printing import receipt_doc
from core.money.receipts import receipts_of_case
from core.places.models import PostOffice
from core.settings import Settings
from labels.documents import (
    Discrepancy,
    DiscrepancyKind,
    DocumentLine,
    DossierSlip,
    FeeLine,
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


def _pickup(session: Session, item: Item) -> CustodyEvent | None:
    return session.scalar(
        select(CustodyEvent)
        .where(CustodyEvent.item_id == item.id, CustodyEvent.kind == "picked_up")
        .order_by(CustodyEvent.seq.desc())
        .limit(1)
    )


def _png(session: Session, sha256: object) -> bytes | None:
    """A stored signature's bytes, when it is a PNG (the renderers take PNG only)."""
    if not isinstance(sha256, str):
        return None
    media = session.get(MediaObject, sha256)
    return bytes(media.data) if media and media.content_type == "image/png" else None


def _user_name(session: Session, user_id: int | None) -> str:
    name = session.scalar(select(User.full_name).where(User.id == user_id)) if user_id else None
    return name or "—"


def _fees(session: Session, case_id: int) -> list[FeeLine]:
    """What the citizen has paid, line by line as the receipts say (cancelled ones netted
    out): postage, state fees and the fee-transfer charge never merge."""
    paid: dict[str, tuple[str, int]] = {}
    for receipt in receipts_of_case(session, case_id):
        for line in receipt.lines:
            label = f"{line['label_vi']} / {line['label_en']}"
            before = paid.get(line["line"], (label, 0))[1]
            paid[line["line"]] = (label, before + int(line["amount_vnd"]))
    return [FeeLine(label, amount) for label, amount in paid.values() if amount]


def dossier_slip_for(session: Session, item: Item) -> DossierSlip:
    assert item.case_id is not None
    ctx = case_context(session, item.case_id)
    pickup = _pickup(session, item)
    details: dict[str, Any] = dict(pickup.details) if pickup else {}
    evidence: dict[str, Any] = dict(pickup.evidence) if pickup else {}
    # A checklist from the door, if the courier app sent one: names of papers found missing.
    absent = {
        str(entry.get("doc"))
        for entry in details.get("checklist") or []
        if isinstance(entry, dict) and entry.get("present") is False
    }
    documents = [
        DocumentLine(
            name=str(doc.get("name_vi")),
            kind="original" if doc.get("form") == "original" else "copy",
            count=max(int(doc.get("quantity") or 1), 1),
            present=str(doc.get("name_vi")) not in absent,
        )
        for doc in ctx.procedure.documents
    ] or [DocumentLine(name="Hồ sơ theo thủ tục / Dossier as the procedure lists", kind="original")]
    return DossierSlip(
        slip_no=f"PHS-{item.code}",
        item_id=item.code,
        created_at=(pickup.occurred_at if pickup else item.created_at).astimezone(VN),
        post_office=ctx.post_office.name,
        procedure_name=ctx.procedure.name_vi,
        destination_office=ctx.office.name_vi,
        citizen_name=ctx.booking.contact_name,
        citizen_phone=ctx.booking.contact_phone,
        citizen_address=ctx.booking.address_text,
        courier_name=_user_name(session, pickup.actor_user_id if pickup else None),
        documents=documents,
        seal_number=details.get("seal_number"),
        fees=_fees(session, item.case_id),
        citizen_signature_png=_png(session, evidence.get("citizen_signature_sha256")),
        courier_signature_png=_png(session, evidence.get("courier_signature_sha256")),
    )


def latest_receipt(session: Session, item: Item) -> ReceiptDoc:
    """The last receipt of the item's case, as issued (a cancelling one included)."""
    assert item.case_id is not None
    receipts = receipts_of_case(session, item.case_id)
    if not receipts:
        raise InvalidInput(f"no money has been received for {item.code} yet: nothing to receipt",
                           field="item_id")  # fmt: skip
    return receipt_doc(session, receipts[-1])


def handover_record_for(session: Session, settings: Settings, handover_id: int) -> HandoverRecord:
    view = handover_view(session, handover_id)
    handover = session.get(Handover, handover_id)
    assert handover is not None
    to_office = party_kind(view.to_party) == "office"
    office_party, courier_party = (
        (view.to_party, view.from_party) if to_office else (view.from_party, view.to_party)
    )
    courier_id = (
        int(courier_party.split(":", 1)[1]) if party_kind(courier_party) == "courier" else None
    )
    courier = session.get(User, courier_id) if courier_id else None
    post_office = (
        session.get(PostOffice, courier.post_office_id)
        if courier and courier.post_office_id
        else None
    )
    desk_user_id = (
        handover.completed_by_user_id
        if handover.completed_by_user_id is not None
        else handover.opened_by_user_id
    )
    codes = [line.item_code for line in view.lines]
    items = {i.code: i for i in session.scalars(select(Item).where(Item.code.in_(codes)))}
    handed: list[HandoverItem] = []
    for line in view.lines:
        item = items.get(line.item_code)
        if line.accepted is False or line.outcome == "extra" or item is None:
            continue
        handed.append(_handover_item(session, item))
    discrepancies = [
        Discrepancy(line.item_code, _DISCREPANCY[line.outcome], line.reason or "—")
        for line in view.lines
        if line.outcome in _DISCREPANCY
    ]
    fees = (
        view.fees_confirmed_vnd if view.fees_confirmed_vnd is not None else view.fees_declared_vnd
    )
    return HandoverRecord(
        record_no=view.code,
        handed_at=(view.completed_at or view.opened_at).astimezone(VN),
        direction="dossiers_to_office" if to_office else "results_to_courier",
        office_name=party_name(session, office_party),
        post_office=post_office.name if post_office else "Bưu điện / Post office",
        courier_name=courier.full_name if courier else party_name(session, courier_party),
        desk_officer_name=_user_name(session, desk_user_id),
        items=handed,
        discrepancies=discrepancies,
        fees_handed_over=[FeeLine("Phí, lệ phí thu hộ / Fees collected on behalf", fees)]
        if fees
        else [],
        record_url=f"{settings.public_base_url.rstrip('/')}/desk/handovers/{view.id}",
        courier_signature_png=_png(
            session, view.giver_signature_sha256 if to_office else view.receiver_signature_sha256
        ),
        desk_signature_png=_png(
            session, view.receiver_signature_sha256 if to_office else view.giver_signature_sha256
        ),
    )


def _handover_item(session: Session, item: Item) -> HandoverItem:
    if item.case_id is None:
        return HandoverItem(item.code, "—", 1)
    ctx = case_context(session, item.case_id)
    pickup = _pickup(session, item) if item.kind == "dossier" else None
    docs = sum(max(int(d.get("quantity") or 1), 1) for d in ctx.procedure.documents) or 1
    kind = "Hồ sơ" if item.kind == "dossier" else "Kết quả"
    return HandoverItem(
        item_id=item.code,
        description=f"{kind}: {ctx.procedure.name_vi} — {ctx.booking.contact_name}",
        document_count=docs if item.kind == "dossier" else 1,
        seal_number=(dict(pickup.details).get("seal_number") if pickup else None),
    )
