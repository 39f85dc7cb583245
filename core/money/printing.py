"""What the money papers print, gathered from the records: the quote of a booking and the
receipts of the money taken (``labels.money`` renders them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import Booking, Case
from core.custody.models import Item
from core.errors import NotFound
from core.identity.models import User
from core.money.charges import booking_terms
from core.money.models import Receipt
from core.money.receipts import METHOD_LABELS
from core.places.models import PostOffice
from labels.documents import FeeLine
from labels.money import QuoteDoc, ReceiptDoc
from vntime import VN


def _case_item_code(session: Session, case: Case) -> str | None:
    item_id = case.dossier_item_id or case.result_item_id
    return session.scalar(select(Item.code).where(Item.id == item_id)) if item_id else None


def receipt_doc(session: Session, receipt: Receipt) -> ReceiptDoc:
    case = session.get(Case, receipt.case_id)
    assert case is not None
    post = session.get(PostOffice, receipt.post_office_id)
    assert post is not None
    collector = (
        session.scalar(select(User.full_name).where(User.id == receipt.issued_by_user_id))
        if receipt.issued_by_user_id
        else None
    )
    cancels = (
        session.scalar(select(Receipt.number).where(Receipt.id == receipt.cancels_receipt_id))
        if receipt.cancels_receipt_id
        else None
    )
    vi, en = METHOD_LABELS[receipt.method]
    return ReceiptDoc(
        number=receipt.number,
        cancelling=receipt.kind == "cancellation",
        issued_at=receipt.issued_at.astimezone(VN),
        post_office=post.name,
        payer_name=receipt.payer,
        item_id=_case_item_code(session, case),
        lines=[
            FeeLine(f"{line['label_vi']} / {line['label_en']}", int(line["amount_vnd"]))
            for line in receipt.lines
        ],  # fmt: skip
        method_label=f"{vi} / {en}",
        collector_name=collector or post.name,
        cancels_number=cancels,
        reason=receipt.reason if receipt.kind == "cancellation" else None,
        note=receipt.reason if receipt.kind == "receipt" else None,
    )


def quote_doc(
    session: Session, case_id: int, *, issued_at: datetime, qr_payload: str | None
) -> QuoteDoc:
    row = session.execute(
        select(Case, Booking, PostOffice)
        .join(Booking, Booking.id == Case.booking_id)
        .join(PostOffice, PostOffice.id == Booking.post_office_id)
        .where(Case.id == case_id)
    ).first()
    terms = booking_terms(session, case_id)
    if row is None or terms is None:
        raise NotFound(f"no booked case {case_id}", field="case_id")
    case, booking, post = row
    exemption = terms.quote.get("exemption")
    note = None
    if isinstance(exemption, dict):
        note = (f"{exemption.get('label_vi')} / {exemption.get('label_en')} — "
                f"{exemption.get('legal_basis')}; giấy tờ / proof: "
                f"{exemption.get('proof_reference')}")  # fmt: skip
    vi, en = METHOD_LABELS.get(terms.payment_method, (terms.payment_method,) * 2)
    lines = [FeeLine(f"{line['label_vi']} / {line['label_en']}", int(line["amount_vnd"]))
             for line in terms.quote.get("lines", [])]  # fmt: skip
    return QuoteDoc(
        number=f"BG-{case.id:06d}",
        issued_at=issued_at.astimezone(VN),
        post_office=post.name,
        citizen_name=booking.contact_name,
        item_id=_case_item_code(session, case),
        lines=lines or [FeeLine("Không phải trả / Nothing to pay", 0)],
        payment_method_label=f"{vi} / {en}",
        exemption=note,
        payment_qr_payload=qr_payload,
    )
