from __future__ import annotations

import pytest

from labels.text import format_vnd, mask_phone, strip_diacritics


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (26000, "26.000 ₫"),
        (0, "0 ₫"),
        (999, "999 ₫"),
        (1234567, "1.234.567 ₫"),
        (-5000, "-5.000 ₫"),
    ],
)
def test_format_vnd(amount: int, text: str) -> None:
    assert format_vnd(amount) == text


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("0912345678", "09******78"),
        ("091 234 5678", "09******78"),
        ("+84912345678", "84*******78"),
        ("123", "***"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_strip_diacritics_handles_d_with_stroke() -> None:
    assert strip_diacritics("Đặng Thị Ửng, phường Đống Đa") == "Dang Thi Ung, phuong Dong Da"
