"""A4 paper documents of the journey: dossier slip and handover record (the money's quote and
receipts: labels.money).

Each is printed or kept as PDF evidence beside the custody events, so the text is the
legal record: Vietnamese first, full diacritics, and amounts spelled the Vietnamese way.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from fpdf import FPDF
from fpdf.fonts import FontFace

from labels import codes
from labels.errors import InvalidCode, InvalidLabelData
from labels.fonts import BOLD, FAMILY, REGULAR
from labels.s10 import format_item_id, validate_item_id
from labels.text import format_vnd, mask_phone
from vntime import vn_stamp

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PAGE_W = 210.0
_MARGIN = 15.0
_CONTENT_W = _PAGE_W - 2 * _MARGIN


DocumentForm = Literal["original", "certified_copy", "copy"]
DocumentStatus = Literal["received", "shown", "not_applicable", "missing"]

FORM_TITLES: dict[str, str] = {
    "original": "Bản chính / Original",
    "certified_copy": "Bản sao chứng thực / Certified copy",
    "copy": "Bản sao / Copy",
}
FORM_SHORT: dict[str, str] = {
    "original": "bản chính",
    "certified_copy": "bản sao chứng thực",
    "copy": "bản sao",
}
STATUS_TITLES: dict[str, str] = {
    "received": "Đã nhận / Received",
    "shown": "Xuất trình, không thu / Shown, not taken",
    "not_applicable": "Không áp dụng / Not applicable",
    "missing": "Thiếu / Missing",
}


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One paper in a dossier as checked at the door: its form, the pages received, and
    whether it was received, only shown (an ID card), not applicable (a conditional paper,
    with its condition) or missing."""

    name: str
    form: DocumentForm
    pages: int = 1
    status: DocumentStatus = "received"
    condition: str | None = None


@dataclass(frozen=True, slots=True)
class FeeLine:
    label: str
    amount_vnd: int


@dataclass(frozen=True, slots=True)
class DossierSlip:
    """Phiếu hồ sơ: filled at the citizen's door, signed by citizen and courier."""

    slip_no: str
    item_id: str
    created_at: dt.datetime
    post_office: str
    procedure_name: str
    destination_office: str
    citizen_name: str
    citizen_phone: str
    citizen_address: str
    courier_name: str
    documents: Sequence[DocumentLine]
    seal_number: str | None
    fees: Sequence[FeeLine]
    citizen_signature_png: bytes | None = None
    courier_signature_png: bytes | None = None
    notes: str | None = None
    # The citizen's verifiable receipt of the pickup (core/custody/receipts.py): printed as a
    # link and a QR.
    receipt_url: str | None = None
    # Who took the dossier for the post: the courier at the door, or a clerk at the counter.
    staff_title: str = "Bưu tá / Courier"


@dataclass(frozen=True, slots=True)
class HandoverItem:
    """One dossier (or result) on a hand-over record, with what it holds and its fees."""

    item_id: str
    description: str
    document_count: int  # pages handed over
    seal_number: str | None = None
    # What the envelope holds, e.g. "Tờ khai (bản chính, 2 tờ); Văn bản ủy quyền (không áp
    # dụng: nếu ủy quyền)"; empty for a result.
    documents: str = ""
    fees_declared_vnd: int = 0
    fees_confirmed_vnd: int | None = None
    agency_dossier_code: str | None = None
    appointment_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class CodeRecordLine:
    """A dossier code recorded after the sitting (its own sealed record), or a correction."""

    item_id: str
    agency_dossier_code: str
    appointment_date: dt.date | None
    recorded_at: dt.datetime
    recorded_by: str
    reason: str | None = None
    superseded: bool = False


DiscrepancyKind = Literal["missing", "extra", "broken_seal", "damaged", "declined"]

DISCREPANCY_TITLES: dict[str, str] = {
    "missing": "Thiếu / Missing",
    "extra": "Thừa / Extra",
    "broken_seal": "Niêm phong không còn nguyên vẹn / Broken seal",
    "damaged": "Hư hỏng / Damaged",
    "declined": "Từ chối nhận / Declined",
}


@dataclass(frozen=True, slots=True)
class Discrepancy:
    item_id: str
    kind: DiscrepancyKind
    reason: str


@dataclass(frozen=True, slots=True)
class HandoverRecord:
    """Biên bản bàn giao between a courier and a one-stop desk officer."""

    record_no: str
    handed_at: dt.datetime
    direction: Literal["dossiers_to_office", "results_to_courier"]
    office_name: str
    post_office: str
    courier_name: str
    desk_officer_name: str
    items: Sequence[HandoverItem]
    discrepancies: Sequence[Discrepancy]
    fees_handed_over: Sequence[FeeLine]
    record_url: str
    courier_signature_png: bytes | None = None
    desk_signature_png: bytes | None = None
    signed: bool = True
    content_sha256: str | None = None
    # A correcting record names the one it replaces and why.
    supersedes: str | None = None
    correction_reason: str | None = None
    code_records: Sequence[CodeRecordLine] = ()


# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------
def _check_item(item_id: str, field: str) -> None:
    try:
        validate_item_id(item_id)
    except InvalidCode as exc:
        raise InvalidLabelData(f"{field}: {exc}") from None


def _check_png(data: bytes | None, field: str) -> None:
    if data is not None and not data.startswith(_PNG_MAGIC):
        raise InvalidLabelData(f"{field} must be PNG image bytes (missing PNG signature)")


def _check_fees(fees: Sequence[FeeLine], field: str) -> None:
    for i, fee in enumerate(fees):
        if fee.amount_vnd < 0:
            raise InvalidLabelData(f"{field}[{i}] ({fee.label!r}) has a negative amount")
        if not fee.label.strip():
            raise InvalidLabelData(f"{field}[{i}] has no label")


# ---------------------------------------------------------------------------------------
# Drawing helpers
# ---------------------------------------------------------------------------------------
def _new_pdf(title: str) -> FPDF:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=_MARGIN)
    pdf.add_font(FAMILY, "", str(REGULAR))
    pdf.add_font(FAMILY, "B", str(BOLD))
    pdf.set_title(title)
    pdf.set_creator("hoso labels")
    pdf.add_page()
    return pdf


def _header(pdf: FPDF, post_office: str, title: str, number: str) -> None:
    half = _CONTENT_W / 2
    top = bottom = pdf.get_y()
    # Two columns, the usual heading of Vietnamese administrative papers: issuer on the
    # left, national motto on the right. Every cell returns to its own column's left edge.
    for x, lines in (
        (_MARGIN, (("B", "TỔNG CÔNG TY BƯU ĐIỆN VIỆT NAM"), ("", post_office))),
        (
            _MARGIN + half,
            (("B", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), ("B", "Độc lập - Tự do - Hạnh phúc")),
        ),
    ):
        pdf.set_xy(x, top)
        for style, text in lines:
            pdf.set_font(FAMILY, style, 9)
            pdf.set_x(x)
            pdf.multi_cell(half, 4.5, text, align="C", new_x="LEFT", new_y="NEXT")
        bottom = max(bottom, pdf.get_y())
    pdf.set_y(bottom + 6)
    pdf.set_font(FAMILY, "B", 15)
    pdf.cell(_CONTENT_W, 7, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 9.5)
    pdf.cell(_CONTENT_W, 5, f"Số / No.: {number}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _field(pdf: FPDF, caption: str, value: str) -> None:
    pdf.set_font(FAMILY, "B", 10)
    w = pdf.get_string_width(caption + ": ") + 1
    pdf.cell(w, 5.5, caption + ":")
    pdf.set_font(FAMILY, "", 10)
    pdf.multi_cell(_CONTENT_W - w, 5.5, value, new_x="LMARGIN", new_y="NEXT")


def _section(pdf: FPDF, title: str) -> None:
    pdf.ln(2)
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(_CONTENT_W, 7, title, new_x="LMARGIN", new_y="NEXT")


_HEAD = FontFace(emphasis="BOLD", fill_color=(230, 230, 230))


def _fee_table(pdf: FPDF, fees: Sequence[FeeLine], total_caption: str) -> int:
    total = sum(f.amount_vnd for f in fees)
    pdf.set_font(FAMILY, "", 10)
    with pdf.table(
        col_widths=(16, 114, 50),
        text_align=("CENTER", "LEFT", "RIGHT"),
        headings_style=_HEAD,
        line_height=6,
    ) as table:
        head = table.row()
        for text in ("STT / No.", "Khoản thu / Item", "Số tiền / Amount"):
            head.cell(text)
        for i, fee in enumerate(fees, 1):
            row = table.row()
            row.cell(str(i))
            row.cell(fee.label)
            row.cell(format_vnd(fee.amount_vnd))
        row = table.row(style=FontFace(emphasis="BOLD"))
        row.cell("")
        row.cell(total_caption)
        row.cell(format_vnd(total))
    return total


def _signatures(pdf: FPDF, parties: Sequence[tuple[str, str, bytes | None]]) -> None:
    """Signature boxes side by side: caption, printed name, and the captured image or a
    blank line to sign by hand."""
    box_h = 38.0
    if pdf.get_y() + box_h > pdf.h - _MARGIN:
        pdf.add_page()
    pdf.ln(4)
    top = pdf.get_y()
    w = _CONTENT_W / len(parties)
    for i, (caption, name, png) in enumerate(parties):
        x = _MARGIN + i * w
        pdf.set_xy(x, top)
        pdf.set_font(FAMILY, "B", 10)
        pdf.multi_cell(w, 5, caption, align="C")
        pdf.set_x(x)
        pdf.set_font(FAMILY, "", 8)
        pdf.multi_cell(w, 4, "(Ký, ghi rõ họ tên / Signature and full name)", align="C")
        img_top = top + 14
        if png is not None:
            pdf.image(
                io.BytesIO(png), x=x + w / 2 - 22, y=img_top, w=44, h=18, keep_aspect_ratio=True
            )
        else:
            pdf.set_draw_color(120)
            pdf.set_dash_pattern(dash=1, gap=1)
            pdf.line(x + 8, img_top + 16, x + w - 8, img_top + 16)
            pdf.set_dash_pattern()
            pdf.set_draw_color(0)
        pdf.set_xy(x, img_top + 19)
        pdf.set_font(FAMILY, "B", 10)
        pdf.multi_cell(w, 5, name, align="C")
    pdf.set_y(top + box_h + 2)


def _draw_qr(pdf: FPDF, data: str, x: float, y: float, size: float) -> None:
    matrix = codes.qr_matrix(data)
    n = len(matrix)
    m = size / n
    pdf.set_fill_color(0)
    for r, row in enumerate(matrix):
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                pdf.rect(x + start * m, y + r * m, (c - start) * m, m, style="F")
            else:
                c += 1


def _stamp(moment: dt.datetime, field: str) -> str:
    """The time a paper states, always on Vietnam's clock: the database hands back UTC, and a
    UTC time printed as it is put 00:58 on a receipt made at 07:58."""
    if moment.tzinfo is None:
        raise InvalidLabelData(f"{field} has no time zone: pass an aware datetime")
    return vn_stamp(moment)


def _receipt_link(pdf: FPDF, url: str) -> None:
    pdf.ln(3)
    size = 24.0
    if pdf.get_y() + size > pdf.h - _MARGIN:
        pdf.add_page()
    y = pdf.get_y()
    _draw_qr(pdf, url, _MARGIN, y, size)
    pdf.set_xy(_MARGIN + size + 4, y + 4)
    pdf.set_font(FAMILY, "", 9)
    pdf.multi_cell(
        _CONTENT_W - size - 4,
        5,
        "Biên nhận kiểm chứng được (sổ cái đã ký) / Verifiable receipt (signed ledger):\n" + url,
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_y(y + size)


# ---------------------------------------------------------------------------------------
# Dossier slip
# ---------------------------------------------------------------------------------------
def render_dossier_slip(slip: DossierSlip) -> bytes:
    """Phiếu hồ sơ as a one- or two-page A4 PDF."""
    _check_item(slip.item_id, "item_id")
    _check_png(slip.citizen_signature_png, "citizen_signature_png")
    _check_png(slip.courier_signature_png, "courier_signature_png")
    _check_fees(slip.fees, "fees")
    if not slip.documents:
        raise InvalidLabelData("documents is empty: a dossier slip lists at least one paper")
    for i, doc in enumerate(slip.documents):
        if doc.form not in FORM_TITLES:
            raise InvalidLabelData(f"documents[{i}].form must be one of {', '.join(FORM_TITLES)}")
        if doc.status not in STATUS_TITLES:
            raise InvalidLabelData(
                f"documents[{i}].status must be one of {', '.join(STATUS_TITLES)}"
            )
        if doc.status == "received" and doc.pages < 1:
            raise InvalidLabelData(f"documents[{i}] ({doc.name!r}) must have pages >= 1")
        if doc.pages < 0:
            raise InvalidLabelData(f"documents[{i}] ({doc.name!r}) has negative pages")

    pdf = _new_pdf(f"Phiếu hồ sơ {slip.slip_no}")
    _header(pdf, slip.post_office, "PHIẾU HỒ SƠ / DOSSIER SLIP", slip.slip_no)
    _field(pdf, "Mã bưu gửi / Item ID", format_item_id(slip.item_id))
    _field(pdf, "Thời gian nhận / Received at", _stamp(slip.created_at, "created_at"))
    _field(pdf, "Thủ tục / Procedure", slip.procedure_name)
    _field(pdf, "Nơi nộp / Destination office", slip.destination_office)
    _field(pdf, "Người nộp / Citizen", slip.citizen_name)
    _field(pdf, "Điện thoại / Phone", mask_phone(slip.citizen_phone))
    _field(pdf, "Địa chỉ / Address", slip.citizen_address)
    _field(pdf, slip.staff_title, slip.courier_name)
    _field(pdf, "Số niêm phong / Seal no.", slip.seal_number or "Chưa niêm phong / Not sealed")

    _section(pdf, "Danh mục giấy tờ đã nhận / Documents received")
    pdf.set_font(FAMILY, "", 9)
    with pdf.table(
        col_widths=(10, 66, 40, 14, 50),
        text_align=("CENTER", "LEFT", "CENTER", "CENTER", "LEFT"),
        headings_style=_HEAD,
        line_height=4.8,
    ) as table:
        head = table.row()
        for text in (
            "STT",
            "Tên giấy tờ / Document",
            "Hình thức / Form",
            "Số tờ / Pages",
            "Tình trạng / Status",
        ):
            head.cell(text)
        for i, doc in enumerate(slip.documents, 1):
            row = table.row()
            row.cell(str(i))
            row.cell(doc.name)
            row.cell(FORM_TITLES[doc.form])
            row.cell(str(doc.pages) if doc.status == "received" else "—")
            status = STATUS_TITLES[doc.status]
            if doc.status == "not_applicable" and doc.condition:
                status = f"{status} ({doc.condition})"
            row.cell(status)
        received = [d for d in slip.documents if d.status == "received"]
        row = table.row(style=FontFace(emphasis="BOLD"))
        row.cell("")
        row.cell(f"Cộng giấy tờ nhận / Documents received: {len(received)}")
        row.cell("")
        row.cell(str(sum(d.pages for d in received)))
        row.cell("")
    missing = [d.name for d in slip.documents if d.status == "missing"]
    if missing:
        pdf.set_font(FAMILY, "B", 10)
        pdf.multi_cell(
            _CONTENT_W,
            6,
            f"Hồ sơ thiếu / Missing: {'; '.join(missing)}",
            new_x="LMARGIN",
            new_y="NEXT",
        )

    _section(pdf, "Phí, lệ phí, cước đã thu / Fees collected")
    _fee_table(pdf, slip.fees, "Tổng cộng / Total")
    if slip.notes:
        _section(pdf, "Ghi chú / Notes")
        pdf.set_font(FAMILY, "", 10)
        pdf.multi_cell(_CONTENT_W, 6, slip.notes, new_x="LMARGIN", new_y="NEXT")
    if slip.receipt_url:
        _receipt_link(pdf, slip.receipt_url)

    _signatures(
        pdf,
        (
            ("Người nộp hồ sơ / Citizen", slip.citizen_name, slip.citizen_signature_png),
            (slip.staff_title, slip.courier_name, slip.courier_signature_png),
        ),
    )
    return bytes(pdf.output())


# ---------------------------------------------------------------------------------------
# Handover record
# ---------------------------------------------------------------------------------------
def render_handover_record(record: HandoverRecord) -> bytes:
    """Biên bản bàn giao as an A4 PDF, with a QR to the record online."""
    _check_png(record.courier_signature_png, "courier_signature_png")
    _check_png(record.desk_signature_png, "desk_signature_png")
    _check_fees(record.fees_handed_over, "fees_handed_over")
    if not record.items and not record.discrepancies:
        raise InvalidLabelData("a handover record needs at least one item or discrepancy")
    for i, item in enumerate(record.items):
        _check_item(item.item_id, f"items[{i}].item_id")
        if item.fees_declared_vnd < 0 or (item.fees_confirmed_vnd or 0) < 0:
            raise InvalidLabelData(f"items[{i}] ({item.item_id}) has a negative fee")
    for i, disc in enumerate(record.discrepancies):
        _check_item(disc.item_id, f"discrepancies[{i}].item_id")
        if disc.kind not in DISCREPANCY_TITLES:
            raise InvalidLabelData(
                f"discrepancies[{i}].kind must be one of {', '.join(DISCREPANCY_TITLES)}, "
                f"got {disc.kind!r}"
            )
        if not disc.reason.strip():
            raise InvalidLabelData(f"discrepancies[{i}] ({disc.item_id}) needs a reason")
    url = record.record_url
    if not url.startswith(("https://", "http://")) or not url.isascii():
        raise InvalidLabelData(f"record_url must be an absolute http(s) URL, got {url!r}")

    pdf = _new_pdf(f"Biên bản bàn giao {record.record_no}")
    _header(pdf, record.post_office, "BIÊN BẢN BÀN GIAO / HANDOVER RECORD", record.record_no)
    direction = (
        "Bưu điện giao hồ sơ cho cơ quan / Post office hands dossiers to the office"
        if record.direction == "dossiers_to_office"
        else "Cơ quan giao kết quả cho bưu điện / Office hands results to the post office"
    )
    _field(pdf, "Nội dung / Purpose", direction)
    _field(pdf, "Thời gian / Time", _stamp(record.handed_at, "handed_at"))
    _field(pdf, "Cơ quan / Office", record.office_name)
    _field(pdf, "Cán bộ tiếp nhận / Desk officer", record.desk_officer_name)
    _field(pdf, "Bưu tá / Courier", record.courier_name)

    if record.supersedes:
        _field(
            pdf,
            "Thay thế biên bản / Supersedes",
            f"{record.supersedes} — {record.correction_reason or '—'}",
        )

    _section(pdf, f"Hồ sơ, kết quả bàn giao / Items handed over ({len(record.items)})")
    total_docs = sum(i.document_count for i in record.items)
    pdf.set_font(FAMILY, "", 8.5)
    with pdf.table(
        col_widths=(9, 31, 76, 22, 21, 21),
        text_align=("CENTER", "LEFT", "LEFT", "CENTER", "RIGHT", "RIGHT"),
        headings_style=_HEAD,
        line_height=4.8,
    ) as table:
        head = table.row()
        for text in (
            "STT",
            "Mã bưu gửi / Item ID",
            "Hồ sơ, giấy tờ / Contents",
            "Niêm phong / Seal",
            "Phí khai / Declared",
            "Phí nhận / Confirmed",
        ):
            head.cell(text)
        for i, item in enumerate(record.items, 1):
            row = table.row()
            row.cell(str(i))
            row.cell(format_item_id(item.item_id))
            row.cell(_contents(item))
            row.cell(item.seal_number or "—")
            row.cell(format_vnd(item.fees_declared_vnd))
            row.cell(
                format_vnd(item.fees_confirmed_vnd) if item.fees_confirmed_vnd is not None else "—"
            )
        declared, confirmed = _fee_totals(record)
        row = table.row(style=FontFace(emphasis="BOLD"))
        row.cell("")
        row.cell(f"Cộng / Total: {len(record.items)}")
        row.cell(f"Số tờ / Pages: {total_docs}")
        row.cell("")
        row.cell(format_vnd(declared))
        row.cell(format_vnd(confirmed) if confirmed is not None else "—")
    if confirmed is not None and confirmed != declared:
        # The gap is part of the signed record: it cannot be left off or netted away.
        pdf.set_font(FAMILY, "B", 10)
        pdf.multi_cell(
            _CONTENT_W,
            6,
            f"Chênh lệch phí, lệ phí / Fee difference: {format_vnd(confirmed - declared)} "
            f"(khai / declared {format_vnd(declared)}, nhận / confirmed {format_vnd(confirmed)})",
            new_x="LMARGIN",
            new_y="NEXT",
        )

    _section(pdf, "Sai lệch / Discrepancies")
    if record.discrepancies:
        pdf.set_font(FAMILY, "", 9.5)
        with pdf.table(
            col_widths=(11, 42, 52, 75),
            text_align=("CENTER", "LEFT", "LEFT", "LEFT"),
            headings_style=_HEAD,
            line_height=5.5,
        ) as table:
            head = table.row()
            for text in ("STT", "Mã bưu gửi / Item ID", "Loại / Kind", "Lý do / Reason"):
                head.cell(text)
            for i, disc in enumerate(record.discrepancies, 1):
                row = table.row()
                row.cell(str(i))
                row.cell(format_item_id(disc.item_id))
                row.cell(DISCREPANCY_TITLES[disc.kind])
                row.cell(disc.reason)
    else:
        pdf.set_font(FAMILY, "", 10)
        pdf.cell(_CONTENT_W, 6, "Không có / None", new_x="LMARGIN", new_y="NEXT")

    if record.fees_handed_over:
        _section(pdf, "Phí, lệ phí bàn giao / Fees handed over")
        _fee_table(pdf, record.fees_handed_over, "Tổng cộng / Total")

    if record.code_records:
        _section(pdf, "Mã hồ sơ, ngày hẹn (ghi sau khi ký) / Dossier codes recorded later")
        pdf.set_font(FAMILY, "", 8.5)
        with pdf.table(
            col_widths=(31, 50, 22, 35, 42),
            text_align=("LEFT", "LEFT", "CENTER", "LEFT", "LEFT"),
            headings_style=_HEAD,
            line_height=4.8,
        ) as table:
            head = table.row()
            for text in (
                "Mã bưu gửi / Item ID",
                "Mã hồ sơ / Dossier code",
                "Ngày hẹn / Due",
                "Ghi bởi, lúc / Recorded",
                "Ghi chú / Note",
            ):
                head.cell(text)
            for line in record.code_records:
                row = table.row()
                row.cell(format_item_id(line.item_id))
                row.cell(line.agency_dossier_code)
                row.cell(f"{line.appointment_date:%d/%m/%Y}" if line.appointment_date else "—")
                row.cell(f"{line.recorded_by}, {_stamp(line.recorded_at, 'recorded_at')}")
                note = "Đã được thay thế / Superseded" if line.superseded else ""
                if line.reason:
                    note = f"{note} {line.reason}".strip()
                row.cell(note or "—")

    pdf.set_font(FAMILY, "", 8)
    if not record.signed:
        pdf.set_font(FAMILY, "B", 10)
        pdf.cell(_CONTENT_W, 6, "CHƯA KÝ — BẢN NHÁP / NOT SIGNED — DRAFT",
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    elif record.content_sha256:
        pdf.multi_cell(
            _CONTENT_W,
            4,
            "Nội dung đã ký được niêm phong trong sổ giao nhận / Signed content sealed in the "
            f"custody ledger: SHA-256 {record.content_sha256}",
            new_x="LMARGIN",
            new_y="NEXT",
        )

    pdf.ln(3)
    qr_size = 24.0
    if pdf.get_y() + qr_size > pdf.h - _MARGIN:
        pdf.add_page()
    y = pdf.get_y()
    _draw_qr(pdf, url, _MARGIN, y, qr_size)
    pdf.set_xy(_MARGIN + qr_size + 4, y + 6)
    pdf.set_font(FAMILY, "", 9)
    pdf.multi_cell(
        _CONTENT_W - qr_size - 4,
        5,
        f"Tra cứu biên bản / Record online:\n{url}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_y(y + qr_size)
    _signatures(
        pdf,
        (
            ("Bên giao / Handed over by", _giver(record), _giver_sig(record)),
            ("Bên nhận / Received by", _taker(record), _taker_sig(record)),
        ),
    )
    return bytes(pdf.output())


def _contents(item: HandoverItem) -> str:
    lines = [item.description]
    if item.documents:
        lines.append(item.documents)
    if item.agency_dossier_code:
        lines.append(f"Mã hồ sơ / Code: {item.agency_dossier_code}")
    if item.appointment_date:
        lines.append(f"Hẹn trả / Due: {item.appointment_date:%d/%m/%Y}")
    return "\n".join(lines)


def _fee_totals(record: HandoverRecord) -> tuple[int, int | None]:
    declared = sum(i.fees_declared_vnd for i in record.items)
    confirmed = [i.fees_confirmed_vnd for i in record.items]
    if all(c is None for c in confirmed):
        return declared, None
    return declared, sum(c or 0 for c in confirmed)


def _giver(r: HandoverRecord) -> str:
    return r.courier_name if r.direction == "dossiers_to_office" else r.desk_officer_name


def _taker(r: HandoverRecord) -> str:
    return r.desk_officer_name if r.direction == "dossiers_to_office" else r.courier_name


def _giver_sig(r: HandoverRecord) -> bytes | None:
    return r.courier_signature_png if r.direction == "dossiers_to_office" else r.desk_signature_png


def _taker_sig(r: HandoverRecord) -> bytes | None:
    return r.desk_signature_png if r.direction == "dossiers_to_office" else r.courier_signature_png


# ---------------------------------------------------------------------------------------
# Fee receipt
# ---------------------------------------------------------------------------------------
