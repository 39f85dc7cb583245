"""The "attempts used up" rule: one statement, the same in Python and in SQL, read by all."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from core.custody.attempts import attempts_used_up
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


def test_the_last_allowed_attempt_uses_them_up_in_python_and_in_sql(
    db: Session, settings: Settings
) -> None:
    two = settings.model_copy(update={"delivery_max_attempts": 2})
    in_python = [attempts_used_up(n, two) for n in range(4)]
    in_sql = [db.scalar(select(attempts_used_up(literal(n), two))) for n in range(4)]
    assert in_python == [False, False, True, True]
    assert in_sql == in_python


def test_no_other_module_reads_the_attempt_limit() -> None:
    # The courier's departure check, the returns list, the citizen's SMS and the dispatcher's
    # plan each compared attempts with the limit themselves; a fifth copy would drift again.
    readers = set()
    for package in ("core", "api", "mobile_api"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr == "delivery_max_attempts":
                    readers.add(str(path.relative_to(ROOT)))
    assert readers == {"core/custody/attempts.py"}
