"""Reading a bank statement file (sao kê) as Vietnamese banks export it: CSV or Excel .xlsx.

Banks do not share a layout. Each export has a few preamble rows (bank name, account number,
period), then a header row, then one row per transaction; the header names differ by bank and
by export screen, in Vietnamese (with or without diacritics), English, or both in one cell
("Ghi có/Credit"). So columns are picked *by header name*, through the synonym table
``COLUMNS`` below, never by position. A header cell that is neither a column we read nor one
we knowingly skip (balance, row number, value date...) refuses the whole file with its name:
a column we do not understand may be the one that says a line is a reversal, and guessing
would put money in the wrong place. docs/money.md lists the layouts.

Only credits (money in) become lines: the citizens' transfers. Debits (bank charges, the
refunds we send) are counted and skipped; the refunds are recorded where they are decided.

Every line gets an identity that survives a second import of the same file or an overlapping
statement: the bank's own reference when the file has one; otherwise a hash of account, date,
amount, text and the occurrence number of that same (date, amount, text) in the file, so two
identical transfers on one day stay two lines while a re-import finds both again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal

from vntime import VN

Role = Literal[
    "date", "datetime", "time", "credit", "debit", "amount", "description", "reference",
    "counterparty", "skip",
]  # fmt: skip

# Normalised header text (see ``normalise``) -> what the column holds. Names seen in the
# statement exports of Vietcombank, VietinBank, BIDV, Agribank, Techcombank, MB, ACB, VPBank,
# Sacombank and TPBank (bilingual cells are split and each half looked up).
COLUMNS: dict[str, Role] = {
    # when
    "ngay giao dich": "date", "ngay gd": "date", "ngay": "date", "ngay hach toan": "date",
    "ngay ghi so": "date", "ngay thuc hien": "date", "transaction date": "date", "date": "date",
    "posting date": "date", "txn date": "date", "trans date": "date",
    "thoi gian giao dich": "datetime", "thoi gian": "datetime", "ngay gio giao dich": "datetime",
    "transaction time": "datetime", "date time": "datetime",
    "gio giao dich": "time", "gio": "time", "time": "time",
    # how much
    "so tien ghi co": "credit", "ghi co": "credit", "co": "credit", "phat sinh co": "credit",
    "so tien co": "credit", "so tien vao": "credit", "tien vao": "credit", "credit": "credit",
    "credit amount": "credit", "cr": "credit", "so tien ghi co vnd": "credit",
    "so tien ghi no": "debit", "ghi no": "debit", "no": "debit", "phat sinh no": "debit",
    "so tien no": "debit", "so tien ra": "debit", "tien ra": "debit", "debit": "debit",
    "debit amount": "debit", "dr": "debit", "so tien ghi no vnd": "debit",
    "so tien": "amount", "so tien giao dich": "amount", "amount": "amount",
    "transaction amount": "amount",
    # what for
    "mo ta": "description", "noi dung": "description", "dien giai": "description",
    "noi dung chi tiet": "description", "noi dung giao dich": "description",
    "chi tiet giao dich": "description", "mo ta giao dich": "description",
    "noi dung chuyen khoan": "description", "description": "description",
    "narrative": "description", "details": "description", "transaction details": "description",
    "remark": "description", "remarks": "description", "transaction description": "description",
    # which
    "so tham chieu": "reference", "ma giao dich": "reference", "ma gd": "reference",
    "so but toan": "reference", "so ct": "reference", "so chung tu": "reference",
    "so giao dich": "reference", "ma tham chieu": "reference", "reference": "reference",
    "reference no": "reference", "reference number": "reference", "ref no": "reference",
    "transaction id": "reference", "transaction no": "reference", "txn id": "reference",
    "so ref": "reference", "ma but toan": "reference",
    # from whom
    "doi tac": "counterparty", "ten doi ung": "counterparty", "tai khoan doi ung": "counterparty",
    "ten tai khoan doi ung": "counterparty", "so tai khoan doi ung": "counterparty",
    "nguoi chuyen": "counterparty", "ten nguoi chuyen": "counterparty",
    "tai khoan nguoi chuyen": "counterparty", "ngan hang doi ung": "counterparty",
    "counterparty": "counterparty", "counter account": "counterparty",
    "remitter": "counterparty", "sender": "counterparty", "beneficiary": "counterparty",
    "tai khoan doi ung ten": "counterparty",
    # known and not needed
    "stt": "skip", "so thu tu": "skip", "no.": "skip", "#": "skip", "so du": "skip",
    "so du cuoi": "skip", "so du sau giao dich": "skip", "balance": "skip",
    "running balance": "skip", "ngay hieu luc": "skip", "value date": "skip",
    "effective date": "skip", "loai tien": "skip", "currency": "skip", "ccy": "skip",
    "kenh giao dich": "skip", "channel": "skip", "chi nhanh": "skip", "branch": "skip",
    "ma chi nhanh": "skip", "seq": "skip", "sequence": "skip", "phi": "skip", "fee": "skip",
}  # fmt: skip

# How far down a file its header row may sit (preamble: bank, account, period, opening balance).
HEADER_SEARCH_ROWS = 30
# One statement per file; a month of one post office's account is a few thousand lines.
MAX_LINES = 100_000
# A single transfer above this is not a citizen paying fees: refuse the line, never the file.
MAX_LINE_VND = 10_000_000_000

_ACCOUNT_LABELS = ("so tai khoan", "account number", "account no", "tai khoan", "so tk")
_BANK_NAMES = {
    "vietcombank": "Vietcombank", "ngoai thuong": "Vietcombank", "vietinbank": "VietinBank",
    "cong thuong": "VietinBank", "bidv": "BIDV", "dau tu va phat trien": "BIDV",
    "agribank": "Agribank", "nong nghiep": "Agribank", "techcombank": "Techcombank",
    "ky thuong": "Techcombank", "mbbank": "MB", "mb bank": "MB", "quan doi": "MB",
    "acb": "ACB", "a chau": "ACB", "vpbank": "VPBank", "sacombank": "Sacombank",
    "tpbank": "TPBank", "tien phong": "TPBank", "lienvietpostbank": "LPBank", "lpbank": "LPBank",
}  # fmt: skip


@dataclass(frozen=True)
class LineError:
    """Why one row (``line`` 0: the file) could not be read, naming the column."""

    line: int
    column: str | None
    reason_vi: str
    reason_en: str

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "column": self.column, "reason_vi": self.reason_vi,
                "reason_en": self.reason_en}  # fmt: skip


class StatementRefused(Exception):
    """The file as a whole cannot be read: nothing of it is imported."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__("; ".join(e.reason_en for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class StatementLine:
    line: int  # the row number the bank's file shows (1-based, header included)
    booked_on: date
    booked_at: datetime | None  # when the file gives the time too, in Vietnam time
    amount_vnd: int
    description: str
    reference: str | None
    counterparty: str | None
    line_key: str
    raw: dict[str, str]


@dataclass
class ParsedStatement:
    bank: str | None
    account_no: str | None
    columns: dict[str, Role]
    lines: list[StatementLine] = field(default_factory=list)
    debits_skipped: int = 0
    errors: list[LineError] = field(default_factory=list)


def fold(text: str) -> str:
    """Lower case, no diacritics (đ → d), single spaces: how bank headers and texts compare."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return re.sub(r"\s+", " ", bare).strip().lower()


def normalise(header: str) -> str:
    """A header cell as looked up in ``COLUMNS``: folded, units and punctuation dropped."""
    text = fold(header)
    text = re.sub(r"\((vnd|vnđ|dong|d)\)", "", text)
    text = re.sub(r"[:*]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def role_of(header: str) -> Role | None:
    """The role of a header cell; a bilingual cell ("Ghi có/Credit", "Ngày GD\\nDate") is
    known when any of its halves is."""
    whole = normalise(header)
    if whole in COLUMNS:
        return COLUMNS[whole]
    for part in re.split(r"[/\n|]|\s-\s", header):
        found = COLUMNS.get(normalise(part))
        if found is not None:
            return found
    return None


# -- reading the file into rows --------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M:%S") if value.time() != time() else (
            value.strftime("%d/%m/%Y"))  # fmt: skip
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps every number as a float
    return str(value).strip()


def _rows_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001  openpyxl raises many kinds for a bad archive
        raise StatementRefused([_file_error("unreadable", why=type(exc).__name__)]) from exc
    try:
        sheet = workbook.worksheets[0]  # banks export one sheet; the first is the statement
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _rows_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older exports are Windows-1258 (Vietnamese); anything else is refused below.
        try:
            text = data.decode("cp1258")
        except UnicodeDecodeError as exc:
            raise StatementRefused([_file_error("unreadable", why="encoding")]) from exc
    if "\x00" in text:
        raise StatementRefused([_file_error("unreadable", why="NUL byte")])
    head = "\n".join(text.splitlines()[:HEADER_SEARCH_ROWS])
    # Excel in a Vietnamese locale saves "CSV" with semicolons; some banks use tabs.
    delimiter = max((";", ",", "\t"), key=head.count)
    return [list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def detect_format(data: bytes, filename: str | None) -> Literal["csv", "xlsx"]:
    # An .xlsx is a zip archive: the bytes decide, whatever the file was renamed to.
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if filename and filename.lower().endswith((".xls", ".xlsx")) and data[:4] != b"PK\x03\x04":
        if filename.lower().endswith(".xls"):
            raise StatementRefused([_file_error("old_excel")])
    return "csv"


# -- messages ---------------------------------------------------------------------------------

_MESSAGES: dict[str, tuple[str, str]] = {
    "unreadable": ("Không đọc được tệp sao kê ({why}): cần CSV (UTF-8) hoặc Excel .xlsx.",
                   "The statement cannot be read ({why}): a UTF-8 CSV or an .xlsx is needed."),
    "old_excel": ("Tệp .xls (Excel 97-2003) chưa được hỗ trợ: mở trong Excel và lưu thành .xlsx.",
                  "An .xls (Excel 97-2003) file is not supported: save it as .xlsx in Excel."),
    "no_header": ("Không tìm thấy dòng tiêu đề có cột ngày và cột số tiền trong {rows} dòng đầu.",
                  "No header row with a date and an amount column in the first {rows} rows."),
    "unknown_columns": ("Tệp có cột không nhận biết được: {columns}. Xem docs/money.md.",
                        "The file has columns hoso does not know: {columns}. See docs/money.md."),
    "duplicate_role": ("Hai cột cùng nghĩa «{role}»: {columns}.",
                       "Two columns mean the same ({role}): {columns}."),
    "no_description": ("Thiếu cột nội dung chuyển khoản (Mô tả / Nội dung / Diễn giải).",
                       "No column with the transfer text (Mô tả / Nội dung / Diễn giải)."),
    "no_amount": ("Thiếu cột số tiền ghi có (Ghi có / Credit) hoặc số tiền (Số tiền / Amount).",
                  "No credit column (Ghi có / Credit) or amount column (Số tiền / Amount)."),
    "too_many": ("Tệp có hơn {limit} dòng; hãy tách theo tháng.",
                 "The file has more than {limit} lines; split it by month."),
    "bad_date": ("Ngày «{value}» không đọc được (cần dd/mm/yyyy).",
                 "The date '{value}' cannot be read (dd/mm/yyyy expected)."),
    "bad_amount": ("Số tiền «{value}» không phải số đồng nguyên.",
                   "The amount '{value}' is not a whole number of đồng."),
    "fractional": ("Số tiền «{value}» có phần lẻ dưới một đồng.",
                   "The amount '{value}' has a fraction of a đồng."),
    "absurd": ("Số tiền «{value}» vượt quá {limit} đồng cho một giao dịch.",
               "The amount '{value}' is above {limit} đồng for one transfer."),
    "both_sides": ("Dòng có cả ghi nợ và ghi có.", "The line has both a debit and a credit."),
    "no_money": ("Dòng không có số tiền.", "The line has no amount."),
    "empty": ("Tệp không có giao dịch nào.", "The file has no transactions."),
}  # fmt: skip


def _text(code: str, **values: object) -> tuple[str, str]:
    vi, en = _MESSAGES[code]
    return vi.format(**values), en.format(**values)


def _file_error(code: str, **values: object) -> LineError:
    return LineError(0, None, *_text(code, **values))


def _line_error(line: int, column: str | None, code: str, **values: object) -> LineError:
    return LineError(line, column, *_text(code, **values))


# -- values -----------------------------------------------------------------------------------

_GROUPED = re.compile(r"\d{1,3}(?:([.,' ])\d{3})(?:\1\d{3})*")
_DECIMAL = re.compile(r"(\d+|\d{1,3}(?:([.,' ])\d{3})(?:\2\d{3})*)([.,])(\d{1,2})")


def parse_amount(value: str) -> int | None:
    """Whole đồng from a bank's cell: ``1.000.000``, ``1,000,000``, ``1000000``,
    ``1.000.000,00``, ``-50.000``, ``(50.000)``, with or without ``VND``/``đ``/``₫``.
    None for an empty cell; ValueError("fractional") for a part of a đồng; ValueError for
    anything else that is no number."""
    text = value.strip()
    for unit in ("VND", "VNĐ", "vnd", "vnđ", "đ", "₫", "d"):
        text = text.removesuffix(unit).strip()
    if not text or text in ("-", "0", "0.00", "0,00"):
        return None if not text or text == "-" else 0
    negative = text.startswith("-") or (text.startswith("(") and text.endswith(")"))
    text = text.strip("()").lstrip("-+").strip()
    if text.isdigit():
        whole = int(text)
    elif _GROUPED.fullmatch(text):
        whole = int(re.sub(r"\D", "", text))
    elif (m := _DECIMAL.fullmatch(text)) is not None:
        # The last separator with one or two digits after it is the decimal point.
        if m.group(2) is not None and m.group(2) == m.group(3):
            raise ValueError("bad")
        if int(m.group(4)) != 0:
            raise ValueError("fractional")
        whole = int(re.sub(r"\D", "", m.group(1)))
    else:
        raise ValueError("bad")
    return -whole if negative else whole


_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%y")
_DATETIME_FORMATS = (
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
)  # fmt: skip


def parse_moment(value: str) -> tuple[date, datetime | None]:
    """The day and, when given, the local time of a transaction (a bank's clock is Vietnam
    time). A cell may carry more after the date on a second line (Vietcombank puts the
    reference there): the first line is read."""
    text = value.strip().split("\n", 1)[0].strip()
    for fmt in _DATETIME_FORMATS:
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return moment.date(), moment.replace(tzinfo=VN)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date(), None
        except ValueError:
            continue
    raise ValueError(text)


def _with_time(day: date, value: str) -> datetime | None:
    for fmt in ("%H:%M:%S", "%H:%M"):
        try:
            return datetime.combine(day, datetime.strptime(value.strip(), fmt).time(), VN)
        except ValueError:
            continue
    return None


def line_key(account_no: str | None, reference: str | None, day: date, amount: int,
             text: str, occurrence: int) -> str:  # fmt: skip
    """The identity of a statement line: the bank's reference, or what the line says."""
    if reference:
        basis = f"ref|{account_no or ''}|{reference.strip().upper()}"
    else:
        basis = f"txt|{account_no or ''}|{day.isoformat()}|{amount}|{fold(text)}|{occurrence}"
    return hashlib.sha256(basis.encode()).hexdigest()


# -- the statement ----------------------------------------------------------------------------


def _find_header(rows: list[list[str]]) -> int:
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        roles = {role_of(cell) for cell in row if cell.strip()}
        if roles & {"date", "datetime"} and roles & {"credit", "amount"}:
            return index
    raise StatementRefused([_file_error("no_header", rows=HEADER_SEARCH_ROWS)])


def _preamble(rows: list[list[str]]) -> tuple[str | None, str | None]:
    """The bank and account number written above the header, when the bank writes them."""
    bank = account = None
    for row in rows:
        cells = [c for c in row if c.strip()]
        for position, cell in enumerate(cells):
            folded = fold(cell)
            if bank is None:
                bank = next((name for key, name in _BANK_NAMES.items() if key in folded), None)
            if account is None and any(folded.startswith(label) for label in _ACCOUNT_LABELS):
                # "Số tài khoản: 0011004xxxxxx" in one cell, or the number in the next cell.
                candidates = [cell.partition(":")[2], *cells[position + 1 : position + 2]]
                for candidate in candidates:
                    digits = re.sub(r"[\s.-]", "", candidate)
                    if digits.isdigit() and 6 <= len(digits) <= 19:
                        account = digits
                        break
    return bank, account


def parse_statement(data: bytes, filename: str | None = None) -> ParsedStatement:
    """Every credit line of a statement, or ``StatementRefused`` for a file that cannot be
    read as one (no header, unknown columns). A row that cannot be read is an error naming
    its line and column, beside the lines that could: one bad row never sinks the others."""
    fmt = detect_format(data, filename)
    rows = _rows_xlsx(data) if fmt == "xlsx" else _rows_csv(data)
    header_at = _find_header(rows)
    header = [cell.strip() for cell in rows[header_at]]
    bank, account = _preamble(rows[:header_at])
    columns: dict[str, Role] = {}
    unknown: list[str] = []
    by_role: dict[Role, list[str]] = {}
    for cell in header:
        if not cell:
            continue
        role = role_of(cell)
        if role is None:
            unknown.append(cell)
            continue
        columns[cell] = role
        by_role.setdefault(role, []).append(cell)
    if unknown:
        names = ", ".join(f"«{name}»" for name in unknown)
        raise StatementRefused([_file_error("unknown_columns", columns=names)])
    for role, same in by_role.items():
        if role != "skip" and len(same) > 1:
            raise StatementRefused(
                [_file_error("duplicate_role", role=role, columns=", ".join(same))]
            )
    if "description" not in by_role:
        raise StatementRefused([_file_error("no_description")])
    if "credit" not in by_role and "amount" not in by_role:
        raise StatementRefused([_file_error("no_amount")])
    body = rows[header_at + 1 :]
    if len(body) > MAX_LINES:
        raise StatementRefused([_file_error("too_many", limit=MAX_LINES)])

    def column(role: Role) -> str | None:
        names = by_role.get(role)
        return names[0] if names else None

    parsed = ParsedStatement(bank=bank, account_no=account, columns=columns)
    seen: dict[tuple[date, int, str], int] = {}
    for offset, values in enumerate(body):
        number = header_at + offset + 2  # 1-based, as the spreadsheet shows it
        if not any(v.strip() for v in values):
            continue
        record = {name: (values[i].strip() if i < len(values) else "")
                  for i, name in enumerate(header) if name}  # fmt: skip
        line = _read_line(parsed, record, number, column, seen)
        if line is not None:
            parsed.lines.append(line)
    if not parsed.lines and not parsed.errors and not parsed.debits_skipped:
        raise StatementRefused([_file_error("empty")])
    return parsed


def _read_line(
    parsed: ParsedStatement,
    record: dict[str, str],
    number: int,
    column: object,
    seen: dict[tuple[date, int, str], int],
) -> StatementLine | None:
    assert callable(column)
    when_col = column("datetime") or column("date")
    when = record.get(when_col, "") if when_col else ""
    if not when and not any(record.values()):
        return None
    # A closing row ("Tổng cộng", "Số dư cuối kỳ") has no date: not a transaction.
    if not when or not re.match(r"\d", when):
        return None
    try:
        day, moment = parse_moment(when)
    except ValueError:
        parsed.errors.append(_line_error(number, when_col, "bad_date", value=when))
        return None
    if moment is None and (time_col := column("time")) is not None:
        moment = _with_time(day, record.get(time_col, ""))
    amounts: dict[str, int | None] = {}
    for role in ("credit", "debit", "amount"):
        name = column(role)
        if name is None:
            continue
        raw = record.get(name, "")
        try:
            amounts[role] = parse_amount(raw)
        except ValueError as exc:
            code = "fractional" if str(exc) == "fractional" else "bad_amount"
            parsed.errors.append(_line_error(number, name, code, value=raw))
            return None
    credit, debit = amounts.get("credit"), amounts.get("debit")
    if "amount" in amounts and credit is None and debit is None:
        signed = amounts["amount"]
        if signed is not None:
            credit, debit = (signed, None) if signed > 0 else (None, -signed or None)
    if credit and debit:
        parsed.errors.append(_line_error(number, column("credit"), "both_sides"))
        return None
    if debit and not credit:
        parsed.debits_skipped += 1
        return None
    if not credit:
        parsed.errors.append(_line_error(number, column("credit") or column("amount"),
                                         "no_money"))  # fmt: skip
        return None
    amount_col = column("credit") or column("amount")
    if credit < 0:
        parsed.debits_skipped += 1  # a negative credit is a reversal sent out
        return None
    if credit > MAX_LINE_VND:
        parsed.errors.append(_line_error(number, amount_col, "absurd",
                                         value=record.get(amount_col or "", ""),
                                         limit=f"{MAX_LINE_VND:,}".replace(",", ".")))  # fmt: skip
        return None
    description_col = column("description")
    description = record.get(description_col, "") if description_col else ""
    ref_col = column("reference")
    reference = (record.get(ref_col) or None) if ref_col else None
    if reference is None and "\n" in when:
        # Vietcombank writes "dd/mm/yyyy\n<reference>" in its date cell.
        reference = when.split("\n", 1)[1].strip() or None
    party_col = column("counterparty")
    counterparty = (record.get(party_col) or None) if party_col else None
    occurrence_of = (day, credit, fold(description))
    occurrence = seen.get(occurrence_of, 0)
    seen[occurrence_of] = occurrence + 1
    return StatementLine(
        line=number, booked_on=day, booked_at=moment, amount_vnd=credit,
        description=description, reference=reference, counterparty=counterparty,
        line_key=line_key(parsed.account_no, reference, day, credit, description, occurrence),
        raw=record,
    )  # fmt: skip


def statement_file(rows: Sequence[tuple[str, int, str]], day: date, account: str) -> bytes:
    """The day's credits as Vietcombank's CSV export writes them (preamble, header, rows)."""
    lines = [
        "NGÂN HÀNG TMCP NGOẠI THƯƠNG VIỆT NAM (VIETCOMBANK)",
        f"Số tài khoản:,{account}",
        f"Từ ngày {day:%d/%m/%Y} đến ngày {day:%d/%m/%Y}",
        "STT,Ngày giao dịch,Số tham chiếu,Số tiền ghi nợ,Số tiền ghi có,Số dư,Mô tả",
    ]
    for number, (reference, amount, text) in enumerate(rows, start=1):
        lines.append(f'{number},{day:%d/%m/%Y},{reference},,"{amount:,}",,{text}')
    return ("\n".join(lines) + "\n").encode()
