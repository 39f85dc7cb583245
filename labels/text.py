"""Small text helpers shared by the renderers: money, masking, ASCII folding."""

from __future__ import annotations

import unicodedata

_FOLD_EXTRA = str.maketrans({"đ": "d", "Đ": "D"})


def strip_diacritics(text: str) -> str:
    """Fold Vietnamese text to ASCII letters: ``"Ủng hộ lũ lụt"`` -> ``"Ung ho lu lut"``.

    đ/Đ are separate letters, not a base letter plus a combining mark, so NFD alone
    leaves them in place; they are mapped by hand.
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def format_vnd(amount: int) -> str:
    """Format a VND amount the Vietnamese way: ``26000`` -> ``"26.000 ₫"``."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,} ₫".replace(",", ".")


def mask_phone(phone: str) -> str:
    """Keep the first two and last two digits: ``0912345678`` -> ``09******78``.

    Labels travel through many hands; the courier's app has the full number.
    """
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]
