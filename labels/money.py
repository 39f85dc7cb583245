"""Money papers: the quote a booking gets (not a receipt: nothing was paid yet) and the
receipt (biên lai thu tiền) issued when money is received, or the receipt that cancels one.

Each keeps postage, state fees and the fee-transfer charge on separate lines. Plain data in,
PDF bytes out; times are printed as given (the caller gives Vietnam time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from labels.documents import (
    _CONTENT_W,
    FeeLine,
    _draw_qr,
    _fee_table,
    _field,
    _header,
    _new_pdf,
    _section,
    _signatures,
    _stamp,
)
from labels.errors import InvalidLabelData
from labels.fonts import FAMILY
from labels.s10 import format_item_id


@dataclass(frozen=True, slots=True)
class QuoteDoc:
    """Báo giá: what the booking will cost, line by line, before anything is paid."""

    number: str
    issued_at: dt.datetime
    post_office: str
    citizen_name: str
    item_id: str | None
    lines: Sequence[FeeLine]
    payment_method_label: str
    exemption: str | None = None
    payment_qr_payload: str | None = None


@dataclass(frozen=True, slots=True)
class ReceiptDoc:
    """Biên lai thu tiền (or the receipt cancelling one): money actually received."""

    number: str
    cancelling: bool
    issued_at: dt.datetime
    post_office: str
    payer_name: str
    item_id: str | None
    lines: Sequence[FeeLine]
    method_label: str
    collector_name: str
    cancels_number: str | None = None
    reason: str | None = None
    note: str | None = None


def render_quote(quote: QuoteDoc) -> bytes:
    if not quote.lines:
        raise InvalidLabelData("lines is empty: a quote lists at least one amount")
    pdf = _new_pdf(f"Báo giá {quote.number}")
    _header(pdf, quote.post_office, "BÁO GIÁ DỊCH VỤ / QUOTE", quote.number)
    pdf.set_font(FAMILY, "B", 10)
    pdf.multi_cell(
        _CONTENT_W,
        5,
        "Đây không phải biên lai thu tiền: biên lai được cấp khi bưu điện nhận tiền.\n"
        "This is not a receipt: a receipt is issued when the money is received.",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    _field(pdf, "Thời gian đặt / Booked at", _stamp(quote.issued_at, "issued_at"))
    _field(pdf, "Người đặt / Booked by", quote.citizen_name)
    if quote.item_id is not None:
        _field(pdf, "Mã bưu gửi / Item ID", format_item_id(quote.item_id))
    _field(pdf, "Cách thanh toán đã chọn / Chosen payment", quote.payment_method_label)
    if quote.exemption:
        _field(pdf, "Miễn, giảm / Exemption", quote.exemption)
    _section(pdf, "Các khoản phải trả / Amounts to pay")
    _fee_table(pdf, quote.lines, "Tổng cộng / Total")
    if quote.payment_qr_payload:
        pdf.ln(3)
        y = pdf.get_y()
        _draw_qr(pdf, quote.payment_qr_payload, pdf.l_margin, y, 36)
        pdf.set_xy(pdf.l_margin + 40, y + 4)
        pdf.set_font(FAMILY, "", 9.5)
        pdf.multi_cell(
            _CONTENT_W - 40,
            5,
            "Quét mã VietQR bằng ứng dụng ngân hàng để chuyển khoản.\n"
            "Scan the VietQR code with a banking app to pay by transfer.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_y(y + 38)
    return bytes(pdf.output())


def render_receipt(receipt: ReceiptDoc) -> bytes:
    if not receipt.lines:
        raise InvalidLabelData("lines is empty: a receipt lists at least one amount")
    title = (
        "BIÊN LAI HỦY / CANCELLING RECEIPT" if receipt.cancelling
        else "BIÊN LAI THU TIỀN / RECEIPT"
    )  # fmt: skip
    pdf = _new_pdf(f"Biên lai {receipt.number}")
    _header(pdf, receipt.post_office, title, receipt.number)
    if receipt.cancelling and receipt.cancels_number:
        _field(pdf, "Hủy biên lai / Cancels receipt", receipt.cancels_number)
        _field(pdf, "Lý do / Reason", receipt.reason or "")
    _field(pdf, "Thời gian / Time", _stamp(receipt.issued_at, "issued_at"))
    _field(pdf, "Người nộp / Payer", receipt.payer_name)
    if receipt.item_id is not None:
        _field(pdf, "Mã bưu gửi / Item ID", format_item_id(receipt.item_id))
    _field(pdf, "Hình thức / Method", receipt.method_label)
    if receipt.note:
        _field(pdf, "Ghi chú / Note", receipt.note)
    _section(pdf, "Các khoản thu / Amounts")
    _fee_table(pdf, receipt.lines, "Tổng cộng / Total")
    _signatures(
        pdf,
        (
            ("Người nộp tiền / Payer", receipt.payer_name, None),
            ("Người thu tiền / Collected by", receipt.collector_name, None),
        ),
    )
    return bytes(pdf.output())
