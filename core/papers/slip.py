"""The dossier slip (phiếu hồ sơ): read from the door-step pickup event, the one record of
what the citizen handed over, so the courier's copy and the desk's are the same paper.

The pickup event is in the custody ledger's hash chain: the slip printed from it cannot
differ from what was signed at the door without ``hoso ledger verify`` seeing it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.service import case_context
from core.custody.models import CustodyEvent, Item
from core.errors import Conflict
from core.identity.models import User
from core.media.models import MediaObject
from labels.documents import DocumentForm, DocumentLine, DocumentStatus, DossierSlip, FeeLine
from vntime import VN


def pickup_event(session: Session, item: Item) -> CustodyEvent | None:
    return session.scalar(
        select(CustodyEvent)
        .where(CustodyEvent.item_id == item.id, CustodyEvent.kind == "picked_up")
        .order_by(CustodyEvent.seq.desc())
        .limit(1)
    )


def signature_png(session: Session, sha256: object) -> bytes | None:
    """A stored signature's bytes, when it is a PNG (the renderers take PNG only)."""
    if not isinstance(sha256, str):
        return None
    media = session.get(MediaObject, sha256)
    return bytes(media.data) if media and media.content_type == "image/png" else None


def user_name(session: Session, user_id: int | None) -> str:
    name = session.scalar(select(User.full_name).where(User.id == user_id)) if user_id else None
    return name or "—"


def fees_collected(procedure_fee: int, pickup: CustodyEvent | None) -> list[FeeLine]:
    """What was collected at the door: the procedure fee first, the rest as postal charge."""
    details: dict[str, Any] = dict(pickup.details) if pickup else {}
    collected = details.get("fees_collected_vnd")
    if collected is None:
        return [FeeLine("Lệ phí thủ tục / Procedure fee", procedure_fee)]
    collected = int(collected)
    lines = [FeeLine("Lệ phí thủ tục / Procedure fee", min(collected, procedure_fee))]
    if collected > procedure_fee:
        lines.append(FeeLine("Cước dịch vụ bưu chính / Postal charge", collected - procedure_fee))
    return lines


def slip_documents(details: dict[str, Any]) -> list[DocumentLine]:
    """The door-step checklist as the slip prints it: what was received, in which form and
    how many pages, what was only shown and what did not apply. Older events, from before
    the checklist kept kinds, read as received or missing."""
    lines = []
    for entry in details.get("checklist") or []:
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("name") or entry.get("doc") or "—")
        form = _FORMS.get(str(entry.get("form")), "copy")
        status = _STATUSES.get(str(entry.get("status")))
        if status is None:
            status = "received" if entry.get("present") else "missing"
        pages = entry.get("pages")
        pages = pages if isinstance(pages, int) and pages >= 1 else 1
        lines.append(
            DocumentLine(
                name=name, form=form, pages=pages if status == "received" else 0,
                status=status, condition=entry.get("condition") or None,
            )
        )  # fmt: skip
    return lines


_FORMS: dict[str, DocumentForm] = {
    "original": "original",
    "certified_copy": "certified_copy",
    "copy": "copy",
}
_STATUSES: dict[str, DocumentStatus] = {
    "received": "received",
    "shown": "shown",
    "not_applicable": "not_applicable",
}


def dossier_slip_for(session: Session, item: Item) -> DossierSlip:
    """The dossier slip (phiếu hồ sơ) as filled and signed at the door: one slip per dossier,
    numbered by its item, the same for the courier's copy and the desk's."""
    assert item.case_id is not None
    ctx = case_context(session, item.case_id)
    pickup = pickup_event(session, item)
    if pickup is None:
        raise Conflict(
            f"{item.code}: no pickup recorded yet, so no slip",
            field="item_id",
            reason="papers.no_pickup_yet",
            params={"code": item.code},
        )
    details: dict[str, Any] = dict(pickup.details)
    evidence: dict[str, Any] = dict(pickup.evidence)
    documents = slip_documents(details) or [
        DocumentLine(name="Hồ sơ theo thủ tục / Dossier as the procedure lists", form="original")
    ]
    return DossierSlip(
        slip_no=f"PHS-{item.code}",
        item_id=item.code,
        created_at=pickup.occurred_at.astimezone(VN),
        post_office=ctx.post_office.name,
        procedure_name=ctx.procedure.name_vi,
        destination_office=ctx.office.name_vi,
        citizen_name=ctx.booking.contact_name,
        citizen_phone=ctx.booking.contact_phone,
        citizen_address=ctx.booking.address_text,
        courier_name=user_name(session, pickup.actor_user_id),
        documents=documents,
        seal_number=details.get("seal_number"),
        fees=fees_collected(ctx.procedure.fee_vnd, pickup),
        citizen_signature_png=signature_png(session, evidence.get("citizen_signature_sha256")),
        courier_signature_png=signature_png(session, evidence.get("courier_signature_sha256")),
        notes=details.get("note"),
        # Received at a post office's counter (core/counter/reception.py): the clerk signed.
        **(
            {"staff_title": "Giao dịch viên / Counter clerk"}
            if pickup.actor_role == "counter_clerk"
            else {}
        ),  # fmt: skip
    )
