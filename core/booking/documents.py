"""The booking's quote PDF: what was booked and what it will cost, line by line, with the
transfer QR. Not a receipt: receipts are issued when money is received (core.money)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.booking.service import CitizenCase, booking_vietqr
from core.money.printing import quote_doc
from core.settings import Settings
from labels.money import render_quote


def booking_quote_pdf(session: Session, settings: Settings, view: CitizenCase) -> bytes:
    doc = quote_doc(
        session,
        view.context.case.id,
        issued_at=view.context.booking.created_at,
        qr_payload=booking_vietqr(settings, view),
    )
    return render_quote(doc)
