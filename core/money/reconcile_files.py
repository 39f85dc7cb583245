"""The reconciliation as files a finance office keeps: a table (CSV or Excel, one row per
figure, so a spreadsheet can sum and compare them) and a one-page PDF."""

from __future__ import annotations

import csv
import io
from typing import Literal

from fpdf import FPDF

from core.money.reconcile import Reconciliation
from labels.fonts import BOLD, FAMILY, REGULAR

METHOD_LABELS = {"cash": ("Tiền mặt", "Cash"), "vietqr": ("Chuyển khoản VietQR", "VietQR")}
LINE_LABELS = {
    "postage": ("Cước bưu chính", "Postage"),
    "state_fee": ("Phí, lệ phí thu hộ", "State fees on behalf"),
    "fee_transfer": ("Cước chuyển phí", "Fee-transfer charge"),
    "overpaid": ("Nộp thừa", "Overpaid"),
}
COLUMNS = ["Mục / Section", "Khoản / Item", "Số tiền (đồng) / Amount (VND)", "Ghi chú / Note"]


def vnd(amount: int) -> str:
    """12.345.000 ₫, as Vietnamese papers write money."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,}".replace(",", ".") + " ₫"


def rows(report: Reconciliation) -> list[list[str]]:
    out: list[list[str]] = []

    def add(section: str, item: str, amount: int | None, note: str = "") -> None:
        out.append([section, item, "" if amount is None else str(amount), note])

    for method, amount in sorted(report.collected_by_method.items()):
        vi, en = METHOD_LABELS.get(method, (method, method))
        add("Đã thu / Collected", f"{vi} / {en}", amount)
    for line, amount in sorted(report.collected_by_line.items()):
        vi, en = LINE_LABELS.get(line, (line, line))
        add("Đã thu theo khoản / Collected by line", f"{vi} / {en}", amount)
    add("Biên lai / Receipts", "Số biên lai / Count", report.receipts_count)
    add("Nộp cơ quan / Handed to the agency", "Tổng / Total", report.handed_to_agency_vnd)
    for office in report.offices:
        add("Nộp cơ quan / Handed to the agency", office.name, office.handed_vnd,
            f"thu hộ {office.state_fees_collected_vnd}, còn nợ {office.payable_vnd}")  # fmt: skip
    add("Tồn quỹ / In the till", "Cuối ngày / End of day", report.in_till_vnd)
    add("Bưu tá giữ / With couriers", "Cuối ngày / End of day", report.with_couriers_vnd)
    for courier in report.couriers:
        note = ("chưa nộp tiền / no cash-up" if courier.cashed_up_vnd is None else
                f"đã nộp {courier.cashed_up_vnd}, chênh lệch {courier.difference_vnd}")  # fmt: skip
        add("Bưu tá / Courier", courier.name, courier.cash_collected_vnd, note)
    add("Ngân hàng / Bank", f"{report.bank_lines_count} dòng sao kê / bank lines",
        report.bank_lines_vnd)  # fmt: skip
    add("Hoàn tiền / Refunds paid", "Tổng / Total", report.refunds_paid_vnd)
    for check in report.checks:
        add("Kiểm tra / Check", f"{check.label_vi} / {check.label_en}", check.actual_vnd,
            ("khớp / ok" if check.ok else f"LỆCH / MISMATCH: cần {check.expected_vnd}")
            + (f" — {check.detail}" if check.detail else ""))  # fmt: skip
    for exc in report.exceptions:
        add("Ngoại lệ / Exception", f"{exc.label_vi} / {exc.label_en}", exc.amount_vnd,
            exc.ref + (f", hồ sơ {exc.case_id}" if exc.case_id else ""))  # fmt: skip
    return out


def table_file(report: Reconciliation, fmt: Literal["csv", "xlsx"]) -> bytes:
    body = rows(report)
    title = f"Đối soát {report.day:%d/%m/%Y} — {report.post_office_name}"
    if fmt == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None
        sheet.title = "doi-soat"
        sheet.append([title])
        sheet.append(COLUMNS)
        for row in body:
            # Amounts as numbers, so the sheet can add them up.
            sheet.append([row[0], row[1], int(row[2]) if row[2] else None, row[3]])
        for letter, width in zip("ABCD", (38, 60, 22, 60), strict=True):
            sheet.column_dimensions[letter].width = width
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(body)
    # The BOM makes Excel open the file as UTF-8, so the diacritics survive a double-click.
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def pdf_file(report: Reconciliation) -> bytes:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font(FAMILY, "", str(REGULAR))
    pdf.add_font(FAMILY, "B", str(BOLD))
    pdf.set_title(f"Đối soát tiền thu hộ {report.day:%d/%m/%Y}")
    pdf.add_page()
    width = pdf.w - 30
    pdf.set_font(FAMILY, "B", 14)
    pdf.cell(width, 8, "BẢNG ĐỐI SOÁT TIỀN THU / DAILY MONEY RECONCILIATION", align="C",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_font(FAMILY, "", 10)
    verdict = "CÂN ĐỐI / BALANCED" if report.balanced else "KHÔNG CÂN ĐỐI / DOES NOT BALANCE"
    pdf.cell(width, 6, f"{report.post_office_name} — ngày {report.day:%d/%m/%Y} — {verdict}",
             align="C", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(3)
    widths = (52, 70, 30, width - 152)
    pdf.set_font(FAMILY, "B", 8)
    for label, w in zip(COLUMNS, widths, strict=True):
        pdf.cell(w, 6, label, border=1)
    pdf.ln()
    pdf.set_font(FAMILY, "", 8)
    for row in rows(report):
        amount = vnd(int(row[2])) if row[2] and not row[1].startswith("Số biên lai") else row[2]
        cells = (row[0], row[1], amount, row[3])
        height = 5 * max(1, *(len(c) // 40 + 1 for c in cells))
        y = pdf.get_y()
        if y + height > pdf.h - 15:
            pdf.add_page()
            y = pdf.get_y()
        x = pdf.l_margin
        for text, w in zip(cells, widths, strict=True):
            pdf.set_xy(x, y)
            pdf.multi_cell(w, 5, text, border=0, align="R" if text is amount else "L")
            x += w
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(width, height, "", border="B", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
