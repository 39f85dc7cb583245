"""Price tables as data: each province's weight tiers live in ``price_tiers``.

The built-in table (or the JSON file ``HOSO_BOOKING_PRICE_TABLE`` names) is what a province is
seeded with and what a province without tiers is charged; after seeding, a province's prices
are changed by importing a price-tier file, never by editing settings.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.booking.pricing import PriceTable, WeightTier
from core.places.models import PriceTier


def province_price_table(session: Session, province_code: str, fallback: PriceTable) -> PriceTable:
    tiers = session.scalars(
        select(PriceTier)
        .where(PriceTier.province_code == province_code)
        .order_by(PriceTier.max_grams)
    ).all()
    if not tiers:
        return fallback
    return PriceTable(
        tuple(
            WeightTier(
                t.max_grams,
                {
                    "same_commune": t.same_commune_vnd,
                    "same_province": t.same_province_vnd,
                    "other_province": t.other_province_vnd,
                },
            )
            for t in tiers
        )
    )


def seed_price_tiers(session: Session, province_code: str, table: PriceTable) -> int:
    """Give a province the default tiers once; a province that has tiers keeps its own."""
    if session.scalar(select(PriceTier.max_grams).where(PriceTier.province_code == province_code)):
        return 0
    rows = [
        {
            "province_code": province_code,
            "max_grams": tier.max_grams,
            "same_commune_vnd": tier.prices["same_commune"],
            "same_province_vnd": tier.prices["same_province"],
            "other_province_vnd": tier.prices["other_province"],
        }
        for tier in table.tiers
    ]
    session.execute(insert(PriceTier).on_conflict_do_nothing(), rows)
    return len(rows)
