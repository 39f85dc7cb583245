"""Bank lines arriving: a statement file a supervisor imports, or one line the bank notifies.

Either way a line is written once (its ``line_key`` is unique; a second arrival finds it and
changes nothing), judged (``matching.judge``) and settled in the same transaction: a line is
never in the table without its first decision, nor a payment recorded without its line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from core.identity.models import User
from core.inputs import text_problem
from core.money.bank.matching import judge, latest_decision, settle_new_line
from core.money.bank.models import BankLine, BankLineDecision, BankStatement
from core.money.bank.statements import (
    MAX_LINE_VND,
    LineError,
    StatementRefused,
    line_key,
    parse_statement,
)
from core.places.models import PostOffice

# A statement of one post office's account for a month is well below this.
MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Where:
    """Whose queue a line with no case lands in: a post office (when the importer has one)
    and always a province."""

    post_office_id: int | None
    province_code: str


def where_for(session: Session, user: User, post_office_id: int | None = None) -> Where:
    """The importer's place: their post office, or the one they chose (a supervisor of its
    province, an admin), or only their province (a supervisor importing the province's
    account)."""
    chosen = post_office_id or user.post_office_id
    if chosen is not None:
        office = session.get(PostOffice, chosen)
        if office is None:
            raise NotFound(f"no post office {chosen}", field="post_office_id")
        if user.post_office_id is not None and user.post_office_id != office.id:
            raise InvalidInput("you import for your own post office", field="post_office_id")
        if user.province_code is not None and user.province_code != office.province_code:
            raise InvalidInput("this post office is outside your province",
                               field="post_office_id")  # fmt: skip
        return Where(office.id, office.province_code)
    if user.province_code is not None:
        return Where(None, user.province_code)
    raise InvalidInput("choose the post office whose account this is", field="post_office_id")


@dataclass
class LineOutcome:
    line: BankLine
    decision: BankLineDecision
    created: bool


@dataclass
class ImportResult:
    statement: BankStatement
    already_imported: bool
    new: list[LineOutcome] = field(default_factory=list)
    known: int = 0
    errors: list[LineError] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for outcome in self.new:
            found[outcome.decision.outcome] = found.get(outcome.decision.outcome, 0) + 1
        return found


def _arrive(
    session: Session,
    *,
    key: str,
    source: str,
    amount_vnd: int,
    description: str,
    booked_on: date,
    booked_at: datetime | None,
    reference: str | None,
    counterparty: str | None,
    account_no: str | None,
    where: Where,
    raw: dict[str, Any],
    at: datetime,
    statement_id: int | None = None,
    notification_key_id: str | None = None,
) -> LineOutcome:
    verdict = judge(session, description, amount_vnd)
    post_office_id = verdict.post_office_id or where.post_office_id
    inserted = session.execute(
        insert(BankLine)
        .values(
            line_key=key, source=source, statement_id=statement_id,
            notification_key_id=notification_key_id, account_no=account_no,
            booked_on=booked_on, booked_at=booked_at, amount_vnd=amount_vnd,
            description=description, reference=reference, counterparty=counterparty,
            post_office_id=post_office_id, province_code=where.province_code, raw=raw,
            received_at=at,
        )
        .on_conflict_do_nothing(index_elements=["line_key"])
        .returning(BankLine.id)
    ).scalar()  # fmt: skip
    if inserted is None:
        line = session.scalars(select(BankLine).where(BankLine.line_key == key)).one()
        decision = latest_decision(session, line.id)
        assert decision is not None  # written in the same transaction as the line
        return LineOutcome(line, decision, created=False)
    line = session.get_one(BankLine, inserted)
    return LineOutcome(line, settle_new_line(session, line, verdict, at=at), created=True)


def import_statement(
    session: Session,
    *,
    data: bytes,
    filename: str | None,
    user: User,
    at: datetime,
    post_office_id: int | None = None,
) -> ImportResult:
    """Import a statement file. The same file twice, or an overlapping statement, adds only
    the lines not seen before; a row that cannot be read is reported beside the others."""
    if not data:
        raise InvalidInput("the file is empty", field="file")
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"the file is above {MAX_FILE_BYTES // 1024 // 1024} MB", field="file")
    if filename is not None and text_problem(filename):
        filename = None
    where = where_for(session, user, post_office_id)
    digest = hashlib.sha256(data).hexdigest()
    earlier = session.scalar(
        select(BankStatement).where(BankStatement.file_sha256 == digest).order_by(BankStatement.id)
    )
    try:
        parsed = parse_statement(data, filename)
    except StatementRefused as refused:
        raise InvalidInput(
            " ".join(f"{e.reason_vi} / {e.reason_en}" for e in refused.errors), field="file"
        ) from refused
    if earlier is not None:
        return ImportResult(earlier, already_imported=True, known=len(parsed.lines),
                            errors=parsed.errors)  # fmt: skip
    statement = BankStatement(
        file_sha256=digest, filename=(filename or None) and filename[:255], bank=parsed.bank,
        account_no=parsed.account_no, lines_read=len(parsed.lines), lines_new=0,
        debits_skipped=parsed.debits_skipped, post_office_id=where.post_office_id,
        province_code=where.province_code, imported_by_user_id=user.id, imported_at=at,
    )  # fmt: skip
    session.add(statement)
    session.flush()
    result = ImportResult(statement, already_imported=False, errors=parsed.errors)
    for line in parsed.lines:
        outcome = _arrive(
            session, key=line.line_key, source="statement", amount_vnd=line.amount_vnd,
            description=line.description, booked_on=line.booked_on, booked_at=line.booked_at,
            reference=line.reference, counterparty=line.counterparty,
            account_no=parsed.account_no, where=where, raw={"line": line.line, **line.raw},
            at=at, statement_id=statement.id,
        )  # fmt: skip
        if outcome.created:
            result.new.append(outcome)
        else:
            result.known += 1
    statement.lines_new = len(result.new)
    session.flush()
    return result


def notified_line(
    session: Session,
    *,
    key_id: str,
    account_no: str,
    province_code: str,
    reference: str,
    amount_vnd: int,
    description: str,
    booked_at: datetime,
    counterparty: str | None,
    at: datetime,
) -> LineOutcome:
    """One line the bank notified. Its reference is its identity: a resend of the same
    reference returns the first answer."""
    if not reference.strip():
        raise InvalidInput("the bank's transaction reference is needed", field="reference")
    if amount_vnd <= 0:
        raise InvalidInput("only credits are notified: the amount must be above 0",
                           field="amount_vnd")  # fmt: skip
    if amount_vnd > MAX_LINE_VND:
        raise InvalidInput(f"the amount is above {MAX_LINE_VND} đồng", field="amount_vnd")
    from vntime import VN

    local = booked_at.astimezone(VN)
    return _arrive(
        session, key=line_key(account_no, reference, local.date(), amount_vnd, description, 0),
        source="notification", amount_vnd=amount_vnd, description=description,
        booked_on=local.date(), booked_at=booked_at, reference=reference.strip(),
        counterparty=counterparty, account_no=account_no,
        where=Where(None, province_code), raw={"reference": reference}, at=at,
        notification_key_id=key_id,
    )  # fmt: skip
