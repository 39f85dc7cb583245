"""Statement files as a bank exports them, for the tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

HEADER = "STT,Ngày giao dịch,Số tham chiếu,Số tiền ghi nợ,Số tiền ghi có,Số dư,Mô tả"


def statement_csv(lines: Iterable[tuple[str, int, str]], *, day: date = date(2026, 12, 3)) -> bytes:
    """A Vietcombank-style CSV: preamble, header, one credit per (reference, amount, text)."""
    rows = [
        "NGÂN HÀNG TMCP NGOẠI THƯƠNG VIỆT NAM (VIETCOMBANK)",
        "Số tài khoản:,1500201234567",
        HEADER,
    ]
    for number, (reference, amount, text) in enumerate(lines, start=1):
        rows.append(f'{number},{day:%d/%m/%Y},{reference},,"{amount:,}",,{text}')
    return ("\n".join(rows) + "\n").encode()
