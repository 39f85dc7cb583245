"""One catalogue per language: the same keys, every reason written in the code has a text in
both, every placeholder a text names is given where the reason is raised, and a refusal with
no text of its own still reads Vietnamese on a Vietnamese page."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest

from core.access import AREAS
from core.admin.errors import AdminInvalidInput
from core.custody.parties import PARTY_KINDS
from core.custody.transitions import STATUS_LABELS, TRANSITIONS
from core.errors import Conflict, DomainError, InvalidInput, NotFound, code_refusal
from edge.texts import CATALOGUES, both, message, negotiate, placeholders, scan_message, text
from edge.texts.en import TEXTS as EN
from edge.texts.vi import TEXTS as VI
from labels.errors import InvalidItemId
from labels.s10 import validate_item_id
from routing.address import Part

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("core", "api", "mobile_api", "edge")


# The domain errors (core.errors and their subclasses): ``reason=`` elsewhere means other
# things (a hand-over line's reason, a refused pickup's reason code).
ERRORS = {
    "DomainError",
    "InvalidInput",
    "NotFound",
    "Conflict",
    "InvalidTransition",
    "Forbidden",
    "Unauthorized",
    "RateLimited",
    "InfeasiblePlan",
}


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _raises() -> Iterator[tuple[str, str, set[str] | None]]:
    """Every ``reason="..."`` written in the code: where, the key, and the params' keys
    (None when they are not a dict literal the test can read)."""
    for package in SOURCES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or _called(node) not in ERRORS:
                    continue
                keywords = {k.arg: k.value for k in node.keywords if k.arg}
                reason = keywords.get("reason")
                if not (isinstance(reason, ast.Constant) and isinstance(reason.value, str)):
                    continue
                params = keywords.get("params")
                given: set[str] | None = set()
                if isinstance(params, ast.Dict):
                    given = {str(k.value) for k in params.keys if isinstance(k, ast.Constant)}
                elif params is not None:
                    given = None
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                yield where, reason.value, given


RAISES = list(_raises())


def test_both_catalogues_have_the_same_keys() -> None:
    assert set(VI) - set(EN) == set(), "texts only in vi.py"
    assert set(EN) - set(VI) == set(), "texts only in en.py"
    for key in VI:
        assert placeholders(VI[key]) == placeholders(EN[key]), key


def test_the_code_raises_reasons_and_every_one_has_a_text_in_both() -> None:
    assert len(RAISES) > 60  # the test reads the code: it would pass vacuously otherwise
    missing = [(where, reason) for where, reason, _ in RAISES if reason not in VI]
    assert missing == []
    for where, reason, given in RAISES:
        if given is None:
            continue
        needed = placeholders(VI[reason])
        assert needed <= given, f"{where}: {reason} needs {needed - given}"


def test_the_reasons_built_from_names_have_texts() -> None:
    """Reasons and ``_text`` params made with an f-string, from the tables they come from."""
    for area in AREAS:
        assert f"access.{area}" in VI, area  # core.access.require_area
    for part in get_args(Part):
        assert f"address.part.{part}" in VI, part
    for kind in TRANSITIONS:
        assert VI[f"event.{kind}"] == TRANSITIONS[kind].label_vi
    for status in STATUS_LABELS:
        assert f"status.{status}" in VI
    for kind in PARTY_KINDS:
        assert f"party.{kind}" in VI
    for code in (
        "error",
        "invalid_input",
        "not_found",
        "conflict",
        "invalid_transition",
        "forbidden",
        "unauthorized",
        "rate_limited",
    ):
        assert f"kind.{code}" in VI


def test_vietnamese_texts_are_vietnamese() -> None:
    """A sentence in vi.py with no Vietnamese letter is an English one left there."""
    english = [key for key, value in VI.items() if value.isascii()]
    assert english == []
    assert all(VI[key] != EN[key] for key in VI if not key.startswith("event."))


def test_a_refusal_reads_in_the_asked_language_with_its_params() -> None:
    error = NotFound(
        "no item DH000000012VN",
        field="code",
        reason="item.unknown",
        params={"code": "DH000000012VN"},
    )
    assert message(error, "vi") == "Không tìm thấy bưu gửi DH000000012VN."
    assert message(error, "en") == "No item DH000000012VN."
    moved = Conflict(
        "x",
        reason="transition.not_allowed",
        params={"kind_text": "event.departed", "status_text": "status.picked_up"},
    )
    assert message(moved, "vi") == (
        f"Không thể ghi “{TRANSITIONS['departed'].label_vi}” khi bưu gửi đang ở trạng thái "
        f"“{STATUS_LABELS['picked_up'][0]}”."
    )


def test_without_a_text_english_keeps_the_detail_and_vietnamese_never_shows_it() -> None:
    bare = InvalidInput("the frobnicator is out of range", field="x")
    assert message(bare, "en") == "the frobnicator is out of range"
    assert message(bare, "vi") == VI["kind.invalid_input"]
    unknown = Conflict("in English", reason="nobody.wrote.this.text")
    assert message(unknown, "vi") == VI["kind.conflict"]
    assert message(unknown, "en") == "in English"
    # A params mistake (a placeholder nobody gave) falls back instead of failing the request.
    short = NotFound("no item", reason="item.unknown")
    assert message(short, "vi") == VI["kind.not_found"]
    admin = AdminInvalidInput("username", "Tên đăng nhập đã có.", "username is taken")
    assert both(admin) == ("Tên đăng nhập đã có.", "username is taken")


def test_codes_that_do_not_parse_say_why_in_vietnamese() -> None:
    with pytest.raises(InvalidItemId) as caught:
        validate_item_id("DH000001112VN")
    refusal = code_refusal(caught.value, "item_id")
    assert (refusal.field, refusal.reason) == ("item_id", "code.check_digit")
    assert message(refusal, "vi") == "Sai số kiểm tra trong mã DH000001112VN: quét hoặc nhập lại."
    assert message(refusal, "en") == "Wrong check digit in DH000001112VN: scan or type it again."
    assert refusal.detail == "check digit should be 1, got 2 in DH000001112VN"  # API clients
    with pytest.raises(InvalidItemId) as short:
        validate_item_id("DH12")
    assert code_refusal(short.value, "item_id").reason == "code.item_id"


def test_a_scan_answer_reads_its_reason_or_the_general_text_of_its_code() -> None:
    answer: dict[str, Any] = {
        "outcome": "rejected",
        "reason_code": "incomplete_dossier",
        "detail": "the dossier lacks: X",
        "reason": None,
        "params": {},
    }
    assert scan_message(answer, "vi") == VI["scan.incomplete_dossier"]
    assert scan_message(answer, "en") == "the dossier lacks: X"
    kept = {
        "outcome": "exception",
        "reason_code": "invalid_transition",
        "detail": "d",
        "reason": "transition.handoff_open",
        "params": {"party_text": "party.office"},
    }
    assert "bộ phận một cửa" in (scan_message(kept, "vi") or "")
    assert scan_message({"outcome": "accepted"}, "vi") is None
    # Receipts stored before reasons existed answer with the general text.
    old = {"outcome": "rejected", "reason_code": "unknown_item", "detail": "no item X"}
    assert scan_message(old, "vi") == VI["scan.unknown_item"]


@pytest.mark.parametrize(
    ("query", "header", "cookie", "expected"),
    [
        (None, None, None, "vi"),
        ("en", "vi-VN,vi;q=0.9", None, "en"),
        (None, "en-US,en;q=0.9", None, "en"),
        (None, "fr-FR,en;q=0.5,vi;q=0.8", None, "vi"),
        (None, "fr-FR", "en", "en"),
        (None, "en;q=0", None, "vi"),
        ("de", "", None, "vi"),
    ],
)
def test_the_language_a_json_caller_asked_for(
    query: str | None, header: str | None, cookie: str | None, expected: str
) -> None:
    assert negotiate(query, header, cookie) == expected


def test_every_text_fills_from_text_with_its_own_placeholders() -> None:
    for lang, catalogue in CATALOGUES.items():
        for key, value in catalogue.items():
            params = dict.fromkeys(placeholders(value), "X")
            assert text(key, params, lang) != "", key
    assert isinstance(DomainError("x").params, dict)
