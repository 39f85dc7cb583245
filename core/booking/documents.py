"""The booking receipt PDF: what was booked, the itemised amounts, and the transfer QR."""

from __future__ import annotations

from core.booking.service import CitizenCase, booking_vietqr
from core.settings import Settings
from labels.documents import FeeLine, FeeReceipt, PaymentMethod, render_fee_receipt


def booking_receipt_pdf(settings: Settings, view: CitizenCase) -> bytes:
    booking = view.context.booking
    lines = view.terms.quote["lines"] if view.terms is not None else []
    items = [FeeLine(f"{line['label_vi']} / {line['label_en']}", int(line["amount_vnd"]))
             for line in lines]  # fmt: skip
    if not items:
        items = [FeeLine("Đặt lịch / Booking", 0)]
    method: PaymentMethod = (
        "bank_transfer" if view.terms and view.terms.payment_method == "vietqr" else "cash"
    )
    receipt = FeeReceipt(
        receipt_no=f"HS-{view.context.case.id:06d}",
        issued_at=booking.created_at,
        post_office=view.context.post_office.name,
        payer_name=booking.contact_name,
        payer_address=booking.address_text,
        item_id=view.dossier_code,
        items=items,
        payment_method=method,
        collector_name=view.context.post_office.name,
        payment_qr_payload=booking_vietqr(settings, view),
    )
    return render_fee_receipt(receipt)
