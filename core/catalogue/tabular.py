"""Reading and writing the flat tables a clerk fills in: CSV (UTF-8, with or without BOM)
or an Excel workbook with one named sheet per kind.

Every value comes out as a stripped string with its line number, so validation treats both
formats alike and names the same line the clerk sees in Excel (line 1 is the header).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Literal

from core.catalogue.messages import message

FileFormat = Literal["csv", "xlsx"]
FORMATS: tuple[FileFormat, ...] = ("csv", "xlsx")


@dataclass(frozen=True)
class RowError:
    """One reason a file was refused. ``line`` 0 means the file as a whole."""

    line: int
    column: str | None
    reason_vi: str
    reason_en: str
    value: str | None = None

    @classmethod
    def of(
        cls, line: int, column: str | None, code: str, value: str | None = None, **values: object
    ) -> RowError:
        vi, en = message(code, value=value, column=column, **values)
        return cls(line, column, vi, en, value)

    def to_json(self) -> dict[str, object]:
        return {
            "line": self.line,
            "column": self.column,
            "reason_vi": self.reason_vi,
            "reason_en": self.reason_en,
            "value": self.value,
        }


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


class UnreadableFile(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(e.reason_en for e in errors))
        self.errors = errors


def detect_format(data: bytes, filename: str | None = None) -> FileFormat:
    # An .xlsx is a zip archive; trusting the bytes over the name survives a renamed file.
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if filename and filename.lower().endswith(".xlsx"):
        return "xlsx"
    return "csv"


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, float) and value.is_integer():
        # Excel stores every number as a float: 200000 comes back as 200000.0.
        return str(int(value))
    return str(value).strip()


def _table(header: list[str], records: list[tuple[int, list[str]]]) -> Table:
    columns = [h.strip() for h in header]
    table = Table(columns)
    for line, values in records:
        if not any(v.strip() for v in values):
            continue  # blank lines, common at the end of an Excel export, carry nothing
        padded = values + [""] * (len(columns) - len(values))
        table.rows.append((line, {c: padded[i].strip() for i, c in enumerate(columns) if c}))
    return table


def read_csv(data: bytes) -> Table:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile([RowError.of(0, None, "unreadable", why=str(exc))]) from exc
    first_line = text.split("\n", 1)[0]
    # Excel in a Vietnamese locale saves "CSV" with semicolons.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    previous_end = 0
    for values in reader:
        start = previous_end + 1  # a quoted value may span lines: name the record's first
        previous_end = reader.line_num
        if header is None:
            header = values
            continue
        records.append((start, values))
    if header is None:
        raise UnreadableFile([RowError.of(0, None, "empty_file")])
    return _table(header, records)


def read_xlsx(data: bytes, sheet: str) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001  openpyxl raises many kinds for a bad archive
        raise UnreadableFile([RowError.of(0, None, "unreadable", why=type(exc).__name__)]) from exc
    try:
        if sheet not in workbook.sheetnames:
            found = ", ".join(workbook.sheetnames)
            raise UnreadableFile([RowError.of(0, None, "wrong_sheet", sheet=sheet, found=found)])
        rows = workbook[sheet].iter_rows(values_only=True)
        header_row = next(rows, None)
        if header_row is None:
            raise UnreadableFile([RowError.of(0, None, "empty_file")])
        header = [_cell_text(v) for v in header_row]
        records = [
            (line, [_cell_text(v) for v in values]) for line, values in enumerate(rows, start=2)
        ]
    finally:
        workbook.close()
    return _table(header, records)


def read_table(data: bytes, fmt: FileFormat, sheet: str) -> Table:
    return read_xlsx(data, sheet) if fmt == "xlsx" else read_csv(data)


def write_table(columns: list[str], rows: list[list[str]], fmt: FileFormat, sheet: str) -> bytes:
    if fmt == "xlsx":
        from openpyxl import Workbook
        from openpyxl.utils import get_column_letter

        workbook = Workbook()
        worksheet = workbook.active
        assert worksheet is not None
        worksheet.title = sheet
        worksheet.append(columns)
        for row in rows:
            worksheet.append(row)
        for index, column in enumerate(columns, start=1):
            width = max([len(column), *(len(r[index - 1]) for r in rows)] or [10])
            letter = get_column_letter(index)
            worksheet.column_dimensions[letter].width = min(60, width + 2)
        worksheet.freeze_panes = "A2"
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    # The BOM makes Excel open the file as UTF-8, so the diacritics survive a double-click.
    return ("\ufeff" + text.getvalue()).encode("utf-8")
