"""Dossier pages rendered for tests and the bench: text in Vietnamese, drawn with a font that
has its glyphs (DejaVu, which Debian installs with fontconfig), saved as a phone's JPEG."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# A word with stacked diacritics: found in the text layer only if OCR read Vietnamese.
KNOWN_WORD = "Hường"


def render_page(number: int, *, lines: tuple[str, ...] = (), width: int = 1130,
                height: int = 1600, quality: int = 70) -> bytes:  # fmt: skip
    """An A4-proportioned page (1,600 px high, as the courier app sends) as JPEG bytes."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 40)
    small = ImageFont.truetype(str(FONT), 28)
    draw.text((90, 120), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", font=font, fill="black")
    draw.text((90, 200), f"Tờ khai — trang {number}", font=font, fill="black")
    body = lines or (
        f"Họ và tên: Nguyễn Thị {KNOWN_WORD}",
        "Địa chỉ: phường Kinh Bắc, tỉnh Bắc Ninh",
        "Nội dung đề nghị: cấp bản sao trích lục khai sinh",
    )
    for index, line in enumerate(body):
        draw.text((90, 320 + index * 70), line, font=small, fill="black")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()
