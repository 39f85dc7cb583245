"""The dashboard's tables as plain rows, and their CSV and Excel files.

A cell that a spreadsheet would read as a formula (it begins with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) is written as text with a leading apostrophe: a courier's or a
procedure's name comes from people, and a file a supervisor opens must not run it (OWASP
"CSV injection"). Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Font

from core.sla.measures import MEASURES
from core.sla.report import STAGES, BreakdownRow, Figure, LateItem, QueueMedians
from vntime import VN

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]


def _t(lang: str, vi: str, en: str) -> str:
    return en if lang == "en" else vi


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _avg(figure: Figure) -> float | None:
    avg = figure.average
    if avg is None:
        return None
    return round(avg / 3600, 2) if figure.measure.average == "seconds" else round(avg, 2)


def figures_table(figures: Sequence[Figure], lang: str, queue: QueueMedians | None = None) -> Table:
    headers = [_t(lang, "Chỉ số", "Measure"), _t(lang, "Đạt", "Met"),
               _t(lang, "Tổng", "Total"), _t(lang, "Tỷ lệ (%)", "Rate (%)"),
               _t(lang, "Mục tiêu (%)", "Goal (%)"),
               _t(lang, "Trung bình (giờ / sao)", "Average (hours / stars)")]  # fmt: skip
    rows: list[list[Cell]] = [
        [
            _t(lang, f.measure.vi, f.measure.en),
            f.hits,
            f.total,
            _pct(f.rate),
            _pct(f.measure.goal),
            _avg(f),
        ]  # fmt: skip
        for f in figures
    ]
    if queue is not None and "counter_wait" in {f.measure.key for f in figures}:
        # The counter's medians, in minutes (the last column), beside how many tickets.
        rows.append([_t(lang, "Thời gian chờ trung vị tại quầy (phút)",
                        "Median wait at the counter (minutes)"), None, queue.tickets_waited,
                     None, None, queue.wait_minutes])  # fmt: skip
        rows.append([_t(lang, "Thời gian phục vụ trung vị tại quầy (phút)",
                        "Median service at the counter (minutes)"), None, queue.tickets_served,
                     None, None, queue.serve_minutes])  # fmt: skip
    return Table("figures", _t(lang, "Các chỉ số", "Measures"), headers, rows)


BY_TITLES = {
    "post_office": ("Theo bưu cục", "By post office"),
    "office": ("Theo bộ phận một cửa", "By office"),
    "courier": ("Theo bưu tá", "By courier"),
    "procedure": ("Theo thủ tục", "By procedure"),
}


def breakdown_table(by: str, rows: Sequence[BreakdownRow], lang: str) -> Table:
    title = _t(lang, *BY_TITLES[by])
    headers: list[str] = [title.split(" ", 1)[1].capitalize() if lang == "en" else title]
    # The level's own measures (every row has the same): a courier's has no counter queue.
    keys = list(rows[0].figures) if rows else list(MEASURES)
    for key in keys:
        m = MEASURES[key]
        headers.append(_t(lang, m.vi, m.en) + " (%)")
        headers.append(_t(lang, "số lượng", "count"))
    out: list[list[Cell]] = []
    for row in rows:
        cells: list[Cell] = [row.name]
        for key in keys:
            figure = row.figures[key]
            cells += [_pct(figure.rate), figure.total]
        out.append(cells)
    return Table(f"by_{by}", title, headers, out)


def late_table(items: Sequence[LateItem], lang: str) -> Table:
    headers = [_t(lang, "Việc chậm", "Late"), _t(lang, "Mã bưu gửi", "Item"),
               _t(lang, "Hồ sơ", "Case"), _t(lang, "Đang giữ", "Held by"),
               _t(lang, "Hạn", "Due"), _t(lang, "Chậm (giờ)", "Late (hours)")]  # fmt: skip
    rows: list[list[Cell]] = [
        [
            _t(lang, *STAGES[i.stage]),
            i.item_code,
            i.case_id,
            i.holder_name,
            i.due_at.astimezone(VN).strftime("%d/%m/%Y %H:%M"),
            i.late_hours,
        ]  # fmt: skip
        for i in items
    ]
    return Table("late", _t(lang, "Đang chậm", "Late now"), headers, rows)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(cell: Cell) -> Cell:
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark: Excel opens Vietnamese text right only with it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe(h) for h in table.headers])
    for row in table.rows:
        writer.writerow(["" if c is None else safe(c) for c in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: Table, *, subtitle: str, made_at: datetime) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = table.name[:31]
    sheet.append([safe(table.title)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([safe(subtitle)])
    sheet.append([made_at.astimezone(VN).strftime("%d/%m/%Y %H:%M")])
    sheet.append([])
    sheet.append([safe(h) for h in table.headers])
    for cell in sheet[5]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([safe(c) for c in row])
    # A cell openpyxl would store as a formula is stored as text whatever it starts with.
    for row_cells in sheet.iter_rows():
        for cell in row_cells:
            if cell.data_type == "f":
                cell.data_type = "s"
    sheet.column_dimensions["A"].width = 42
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
