"""Check the ledger against signed tree heads: what someone with the database cannot forge.

The hash chains (``core.custody.verify``) catch an edit that was not re-hashed. An owner of
the database can re-hash, delete an item's last event or append a forged one and leave every
chain whole. The signed heads, kept outside the database (the heads file, the agencies'
copies), are what such a forger cannot remake without the private key. This check trusts
only them and the public keys:

1. every head's signature, with the trusted keys only;
2. each head consistent with the one before (RFC 9162 consistency proofs from the tree);
3. every leaf recomputed from its event in tree order, compared with the leaf stored when it
   was sequenced (an exact finding: item, sequence, leaf) and, at each head's size, the root
   of the recomputed leaves compared with the signed root (a finding bounded by two heads
   when the forger rewrote the stored leaves too);
4. no event in the ledger outside the tree that was recorded before a head which leaves it
   out, nor such an event inside the tree after that head: an event recorded before a head
   was signed is in it (ledger transactions close within ``agency_webhook_gap_grace_seconds``),
   so one that is not was added afterwards with a backdated time.
"""

from __future__ import annotations

import bisect
import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from core.custody.checkpoints import LEAF_RECORD
from core.custody.merkle import RootBuilder, verify_consistency
from core.custody.note import Checkpoint, NoteError, Verifier, open_checkpoint
from core.custody.tree import event_leaf, tree_at, tree_size
from vntime import VN


@dataclass(frozen=True)
class Finding:
    problem: str
    item_code: str | None = None
    seq: int | None = None
    leaf_index: int | None = None
    head_size: int | None = None

    def line(self) -> str:
        where = []
        if self.item_code is not None:
            where.append(self.item_code)
        if self.seq is not None:
            where.append(f"event {self.seq}")
        if self.leaf_index is not None:
            where.append(f"(leaf {self.leaf_index})")
        if not where and self.head_size is not None:
            where.append(f"head {self.head_size}")
        return f"BROKEN {' '.join(where) or 'ledger'}: {self.problem}"


@dataclass
class AuditReport:
    heads_checked: int = 0
    leaves_checked: int = 0
    unsigned_events: int = 0  # recorded after the latest head: not yet provable
    latest_head: Checkpoint | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def _when(value: datetime) -> str:
    return value.astimezone(VN).strftime("%d/%m/%Y %H:%M:%S")


_LEAVES_SQL = """
    SELECT l.leaf_index, l.item_code, l.seq, l.hash,
           e.id IS NOT NULL, i.code, e.seq, e.kind, e.recorded_at, e.hash
    FROM ledger_leaves AS l
    LEFT JOIN custody_events AS e ON e.id = l.event_row_id
    LEFT JOIN items AS i ON i.id = e.item_id
    ORDER BY l.leaf_index
"""
_UNSEQUENCED_SQL = """
    SELECT i.code, e.seq, e.recorded_at
    FROM custody_events AS e JOIN items AS i ON i.id = e.item_id
    WHERE NOT EXISTS (SELECT 1 FROM ledger_leaves AS l WHERE l.event_row_id = e.id)
    ORDER BY e.id
"""


def _rows(session: Session, sql: str) -> Iterator[tuple[Any, ...]]:
    raw = session.connection().connection.driver_connection
    assert raw is not None
    raw.execute("SET LOCAL TimeZone = 'UTC'")
    with raw.cursor(name="hoso_ledger_audit") as cursor:
        cursor.itersize = 5_000
        cursor.execute(sql)
        yield from cursor


def open_heads(
    notes: list[str], verifiers: list[Verifier], origin: str, report: AuditReport
) -> list[Checkpoint]:
    heads = []
    for number, note in enumerate(notes, start=1):
        try:
            heads.append(open_checkpoint(note, verifiers, origin))
        except NoteError as exc:
            report.findings.append(Finding(f"head #{number} cannot be trusted: {exc}"))
    heads.sort(key=lambda h: (h.size, h.signed_at or datetime.min.replace(tzinfo=VN)))
    return heads


class SignedLeaves:
    """The leaves file kept beside the heads file (``checkpoints.leaves_file``): each leaf's
    hash, item and sequence, in leaf order. Nothing in it is taken on trust: its leaves
    count only up to a head whose signed root they hash to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("rb")
        size = os.fstat(self._file.fileno()).st_size
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ) if size else None
        self.count = size // LEAF_RECORD.size

    def leaf(self, index: int) -> bytes | None:
        record = self.record(index)
        return record[0] if record else None

    def record(self, index: int) -> tuple[bytes, str, int] | None:
        """The leaf hash and the item and sequence it was made from."""
        if self._map is None or index >= self.count:
            return None
        leaf, code, seq = LEAF_RECORD.unpack_from(self._map, index * LEAF_RECORD.size)
        return leaf, code.decode("ascii"), seq

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
        self._file.close()


def audit_ledger(
    session: Session,
    notes: list[str],
    verifiers: list[Verifier],
    *,
    origin: str,
    grace_seconds: float,
    leaves_path: Path | None = None,
) -> AuditReport:
    """``leaves_path``: the leaves file kept with the heads, when there is one: with it an
    event changed together with its stored leaf and the tree is named, not only bounded."""
    report = AuditReport()
    heads = open_heads(notes, verifiers, origin, report)
    report.heads_checked = len(heads)
    if not heads:
        return report  # nothing signed yet (a new ledger); the caller says so
    report.latest_head = heads[-1]
    _check_consistency(session, heads, report)
    signed = SignedLeaves(leaves_path) if leaves_path and leaves_path.exists() else None
    try:
        _check_leaves(session, heads, report, timedelta(seconds=grace_seconds), signed)
    finally:
        if signed is not None:
            signed.close()
    return report


class _Witness:
    """The leaves file compared leaf by leaf with the leaves recomputed from the events. A
    difference is only reported once a head confirms the file's leaves up to it (their root
    is the signed root); a file that does not hash to a head is reported and set aside."""

    def __init__(self, signed: SignedLeaves | None, report: AuditReport) -> None:
        self.signed, self.report = signed, report
        self.builder = RootBuilder()
        self.pending: list[Finding] = []

    def add(self, index: int, leaf: bytes | None, event: tuple[str, int] | None) -> None:
        if self.signed is None:
            return
        authentic = self.signed.leaf(index)
        if authentic is None:
            self.signed = None  # the file ends here (leaves after its last head)
            return
        self.fill(index)  # leaf rows missing from the tree: the file has them
        self.builder.add(authentic)
        if event is not None and leaf is not None and leaf != authentic:
            self.pending.append(
                Finding(
                    "event changed after it was signed into the tree (the stored leaf and tree "
                    "were rewritten to match; the leaves kept with the heads show it)",
                    event[0],
                    event[1],
                    index,
                )
            )

    def fill(self, upto: int) -> None:
        """The file's leaves up to ``upto`` that the tree no longer holds: each names the
        event deleted with its leaf."""
        while self.signed is not None and self.builder.size < upto:
            record = self.signed.record(self.builder.size)
            if record is None:
                self.signed = None
                return
            leaf, code, seq = record
            self.pending.append(
                Finding(
                    "event deleted with its leaf after it was signed into the tree",
                    code,
                    seq,
                    self.builder.size,
                )  # fmt: skip
            )
            self.builder.add(leaf)

    def at_head(self, head: Checkpoint) -> None:
        if self.signed is None or self.builder.size != head.size:
            return
        if self.builder.root() == head.root:
            self.report.findings.extend(self.pending)
        else:
            self.report.findings.append(
                Finding(
                    f"the leaves file {self.signed.path} does not match head {head.size}: "
                    "it was changed, and is not used from there on",
                    head_size=head.size,
                )
            )
            self.signed = None
        self.pending.clear()


def _check_consistency(session: Session, heads: list[Checkpoint], report: AuditReport) -> None:
    size = tree_size(session)
    for old, new in zip(heads, heads[1:], strict=False):
        if old.size == new.size:
            if old.root != new.root:
                report.findings.append(
                    Finding(
                        "two heads of this size sign different roots: the log forked",
                        head_size=new.size,
                    )  # fmt: skip
                )
            continue
        if new.size > size:
            continue  # reported once below, with the leaves
        try:
            proof = tree_at(session, new.size).consistency_proof(old.size)
        except LookupError:
            proof = []
        if not verify_consistency(old.size, new.size, old.root, new.root, proof):
            report.findings.append(
                Finding(
                    f"the tree cannot prove head {new.size} consistent with head {old.size} "
                    "(RFC 9162): the stored tree was rewritten or the heads fork",
                    head_size=new.size,
                )
            )


def _check_leaves(
    session: Session,
    heads: list[Checkpoint],
    report: AuditReport,
    grace: timedelta,
    kept: SignedLeaves | None = None,
) -> None:
    sizes = [h.size for h in heads]
    builder = RootBuilder()
    witness = _Witness(kept, report)
    next_head = 0  # heads[next_head] is the first whose size is not yet reached
    expected = 0
    diverged = False
    last_good = 0  # the largest head size whose root matched

    def close_heads() -> None:
        nonlocal next_head, diverged, last_good
        while next_head < len(heads) and heads[next_head].size == builder.size:
            head = heads[next_head]
            next_head += 1
            witness.at_head(head)
            if diverged:
                continue
            if builder.root() == head.root:
                last_good = head.size
                continue
            diverged = True
            report.findings.append(
                Finding(
                    f"the events do not match head {head.size} signed "
                    f"{_when(head.signed_at) if head.signed_at else ''}: an event among leaves "
                    f"{last_good}..{head.size - 1} was changed, deleted or reordered",
                    head_size=head.size,
                )
            )

    close_heads()  # a head of size 0
    for row in _rows(session, _LEAVES_SQL):
        index, stored_code, stored_seq, stored_leaf, exists = row[:5]
        code, seq, kind, recorded_at, event_hash = row[5:]
        if index != expected:
            report.findings.append(
                Finding(
                    f"leaves {expected}..{index - 1} are missing from the tree", leaf_index=expected
                )  # fmt: skip
            )
            expected = index
        expected += 1
        report.leaves_checked += 1
        if not exists:
            report.findings.append(
                Finding("event deleted after it was recorded", stored_code, stored_seq, index)
            )
            witness.add(index, None, None)
            builder.add(bytes(stored_leaf))
            close_heads()
            continue
        leaf = event_leaf(code, seq, kind, recorded_at, event_hash)
        if (code, seq) != (stored_code, stored_seq):
            report.findings.append(
                Finding(
                    f"this leaf was {stored_code} event {stored_seq}: events reordered",
                    code,
                    seq,
                    index,
                )  # fmt: skip
            )
        elif leaf != bytes(stored_leaf):
            report.findings.append(
                Finding("event changed after it was signed into the tree", code, seq, index)
            )
        else:
            # The stored leaf agrees with the event: only the leaves kept outside the
            # database can still show that both were rewritten.
            witness.add(index, leaf, (code, seq))
        if (code, seq) != (stored_code, stored_seq) or leaf != bytes(stored_leaf):
            witness.add(index, None, None)
        # The head before this leaf's first head: if it was signed well after the event was
        # recorded, the event was not there to be signed.
        before = bisect.bisect_right(sizes, index) - 1
        if before >= 0 and heads[before].signed_at is not None:
            signed = heads[before].signed_at
            assert signed is not None
            if recorded_at + grace < signed:
                report.findings.append(
                    Finding(
                        f"recorded {_when(recorded_at)} but missing from head "
                        f"{heads[before].size} signed {_when(signed)}: added afterwards",
                        code,
                        seq,
                        index,
                    )  # fmt: skip
                )
        builder.add(leaf)
        close_heads()
    for head in heads[next_head:]:  # heads that cover leaves the tree no longer holds
        witness.fill(head.size)
        witness.at_head(head)
    if next_head < len(heads):
        head = heads[-1]
        report.findings.append(
            Finding(
                f"head {head.size} covers {head.size} events but the tree holds "
                f"{builder.size}: events at the end were deleted",
                head_size=head.size,
            )
        )
    _check_unsequenced(session, heads, report, grace)


def _check_unsequenced(
    session: Session, heads: list[Checkpoint], report: AuditReport, grace: timedelta
) -> None:
    latest = heads[-1]
    for code, seq, recorded_at in _rows(session, _UNSEQUENCED_SQL):
        if latest.signed_at is not None and recorded_at + grace < latest.signed_at:
            report.findings.append(
                Finding(
                    f"recorded {_when(recorded_at)} but in no head, though head {latest.size} "
                    f"was signed {_when(latest.signed_at)}: added afterwards",
                    code,
                    seq,
                )  # fmt: skip
            )
        else:
            report.unsigned_events += 1
