"""The quote: postal charge per leg by zone and weight, fee transfer, administrative fee.

The postal charge follows the shape of the published public-postal tariffs for
administrative dossiers (Circular 22/2017/TT-BTTTT sets the ceilings; providers publish a
per-leg price by zone and weight tier). The built-in table is modelled on those figures —
about 26,000 to 31,500 VND per leg up to 100 g — and an operator replaces it with a JSON
file (``HOSO_BOOKING_PRICE_TABLE``) without touching code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from core.errors import InvalidInput
from core.money.exemptions import Exemption, reduction

Zone = Literal["same_commune", "same_province", "other_province"]
ZONES: tuple[Zone, ...] = ("same_commune", "same_province", "other_province")
LegKind = Literal["dossier", "result"]

ZONE_LABELS: dict[str, tuple[str, str]] = {
    "same_commune": ("cùng xã/phường", "same commune"),
    "same_province": ("cùng tỉnh/thành phố", "same province"),
    "other_province": ("khác tỉnh/thành phố", "other province"),
}


@dataclass(frozen=True)
class WeightTier:
    max_grams: int
    prices: dict[str, int]  # zone -> VND


@dataclass(frozen=True)
class PriceTable:
    tiers: tuple[WeightTier, ...]  # ascending by max_grams

    def price(self, zone: Zone, weight_g: int) -> int:
        if weight_g <= 0:
            raise InvalidInput("the weight must be a positive number of grams", field="weight_g")
        for tier in self.tiers:
            if weight_g <= tier.max_grams:
                return tier.prices[zone]
        raise InvalidInput(
            f"a dossier above {self.tiers[-1].max_grams} g cannot be booked here; "
            "bring it to a post office",
            field="weight_g",
        )


# Per leg, VND, VAT included. Modelled on published per-leg tariffs for dossiers
# (≈26,000–31,500 VND up to 100 g); heavier tiers grow as the published tables do.
DEFAULT_TABLE = PriceTable(
    tiers=(
        WeightTier(100, {"same_commune": 26000, "same_province": 28000, "other_province": 31500}),
        WeightTier(250, {"same_commune": 28000, "same_province": 30500, "other_province": 36000}),
        WeightTier(500, {"same_commune": 31000, "same_province": 34000, "other_province": 42000}),
        WeightTier(1000, {"same_commune": 36000, "same_province": 40000, "other_province": 52000}),
        WeightTier(2000, {"same_commune": 44000, "same_province": 50000, "other_province": 68000}),
    )
)


def parse_price_table(data: object) -> PriceTable:
    """Read ``{"tiers": [{"max_grams": 100, "same_commune": 26000, ...}, ...]}``."""
    if not isinstance(data, dict) or not isinstance(data.get("tiers"), list) or not data["tiers"]:
        raise ValueError("a price table is an object with a non-empty list 'tiers'")
    tiers = []
    previous = 0
    for index, raw in enumerate(data["tiers"]):
        if not isinstance(raw, dict):
            raise ValueError(f"tiers[{index}] must be an object")
        limit = raw.get("max_grams")
        if not isinstance(limit, int) or limit <= previous:
            raise ValueError(f"tiers[{index}].max_grams must be an integer above {previous}")
        prices: dict[str, int] = {}
        for zone in ZONES:
            value = raw.get(zone)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"tiers[{index}].{zone} must be a whole, non-negative VND amount")
            prices[zone] = value
        tiers.append(WeightTier(limit, prices))
        previous = limit
    return PriceTable(tuple(tiers))


@lru_cache(maxsize=8)
def load_price_table(path: Path | None) -> PriceTable:
    if path is None:
        return DEFAULT_TABLE
    return parse_price_table(json.loads(path.read_text(encoding="utf-8")))


def zone_between(from_commune: str, from_province: str, to_commune: str, to_province: str) -> Zone:
    if from_commune == to_commune:
        return "same_commune"
    if from_province == to_province:
        return "same_province"
    return "other_province"


@dataclass(frozen=True)
class QuoteLine:
    code: str  # postage_dossier | postage_result | fee_transfer | admin_fee
    label_vi: str
    label_en: str
    amount_vnd: int


@dataclass(frozen=True)
class Quote:
    lines: tuple[QuoteLine, ...]
    total_vnd: int
    # The procedure's fee when the citizen pays it at the office themselves (not in total).
    admin_fee_at_office_vnd: int
    # The exemption the booking carries: code, labels, legal basis, the citizen's proof.
    exemption: dict[str, str] | None = None

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "lines": [line.__dict__ for line in self.lines],
            "total_vnd": self.total_vnd,
            "admin_fee_at_office_vnd": self.admin_fee_at_office_vnd,
        }
        if self.exemption is not None:
            body["exemption"] = self.exemption
        return body


# The ledger line each quote line belongs to, for exemptions (core.money.charges maps them).
_EXEMPT_LINE = {"postage_dossier": "postage", "postage_result": "postage",
                "fee_transfer": "fee_transfer"}  # fmt: skip


def _with_exemption(
    lines: list[QuoteLine], exemption: Exemption, proof: str
) -> tuple[list[QuoteLine], dict[str, str]]:
    """Each reduced line gets its own negative line right after it, naming the exemption: the
    quote and the receipts show what was taken off and why; lines never merge."""
    out: list[QuoteLine] = []
    for line in lines:
        out.append(line)
        ledger_line = _EXEMPT_LINE.get(line.code)
        off = reduction(exemption, ledger_line, line.amount_vnd) if ledger_line else 0
        if off:
            out.append(QuoteLine(
                f"exemption:{line.code}",
                f"Miễn giảm {exemption.percent_off[ledger_line or '']}% ({exemption.label_vi})",
                f"{exemption.percent_off[ledger_line or '']}% off ({exemption.label_en})",
                -off,
            ))  # fmt: skip
    carried = {"code": exemption.code, "label_vi": exemption.label_vi,
               "label_en": exemption.label_en, "legal_basis": exemption.legal_basis,
               "proof_reference": proof}  # fmt: skip
    return out, carried


def make_quote(
    table: PriceTable,
    *,
    service_option: str,
    zone: Zone,
    weight_g: int,
    admin_fee_vnd: int,
    pay_fee_on_behalf: bool,
    fee_transfer_vnd: int,
    exemption: Exemption | None = None,
    exemption_proof: str = "",
) -> Quote:
    """Itemise what the citizen pays: one postage line per leg travelled, then the fees."""
    legs: list[LegKind] = []
    if service_option in ("send", "both"):
        legs.append("dossier")
    if service_option in ("receive", "both"):
        legs.append("result")
    if not legs:
        raise InvalidInput(
            "service_option must be one of send, receive, both", field="service_option"
        )
    zone_vi, zone_en = ZONE_LABELS[zone]
    lines = []
    for leg in legs:
        amount = table.price(zone, weight_g)
        if leg == "dossier":
            vi, en = "Cước chuyển hồ sơ", "Postage, dossier to the office"
        else:
            vi, en = "Cước chuyển trả kết quả", "Postage, result to your door"
        lines.append(QuoteLine(f"postage_{leg}", f"{vi} ({zone_vi})", f"{en} ({zone_en})", amount))
    at_office = admin_fee_vnd
    if pay_fee_on_behalf and "dossier" not in legs:
        raise InvalidInput(
            "the fee can be paid on your behalf only when the courier carries the dossier",
            field="pay_fee_on_behalf",
        )
    if pay_fee_on_behalf and admin_fee_vnd > 0:
        lines.append(
            QuoteLine("admin_fee", "Phí, lệ phí thủ tục hành chính", "Administrative fee",
                      admin_fee_vnd)
        )  # fmt: skip
        lines.append(
            QuoteLine("fee_transfer", "Cước chuyển tiền phí, lệ phí", "Fee transfer charge",
                      fee_transfer_vnd)
        )  # fmt: skip
        at_office = 0
    carried = None
    if exemption is not None:
        lines, carried = _with_exemption(lines, exemption, exemption_proof)
    return Quote(tuple(lines), sum(line.amount_vnd for line in lines), at_office, carried)
