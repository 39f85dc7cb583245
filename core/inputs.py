"""What any input must be before it goes near the database, shared by every edge.

PostgreSQL refuses a NUL character in text and jsonb, an integer past its column's size and a
UTC offset its CHECK does not know; Python cannot encode a lone UTF-16 surrogate. Each of these
used to surface as a 500 from deep inside a transaction. Here they are named as what they are,
with the field, before anything is written: the edges use the types in their schemas and
``first_bad_value`` on raw JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field

INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1
# Offsets in use run from UTC-12:00 to UTC+14:00; the ledger's CHECK allows ±14:00.
MAX_OFFSET = timedelta(hours=14)
# Nothing in hoso happened before its first year, nor will anything be planned this far out.
EARLIEST = datetime.fromisoformat("2020-01-01T00:00:00+00:00")
LATEST = datetime.fromisoformat("2100-01-01T00:00:00+00:00")


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character"
    return "is not valid UTF-8 text (a lone surrogate or a stray byte)"


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, inner in value.items():
            yield path or "body", key  # a key is text too, and is judged as such
            yield from _walk(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _walk(inner, f"{path}[{index}]")


def first_bad_value(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first string or integer in decoded JSON that no column could hold, as (field,
    reason); None when all are storable. Keys are checked too: jsonb keeps them as text."""
    for where, item in _walk(value, path):
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                # The path may hold the bad key itself: name where it sits, not the key.
                return (where if text_problem(where) is None else path or "body"), problem
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > INT8_MAX:
            return where or "body", f"is out of range (at most {INT8_MAX})"
    return None


def _storable_text(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _plausible_moment(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is not None and (abs(offset) > MAX_OFFSET or offset % timedelta(minutes=1)):
        raise ValueError("the UTC offset must be whole minutes between -14:00 and +14:00")
    # A time without an offset is compared as it reads (its handler decides where it is).
    earliest, latest = (EARLIEST, LATEST) if offset is not None else (
        EARLIEST.replace(tzinfo=None), LATEST.replace(tzinfo=None)
    )  # fmt: skip
    if not earliest <= value < latest:
        raise ValueError(f"must fall between {EARLIEST:%Y} and {LATEST:%Y}")
    return value


# Text any column can hold: no NUL, no lone surrogate.
Text = Annotated[str, AfterValidator(_storable_text)]
# A row ID as PostgreSQL's integer holds it.
RowId = Annotated[int, Field(ge=1, le=INT4_MAX)]
# An integer column (counts, grams, đồng): 0 up to PostgreSQL's integer.
Count = Annotated[int, Field(ge=0, le=INT4_MAX)]
# A moment with its UTC offset, in the years hoso can have seen or planned.
Moment = Annotated[AwareDatetime, AfterValidator(_plausible_moment)]
# The same where the offset may be left out (a citizen's form: read as Vietnam time).
PlannedTime = Annotated[datetime, AfterValidator(_plausible_moment)]
