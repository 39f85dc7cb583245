"""A case with booking terms as the booking service stores them: the quote, line by line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.booking.models import BookingTerms
from core.booking.pricing import DEFAULT_TABLE, make_quote
from core.cases.models import Case
from core.settings import Settings
from tests.factories import make_case, make_procedure
from vntime import VN

# 26,000 postage per leg (same commune, 100 g), a 200,000 fee, the 8,000 transfer charge.
FEE = 200_000
TRANSFER = 8_000
POSTAGE = 26_000
TOTAL_BOTH = 2 * POSTAGE + FEE + TRANSFER  # 260,000

AT = datetime(2026, 12, 3, 9, 30, tzinfo=VN)


def priced_case(
    db: Session,
    settings: Settings,
    *,
    method: str = "cash",
    fee: int = FEE,
    on_behalf: bool = True,
    service_option: str = "both",
    exemption: dict[str, Any] | None = None,
    **overrides: Any,
) -> Case:
    procedure = make_procedure(db, fee_vnd=fee)
    case = make_case(db, settings, procedure_id=procedure.id, service_option=service_option,
                     **overrides)  # fmt: skip
    quote = make_quote(
        DEFAULT_TABLE,
        service_option=service_option,
        zone="same_commune",
        weight_g=100,
        admin_fee_vnd=fee,
        pay_fee_on_behalf=on_behalf,
        fee_transfer_vnd=TRANSFER,
    ).to_json()
    if exemption is not None:
        lines: list[dict[str, Any]] = [*quote["lines"], *exemption.pop("lines")]  # type: ignore[misc]
        quote["lines"] = lines
        quote["exemption"] = exemption
        quote["total_vnd"] = sum(int(line["amount_vnd"]) for line in lines)
    db.add(
        BookingTerms(
            case_id=case.id,
            payment_method=method,
            pay_fee_on_behalf=on_behalf,
            weight_g=100,
            zone="same_commune",
            quote=quote,
            total_vnd=quote["total_vnd"],
            reschedule_count=0,
        )
    )
    db.flush()
    return case
