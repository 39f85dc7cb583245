"""When a result's delivery attempts are used up.

The ledger counts failed attempts (``ItemState.delivery_attempts``); the post office sets how
many it allows (``Settings.delivery_max_attempts``). Once used up the result goes back to the
office: the courier may not set out with it again, the dispatcher plans no new delivery, it is
listed among the courier's returns and the citizen is told. All four ask here, in Python or in
SQL, so they cannot disagree about the last attempt.
"""

from __future__ import annotations

from typing import overload

from sqlalchemy import ColumnElement, SQLColumnExpression

from core.settings import Settings


@overload
def attempts_used_up(attempts: int, settings: Settings) -> bool: ...


@overload
def attempts_used_up(
    attempts: SQLColumnExpression[int], settings: Settings
) -> ColumnElement[bool]: ...


def attempts_used_up(
    attempts: int | SQLColumnExpression[int], settings: Settings
) -> bool | ColumnElement[bool]:
    """True once ``attempts`` failed attempts leave none for the result; given a column, the
    same rule as a SQL condition."""
    return attempts >= settings.delivery_max_attempts
