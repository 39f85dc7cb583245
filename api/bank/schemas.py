"""What the money JSON API answers and accepts (separate from the ORM rows)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from core.inputs import Moment, RowId, Text


class LineErrorRead(BaseModel):
    line: int
    column: str | None
    reason_vi: str
    reason_en: str


class BankLineRead(BaseModel):
    id: int
    source: str
    booked_on: date
    booked_at: datetime | None
    amount_vnd: int
    description: str
    reference: str | None
    counterparty: str | None
    post_office_id: int | None
    outcome: str = Field(description="matched, refunded, or open: unmatched, duplicate, "
                         "wrong_amount, cancelled_paid")  # fmt: skip
    outcome_vi: str
    outcome_en: str
    case_id: int | None
    item_code: str | None = None
    expected_vnd: int | None
    note: str
    decided_at: datetime


class StatementImportRead(BaseModel):
    statement_id: int
    already_imported: bool = Field(description="the same file was imported before: nothing new")
    bank: str | None
    account_no: str | None
    lines_new: int
    lines_known: int = Field(description="lines already imported (this file or another)")
    debits_skipped: int
    outcomes: dict[str, int]
    errors: list[LineErrorRead]
    lines: list[BankLineRead]


class RefundDueRead(BaseModel):
    case_id: int
    item_code: str | None
    contact_name: str
    post_office_id: int
    owed_back_vnd: int
    state: str


class QueueRead(BaseModel):
    lines: list[BankLineRead]
    refunds_due: list[RefundDueRead]


class MatchCreate(BaseModel):
    item_code: Text | None = Field(None, description="The case's dossier or result item ID.")
    case_id: RowId | None = None
    note: Text = Field("", max_length=500)


class RefundCreate(BaseModel):
    note: Text = Field(min_length=1, max_length=500, description="Why the money goes back.")


class CaseRefundRead(BaseModel):
    case_id: int
    refunded_vnd: int


class BankNotification(BaseModel):
    """One credit on the account, as the bank's notification service sends it."""

    account_no: Text = Field(max_length=32)
    reference: Text = Field(
        min_length=1, max_length=128, description="The bank's transaction id: its identity."
    )
    amount_vnd: int = Field(ge=1, le=10_000_000_000)
    description: Text = Field(max_length=1000, description="The transfer text (nội dung).")
    booked_at: Moment
    counterparty: Text | None = Field(None, max_length=200)


class BankNotificationRead(BaseModel):
    created: bool = Field(description="false: this reference was notified before")
    line: BankLineRead


class CheckRead(BaseModel):
    name: str
    label_vi: str
    label_en: str
    expected_vnd: int
    actual_vnd: int
    ok: bool
    detail: str


class ExceptionRead(BaseModel):
    kind: str
    label_vi: str
    label_en: str
    amount_vnd: int
    ref: str
    case_id: int | None


class CourierRowRead(BaseModel):
    courier_user_id: int
    name: str
    cash_collected_vnd: int
    cashed_up_vnd: int | None
    difference_vnd: int | None
    holding_vnd: int


class OfficeRowRead(BaseModel):
    office_id: int
    name: str
    state_fees_collected_vnd: int
    handed_vnd: int
    payable_vnd: int


class ReconciliationRead(BaseModel):
    day: date
    post_office_id: int
    post_office_name: str
    balanced: bool
    collected_by_method: dict[str, int]
    collected_by_line: dict[str, int]
    receipts_count: int
    handed_to_agency_vnd: int
    in_till_vnd: int
    with_couriers_vnd: int
    bank_lines_vnd: int
    bank_lines_count: int
    refunds_paid_vnd: int
    couriers: list[CourierRowRead]
    offices: list[OfficeRowRead]
    checks: list[CheckRead]
    exceptions: list[ExceptionRead]
