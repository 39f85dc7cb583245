"""Reading one row's cells into typed values, collecting every error instead of stopping.

A clerk fixes a file once when they see all its faults at once, so each reader records its
reason and returns a placeholder; the importer refuses the file when any reason was recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from core.catalogue.tabular import RowError

CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
WHOLE_NUMBER = re.compile(r"[0-9]+")
YES = {"có", "co", "yes", "y", "x", "1", "true", "đúng"}
NO = {"không", "khong", "no", "n", "0", "false", "sai", ""}
# The country's bounding box, islands included: a swapped lat/lon or a typo lands outside.
LAT_RANGE = (8.0, 23.5)
LON_RANGE = (102.0, 117.5)


@dataclass
class Places:
    """What rows are checked against: the provinces, communes, and the user's reach."""

    provinces: set[str]
    communes: dict[str, tuple[str, float, float]]  # code -> (province, lat, lon)
    may_manage: Callable[[str], bool]


@dataclass
class RowReader:
    line: int
    values: dict[str, str]
    errors: list[RowError] = field(default_factory=list)

    def fail(
        self, column: str | None, code: str, value: str | None = None, **extra: object
    ) -> None:
        self.errors.append(RowError.of(self.line, column, code, value, **extra))

    def raw(self, column: str) -> str:
        return self.values.get(column, "").strip()

    def text(self, column: str, *, required: bool = True, limit: int = 500) -> str:
        value = self.raw(column)
        if required and not value:
            self.fail(column, "required")
        elif len(value) > limit:
            self.fail(column, "too_long", value[:40] + "…", limit=limit)
        return value

    def code(self, column: str) -> str:
        value = self.raw(column)
        if not value:
            self.fail(column, "required")
        elif not CODE_PATTERN.fullmatch(value):
            self.fail(column, "bad_code", value)
        return value

    def whole(self, column: str, *, positive: bool = False) -> int:
        value = self.raw(column)
        if not value:
            self.fail(column, "required")
            return 0
        if not WHOLE_NUMBER.fullmatch(value):
            # "-5", "12.5", "200.000" and "1e3" all land here: money is whole đồng, written plainly.
            self.fail(column, "not_integer", value)
            return 0
        number = int(value)
        if positive and number <= 0:
            self.fail(column, "not_positive", value)
        return number

    def number(self, column: str, bounds: tuple[float, float]) -> float | None:
        value = self.raw(column)
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            self.fail(column, "not_number", value)
            return None
        if not bounds[0] <= number <= bounds[1]:
            self.fail(column, "outside_vietnam", value)
            return None
        return number

    def choice(self, column: str, aliases: dict[str, str], *, required: bool = True) -> str:
        value = self.raw(column)
        if not value and not required:
            return ""
        found = aliases.get(value.lower())
        if found is None:
            if not value:
                self.fail(column, "required")
            else:
                allowed = ", ".join(sorted(set(aliases.values())))
                self.fail(column, "one_of", value, allowed=allowed)
            return ""
        return found

    def yes_no(self, column: str) -> bool:
        value = self.raw(column).lower()
        if value in YES:
            return True
        if value not in NO:
            self.fail(column, "yes_no", self.raw(column))
        return False

    def _zero_padded(self, column: str, width: int) -> str:
        # Excel turns a typed "01" into the number 1: put the leading zeros back.
        value = self.raw(column)
        return value.zfill(width) if value.isdigit() and len(value) < width else value

    def province(self, column: str, places: Places) -> str:
        value = self._zero_padded(column, 2)
        if not value:
            self.fail(column, "required")
        elif value not in places.provinces:
            self.fail(column, "unknown_province", value)
        elif not places.may_manage(value):
            self.fail(column, "not_your_province", value)
        return value

    def commune(self, column: str, province: str, places: Places) -> str:
        value = self._zero_padded(column, 5)
        if not value:
            self.fail(column, "required")
        elif value not in places.communes:
            self.fail(column, "unknown_commune", value)
        elif province in places.provinces and places.communes[value][0] != province:
            self.fail(column, "commune_outside_province", value, province=province)
        return value


def yes_no_text(value: bool) -> str:
    return "có" if value else "không"
