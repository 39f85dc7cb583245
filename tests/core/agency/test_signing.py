"""The signature recipe in docs/agency-api.md is the one the code uses; so is the status table."""

from __future__ import annotations

import re
from pathlib import Path

from core.agency.signing import sha256_hex, signature
from core.custody.transitions import STATUS_LABELS
from core.portal.status import PORTAL_STATUS

DOC = Path(__file__).resolve().parents[3] / "docs" / "agency-api.md"


def _worked_example() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("### Worked example", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    values = {}
    for line in block.strip().splitlines():
        name, _, value = line.partition(":")
        values[name.strip()] = value.strip()
    return values


def test_worked_example_in_the_docs_recomputes() -> None:
    ex = _worked_example()
    body = ex["body"].encode()
    assert sha256_hex(body) == ex["body hash"]
    assert signature(ex["secret"], ex["method"], ex["path"], ex["timestamp"], ex["nonce"],
                     body) == ex["signature"]  # fmt: skip
    # And the signature depends on every part: change one and it no longer matches.
    assert signature(ex["secret"], "GET", ex["path"], ex["timestamp"], ex["nonce"],
                     body) != ex["signature"]  # fmt: skip
    assert signature(ex["secret"], ex["method"], ex["path"], ex["timestamp"], ex["nonce"],
                     body + b" ") != ex["signature"]  # fmt: skip


def test_status_table_in_the_docs_matches_the_code() -> None:
    text = DOC.read_text(encoding="utf-8").split("## hoso statuses", 1)[1]
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \| ([^|]+) \|$", text, flags=re.M)
    documented = {
        status: None if code.strip() == "—" else (int(code), name.strip())
        for status, code, name in rows
    }
    assert documented == PORTAL_STATUS
    # Every status the ledger knows is mapped (or explicitly unmapped).
    assert set(PORTAL_STATUS) == set(STATUS_LABELS)
