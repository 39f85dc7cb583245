"""Reading bank statement files as the banks export them: columns by header name."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook

from core.money.bank.matching import item_codes
from core.money.bank.statements import StatementRefused, parse_amount, parse_statement

VCB_CSV = """NGÂN HÀNG TMCP NGOẠI THƯƠNG VIỆT NAM (VIETCOMBANK)
SAO KÊ TÀI KHOẢN / STATEMENT OF ACCOUNT
Số tài khoản:,1500201234567
Từ ngày 03/12/2026 đến ngày 03/12/2026
STT,Ngày giao dịch,Số tham chiếu,Số tiền ghi nợ,Số tiền ghi có,Số dư,Mô tả
1,03/12/2026,5243.65937,,"260,000","1,260,000",MBVCB.4525077405.HOSO DH000001111VN.CT tu 0351000
2,03/12/2026,5243.65938,"20,000",,"1,240,000",PHI DICH VU SMS
3,03/12/2026,5243.65939,,"52.000",,hosodh000001112vn
,Tổng cộng,,"20,000","312,000",,
"""


def test_vietcombank_csv_with_preamble_reads_credits_and_skips_debits() -> None:
    parsed = parse_statement(VCB_CSV.encode(), "sao-ke.csv")
    assert parsed.bank == "Vietcombank"
    assert parsed.account_no == "1500201234567"
    assert parsed.debits_skipped == 1
    assert parsed.errors == []
    assert [(line.line, line.amount_vnd, line.reference) for line in parsed.lines] == [
        (6, 260_000, "5243.65937"),
        (8, 52_000, "5243.65939"),
    ]
    assert parsed.lines[0].booked_on == date(2026, 12, 3)


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_bilingual_excel_headers_without_diacritics_and_excel_numbers() -> None:
    data = _xlsx(
        [
            ["BIDV - NGAN HANG TMCP DAU TU VA PHAT TRIEN VIET NAM"],
            ["So tai khoan: 12010000123456"],
            [],
            ["Ngay GD/Date", "So but toan/Ref No", "Ghi no/Debit", "Ghi co/Credit",
             "So du/Balance", "Dien giai/Narrative", "Doi tac/Counterparty"],
            ["03/12/2026 09:15:02", "FT2633700001", None, 260000.0, 900000.0,
             "TRAN THI HOA chuyen tien HOSO DH000001111VN", "TRAN THI HOA"],
            ["03/12/2026 10:01:00", "FT2633700002", 15000.0, None, 885000.0, "PHI", None],
        ]
    )  # fmt: skip
    parsed = parse_statement(data, "bidv.xlsx")
    assert parsed.bank == "BIDV"
    assert parsed.account_no == "12010000123456"
    assert len(parsed.lines) == 1 and parsed.debits_skipped == 1
    line = parsed.lines[0]
    assert (line.amount_vnd, line.reference, line.counterparty) == (
        260_000, "FT2633700001", "TRAN THI HOA")  # fmt: skip
    assert line.booked_at is not None and line.booked_at.hour == 9
    assert line.booked_at.utcoffset() is not None


def test_unknown_columns_refuse_the_file_naming_them() -> None:
    data = "Ngày giao dịch,Ghi có,Mô tả,Mã khuyến mãi,Ghi chú riêng\n03/12/2026,100000,x,,\n"
    with pytest.raises(StatementRefused) as refused:
        parse_statement(data.encode())
    message = refused.value.errors[0]
    assert "«Mã khuyến mãi»" in message.reason_vi and "«Ghi chú riêng»" in message.reason_vi
    assert "Mã khuyến mãi" in message.reason_en


def test_a_file_without_a_header_is_refused_and_says_why() -> None:
    with pytest.raises(StatementRefused) as refused:
        parse_statement(b"a,b,c\n1,2,3\n")
    assert "No header row" in refused.value.errors[0].reason_en


def test_bad_rows_are_named_and_the_others_still_read() -> None:
    data = (
        "Ngày giao dịch;Số tham chiếu;Ghi có;Nội dung\n"
        "03/12/2026;A1;260.000;HOSO DH000001111VN\n"
        "32/12/2026;A2;100.000;HOSO DH000001112VN\n"
        "03/12/2026;A3;100.000,50;HOSO DH000001113VN\n"
        "03/12/2026;A4;99999999999;HOSO DH000001114VN\n"
    )
    parsed = parse_statement(data.encode())
    assert [line.reference for line in parsed.lines] == ["A1"]
    assert [(e.line, e.column) for e in parsed.errors] == [
        (3, "Ngày giao dịch"), (4, "Ghi có"), (5, "Ghi có")]  # fmt: skip
    assert "phần lẻ" in parsed.errors[1].reason_vi


def test_line_identity_without_a_reference_counts_repeats_within_the_file() -> None:
    data = (
        "Ngày;Số tiền;Nội dung\n"
        "03/12/2026;52000;HOSO DH000001112VN\n"
        "03/12/2026;52000;HOSO DH000001112VN\n"
    )
    first = parse_statement(data.encode())
    again = parse_statement(data.encode())
    keys = [line.line_key for line in first.lines]
    assert len(set(keys)) == 2
    assert keys == [line.line_key for line in again.lines]


@pytest.mark.parametrize(
    ("text", "amount"),
    [("1.000.000", 1_000_000), ("1,000,000", 1_000_000), ("1000000", 1_000_000),
     ("1.000.000,00", 1_000_000), ("260.000 VND", 260_000), ("52.000 ₫", 52_000),
     ("(50.000)", -50_000), ("-50,000", -50_000), ("", None)],
)  # fmt: skip
def test_amounts_as_banks_write_them(text: str, amount: int | None) -> None:
    assert parse_amount(text) == amount


@pytest.mark.parametrize("text", ["1.5", "12,50", "abc", "1.000,5", "1,000.000"])
def test_amounts_that_are_not_whole_dong(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text)


@pytest.mark.parametrize(
    "text",
    [
        "HOSO DH000001111VN",
        "hosodh000001111vn",
        "MBVCB.4525077405.HOSO DH000001111VN.CT tu 0351000646393 TRAN THI HOA",
        "IBFT HO SO DH 000 001 111 VN thanh toan",
        "TRAN THI HOA chuyen tien DH000001111VN",
        "hồ sơ DH000001111VN",
    ],
)
def test_purpose_text_read_through_bank_mangling(text: str) -> None:
    assert item_codes(text) == ["DH000001111VN"]


def test_an_account_number_or_a_wrong_check_digit_is_no_item() -> None:
    assert item_codes("CT tu 0351000646393 HOSO DH000001112VX") == []
    assert item_codes("HOSO DH000001112VN") == []  # check digit of 00000111 is 1, not 2
