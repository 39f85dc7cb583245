from __future__ import annotations

import datetime as dt

import pytest

from labels.dossier_code import validate_dossier_code
from labels.errors import InvalidDossierCode


def test_parses_the_published_example() -> None:
    # Hà Nội tax record, field ma_hs (STANDARDS.md §7).
    code = validate_dossier_code("000.A0.01.H26-210212-9090")
    assert code.code == "000.A0.01.H26-210212-9090"
    assert code.agency == "000.A0.01.H26"
    assert code.province_agency == "H26"
    assert code.received_on == dt.date(2021, 2, 12)
    assert code.sequence == 9090


def test_normalises_case_and_spaces() -> None:
    assert validate_dossier_code(" 000.a0.01.h29 - 250701 - 0001 ").code == (
        "000.A0.01.H29-250701-0001"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("000.A0.01.H26-210212", "3 parts"),
        ("000.A0.01.H26-210212-9090-1", "3 parts"),
        ("00.A0.01.H26-210212-9090", "agency prefix"),
        ("000.A0.01.126-210212-9090", "agency prefix"),
        ("000.A0.01.H26-21021-9090", "6 digits YYMMDD"),
        ("000.A0.01.H26-210212-909", "sequence must be 4 digits"),
        ("000.A0.01.H26-210230-9090", "not a real date"),
        ("000.A0.01.H26-211301-9090", "not a real date"),
        ("000.A0.01.H26-230229-0001", "not a real date"),
    ],
)
def test_rejections_name_the_problem(raw: str, message: str) -> None:
    with pytest.raises(InvalidDossierCode, match=message):
        validate_dossier_code(raw)


def test_leap_day_is_a_real_date() -> None:
    assert validate_dossier_code("000.A0.01.H26-240229-0001").received_on == dt.date(2024, 2, 29)
