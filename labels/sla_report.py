"""The monthly service-quality report of a province, as a PDF in the shape of a Vietnamese
administrative report: issuer and national motto, title and month, addressee, numbered
sections of tables, trend charts, and the signature block. Pure: plain values in, bytes out.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from fpdf import FPDF
from fpdf.fonts import FontFace

from labels.fonts import BOLD, FAMILY, REGULAR

_MARGIN = 15.0
_WIDTH = 210.0 - 2 * _MARGIN


@dataclass(frozen=True)
class ReportTable:
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    # Relative column widths; equal when empty.
    widths: Sequence[float] = ()


@dataclass(frozen=True)
class MonthlyReport:
    issuer: str  # e.g. "BƯU ĐIỆN TỈNH BẮC NINH"
    number: str  # the report's number, e.g. "BC-SLA-24-2026-11"
    place_and_date: str  # "Bắc Ninh, ngày 03 tháng 12 năm 2026"
    title: str
    subtitle: str  # "Tháng 11 năm 2026"
    addressee: str
    intro: str
    tables: Sequence[ReportTable]
    charts: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (caption, svg)
    notes: Sequence[str] = ()
    signer_left: str = "NGƯỜI LẬP BÁO CÁO"
    signer_right: str = "GIÁM ĐỐC"


def render_monthly_report(report: MonthlyReport) -> bytes:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=_MARGIN)
    pdf.add_font(FAMILY, "", str(REGULAR))
    pdf.add_font(FAMILY, "B", str(BOLD))
    pdf.set_title(f"{report.title} {report.subtitle}")
    pdf.set_creator("hoso")
    pdf.add_page()
    half = _WIDTH / 2
    top = pdf.get_y()
    bottom = top
    for x, lines in (
        (_MARGIN, (("B", "TỔNG CÔNG TY BƯU ĐIỆN VIỆT NAM"), ("B", report.issuer),
                   ("", f"Số: {report.number}"))),
        (_MARGIN + half, (("B", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
                          ("B", "Độc lập - Tự do - Hạnh phúc"), ("", report.place_and_date))),
    ):  # fmt: skip
        pdf.set_xy(x, top)
        for style, text in lines:
            pdf.set_font(FAMILY, style, 9)
            pdf.set_x(x)
            pdf.multi_cell(half, 4.5, text, align="C", new_x="LEFT", new_y="NEXT")
        bottom = max(bottom, pdf.get_y())
    pdf.set_y(bottom + 6)
    pdf.set_font(FAMILY, "B", 13)
    pdf.multi_cell(_WIDTH, 6, report.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(_WIDTH, 6, report.subtitle, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(FAMILY, "", 10)
    pdf.multi_cell(_WIDTH, 5.5, f"Kính gửi: {report.addressee}", align="C",
                   new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(2)
    pdf.multi_cell(_WIDTH, 5.5, report.intro, new_x="LMARGIN", new_y="NEXT")
    for table in report.tables:
        _table(pdf, table)
    if report.charts:
        pdf.ln(2)
        pdf.set_font(FAMILY, "B", 11)
        pdf.cell(_WIDTH, 7, "Diễn biến trong tháng", new_x="LMARGIN", new_y="NEXT")
        col_w = _WIDTH / 2 - 2
        for i, (caption, svg) in enumerate(report.charts):
            x = _MARGIN + (i % 2) * (col_w + 4)
            if i % 2 == 0 and pdf.get_y() > 297 - _MARGIN - 50:
                pdf.add_page()
            y = pdf.get_y()
            pdf.set_font(FAMILY, "", 8)
            pdf.set_xy(x, y)
            pdf.multi_cell(col_w, 4, caption, new_x="LEFT", new_y="NEXT")
            pdf.image(io.BytesIO(svg.encode("utf-8")), x=x, y=pdf.get_y(), w=col_w)
            if i % 2 == 1 or i == len(report.charts) - 1:
                pdf.set_y(y + 4 + col_w * 140 / 360 + 3)
            else:
                pdf.set_y(y)
    if report.notes:
        pdf.ln(2)
        pdf.set_font(FAMILY, "B", 11)
        pdf.cell(_WIDTH, 7, "Ghi chú", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, "", 9)
        for note in report.notes:
            pdf.multi_cell(_WIDTH, 4.8, f"- {note}", new_x="LMARGIN", new_y="NEXT")
    if pdf.get_y() > 297 - _MARGIN - 35:
        pdf.add_page()
    pdf.ln(6)
    y = pdf.get_y()
    for x, who in ((_MARGIN, report.signer_left), (_MARGIN + half, report.signer_right)):
        pdf.set_xy(x, y)
        pdf.set_font(FAMILY, "B", 10)
        pdf.multi_cell(half, 5, who, align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_font(FAMILY, "", 9)
        pdf.multi_cell(half, 5, "(Ký, ghi rõ họ tên)", align="C", new_x="LEFT", new_y="NEXT")
    return bytes(pdf.output())


def _table(pdf: FPDF, table: ReportTable) -> None:
    pdf.ln(2)
    pdf.set_font(FAMILY, "B", 11)
    pdf.multi_cell(_WIDTH, 6, table.title, new_x="LMARGIN", new_y="NEXT")
    if not table.rows:
        pdf.set_font(FAMILY, "", 9)
        pdf.cell(_WIDTH, 6, "Không có số liệu trong kỳ.", new_x="LMARGIN", new_y="NEXT")
        return
    widths = list(table.widths) or [1.0] * len(table.headers)
    scale = _WIDTH / sum(widths)
    pdf.set_font(FAMILY, "", 8)
    with pdf.table(
        col_widths=[w * scale for w in widths],
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        line_height=4.5,
        text_align="LEFT",
        first_row_as_headings=True,
    ) as grid:
        head = grid.row()
        for h in table.headers:
            head.cell(h)
        for row in table.rows:
            line = grid.row()
            for cell in row:
                line.cell(cell)
