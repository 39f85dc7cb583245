"""Building catalogue files in tests: CSV text and Excel workbooks from rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import Workbook

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"


def csv_bytes(rows: list[list[str]], *, bom: bool = False) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return (("\ufeff" if bom else "") + text.getvalue()).encode("utf-8")


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    workbook = Workbook()
    first = True
    for name, rows in sheets.items():
        sheet = workbook.active if first else workbook.create_sheet()
        assert sheet is not None
        sheet.title = name
        for row in rows:
            sheet.append(row)
        first = False
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def read_csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
