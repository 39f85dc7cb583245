"""``hoso ledger verify``'s check of sealed papers: each paper's hash recomputed from its rows.

The ledger's ``record_sealed`` events hold the hash each paper had when signed; a paper whose
rows now hash differently was changed behind the database's back (its trigger disabled by
the owner) and is named, once, at the first item it was sealed on.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.models import DossierCodeRecord
from core.custody.models import CustodyEvent, Item
from core.custody.sealing import RECORD_DOSSIER_CODE, RECORD_HANDOVER, SEALED_KIND, content_hash
from core.handovers.models import Handover
from core.handovers.paper import handover_content
from core.papers.codes import dossier_code_content


@dataclass(frozen=True)
class SealProblem:
    record: str  # "hand-over record BG-2026-000002", "dossier code record 7"
    item_code: str
    seq: int
    problem: str


def _current_hash(session: Session, record_kind: str, ref: str) -> str | None:
    """The hash of the paper as its rows stand now; None when the paper is gone."""
    if record_kind == RECORD_HANDOVER:
        handover = session.scalar(select(Handover).where(Handover.code == ref))
        return None if handover is None else content_hash(handover_content(session, handover))
    if record_kind == RECORD_DOSSIER_CODE and ref.isdigit():
        row = session.get(DossierCodeRecord, int(ref))
        return None if row is None else content_hash(dossier_code_content(row))
    return None


_NAMES = {RECORD_HANDOVER: "hand-over record", RECORD_DOSSIER_CODE: "dossier code record"}


def verify_sealed(session: Session) -> tuple[int, list[SealProblem]]:
    """Recompute every sealed paper's hash from its rows; name each paper that differs.

    Returns the number of papers checked and the problems found.
    """
    rows = session.execute(
        select(Item.code, CustodyEvent.seq, CustodyEvent.details)
        .join(Item, Item.id == CustodyEvent.item_id)
        .where(CustodyEvent.kind == SEALED_KIND)
        .order_by(CustodyEvent.id)
    ).all()
    current: dict[tuple[str, str], str | None] = {}
    problems: list[SealProblem] = []
    named: set[tuple[str, str]] = set()  # one problem per paper, at its first sealed item
    for code, seq, details in rows:
        kind, ref = str(details.get("record")), str(details.get("ref"))
        key = (kind, ref)
        if key not in current:
            current[key] = _current_hash(session, kind, ref)
        now_hash = current[key]
        sealed = details.get("content_sha256")
        if now_hash != sealed and key not in named:
            named.add(key)
            name = f"{_NAMES.get(kind, kind)} {ref}"
            problem = (
                "the paper is gone"
                if now_hash is None
                else f"content changed after signing (sealed {str(sealed)[:12]}…, "
                f"now {now_hash[:12]}…)"
            )
            problems.append(SealProblem(name, code, seq, problem))
    return len(current), problems
