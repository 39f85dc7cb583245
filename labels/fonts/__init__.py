"""Be Vietnam Pro TTF files (SIL OFL 1.1) used by every renderer; see SOURCE.md."""

from __future__ import annotations

from pathlib import Path

FONT_DIR = Path(__file__).parent
REGULAR = FONT_DIR / "BeVietnamPro-Regular.ttf"
BOLD = FONT_DIR / "BeVietnamPro-Bold.ttf"
FAMILY = "BeVietnamPro"
