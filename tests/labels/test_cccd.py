from __future__ import annotations

import datetime as dt

import pytest

from labels.cccd import BIRTH_PROVINCES, mask_cccd, parse_cccd_qr, validate_cccd
from labels.errors import InvalidCccd


def test_province_table_has_the_63_pre_2025_codes() -> None:
    assert len(BIRTH_PROVINCES) == 63
    assert BIRTH_PROVINCES["001"] == "Hà Nội"
    assert BIRTH_PROVINCES["079"] == "Hồ Chí Minh"
    assert BIRTH_PROVINCES["096"] == "Cà Mau"
    assert "003" not in BIRTH_PROVINCES


def test_published_example() -> None:
    # hrnk.vn: 087084000999 = Đồng Tháp, male, born 1984 (STANDARDS.md §5).
    info = validate_cccd("087084000999", sex="Nam", birth_year=1984)
    assert info.birth_province == "Đồng Tháp"
    assert info.sex == "male"
    assert info.birth_year == 1984


@pytest.mark.parametrize(
    ("number", "sex", "year"),
    [
        ("001190123456", "female", 1990),
        ("079203000001", "male", 2003),
        ("048305123456", "female", 2005),
    ],
)
def test_century_and_sex_digit(number: str, sex: str, year: int) -> None:
    info = validate_cccd(number)
    assert (info.sex, info.birth_year) == (sex, year)


@pytest.mark.parametrize(
    ("number", "kwargs", "message"),
    [
        ("08708400099", {}, "exactly 12 digits"),
        ("08708400099x", {}, "exactly 12 digits"),
        ("003084000999", {}, r"digits 1-3 .*\(003\)"),
        ("097084000999", {}, r"\(097\)"),
        ("087084000999", {"sex": "Nữ"}, "means male"),
        ("087184000999", {"sex": "male"}, "means female"),
        ("087084000999", {"birth_year": 1985}, "birth year 1984"),
        ("087099000999", {"sex": "x"}, "'Nam' or 'Nữ'"),
        ("087499000999", {}, "in the future"),
    ],
)
def test_rejections_name_the_problem(number: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidCccd, match=message):
        validate_cccd(number, **kwargs)  # type: ignore[arg-type]


def test_mask_keeps_the_last_four() -> None:
    assert mask_cccd("087084000999") == "********0999"


# Example shape from a public parser comment (STANDARDS.md §5).
SEVEN = (
    "001090123456|012345678|NGUYEN VAN A|01011990|Nam"
    "|Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh|15042021"
)


def test_parses_the_seven_field_form() -> None:
    qr = parse_cccd_qr(SEVEN)
    assert qr.id == "001090123456"
    assert qr.old_id == "012345678"
    assert qr.name == "NGUYEN VAN A"
    assert qr.dob == dt.date(1990, 1, 1) and qr.dob_precision == "day"
    assert qr.sex == "male"
    assert qr.address == "Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh"
    assert qr.issue_date == dt.date(2021, 4, 15)


def test_seven_fields_with_empty_old_id() -> None:
    qr = parse_cccd_qr("001190123456||Trần Thị Bình|05061990|Nữ|Phường Kinh Bắc, Bắc Ninh|01022022")
    assert qr.old_id is None
    assert qr.sex == "female"
    assert qr.name == "Trần Thị Bình"


def test_parses_the_six_field_form_without_old_id() -> None:
    qr = parse_cccd_qr("001190123456|Trần Thị Bình|05061990|Nữ|Phường Kinh Bắc, Bắc Ninh|01022022")
    assert qr.old_id is None
    assert qr.name == "Trần Thị Bình"
    assert qr.issue_date == dt.date(2022, 2, 1)


def test_partial_dates() -> None:
    qr = parse_cccd_qr("001190123456||Trần Thị Bình|061990|Nữ|Bắc Ninh|2022")
    assert (qr.dob, qr.dob_precision) == (dt.date(1990, 6, 1), "month")
    assert (qr.issue_date, qr.issue_date_precision) == (dt.date(2022, 1, 1), "year")


def test_decomposed_unicode_sex_is_accepted() -> None:
    import unicodedata

    payload = unicodedata.normalize(
        "NFD", "001190123456||Trần Thị Bình|05061990|Nữ|Bắc Ninh|01022022"
    )
    assert parse_cccd_qr(payload).sex == "female"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("001090123456|NGUYEN VAN A|01011990|Nam|Hà Nội", "got 5"),
        ("001090123456|123|NGUYEN VAN A|01011990|Nam|Hà Nội|15042021", "old ID"),
        ("001090123456||NGUYEN VAN A|01011990|Nam|Hà Nội|1504202", "issue date must be"),
        ("001090123456||NGUYEN VAN A|31021990|Nam|Hà Nội|15042021", "not a real date"),
        ("001090123456||NGUYEN VAN A|01011990|Nữ|Hà Nội|15042021", "means male"),
        ("001090123456||NGUYEN VAN A|01011991|Nam|Hà Nội|15042021", "birth year 1990"),
        ("001090123456||   |01011990|Nam|Hà Nội|15042021", "name"),
        ("001090123456||NGUYEN VAN A|01011990|Nam|Hà Nội|15041980", "before the date of birth"),
    ],
)
def test_qr_rejections_name_the_problem(payload: str, message: str) -> None:
    with pytest.raises(InvalidCccd, match=message):
        parse_cccd_qr(payload)
