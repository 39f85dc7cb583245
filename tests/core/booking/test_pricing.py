from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.booking.pricing import (
    DEFAULT_TABLE,
    load_price_table,
    make_quote,
    parse_price_table,
    zone_between,
)
from core.errors import InvalidInput


def test_default_table_is_in_the_published_range_up_to_100_g() -> None:
    first = DEFAULT_TABLE.tiers[0]
    assert first.max_grams == 100
    assert 26_000 <= min(first.prices.values()) and max(first.prices.values()) <= 31_500
    # Further and heavier never costs less.
    for tier in DEFAULT_TABLE.tiers:
        p = tier.prices
        assert p["same_commune"] <= p["same_province"] <= p["other_province"]
    for lighter, heavier in zip(DEFAULT_TABLE.tiers, DEFAULT_TABLE.tiers[1:], strict=False):
        assert all(lighter.prices[z] <= heavier.prices[z] for z in lighter.prices)


def test_zones() -> None:
    assert zone_between("09187", "24", "09187", "24") == "same_commune"
    assert zone_between("09187", "24", "07210", "24") == "same_province"
    assert zone_between("09187", "24", "00070", "01") == "other_province"


def test_both_legs_with_fee_paid_on_behalf_are_itemised() -> None:
    quote = make_quote(
        DEFAULT_TABLE,
        service_option="both",
        zone="same_province",
        weight_g=80,
        admin_fee_vnd=200_000,
        pay_fee_on_behalf=True,
        fee_transfer_vnd=8_000,
    )
    assert [(line.code, line.amount_vnd) for line in quote.lines] == [
        ("postage_dossier", 28_000),
        ("postage_result", 28_000),
        ("admin_fee", 200_000),
        ("fee_transfer", 8_000),
    ]
    assert quote.total_vnd == 264_000 and quote.admin_fee_at_office_vnd == 0
    assert "cùng tỉnh" in quote.lines[0].label_vi


def test_send_only_without_fee_on_behalf_leaves_the_fee_to_the_office() -> None:
    quote = make_quote(
        DEFAULT_TABLE,
        service_option="send",
        zone="same_commune",
        weight_g=300,
        admin_fee_vnd=50_000,
        pay_fee_on_behalf=False,
        fee_transfer_vnd=8_000,
    )
    assert [(line.code, line.amount_vnd) for line in quote.lines] == [("postage_dossier", 31_000)]
    assert (quote.total_vnd, quote.admin_fee_at_office_vnd) == (31_000, 50_000)


def test_free_procedure_has_no_fee_transfer_charge() -> None:
    quote = make_quote(
        DEFAULT_TABLE,
        service_option="receive",
        zone="other_province",
        weight_g=100,
        admin_fee_vnd=0,
        pay_fee_on_behalf=False,
        fee_transfer_vnd=8_000,
    )
    assert [line.code for line in quote.lines] == ["postage_result"]
    assert quote.total_vnd == 31_500


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"weight_g": 0}, "weight_g"),
        ({"weight_g": 2001}, "weight_g"),
        ({"service_option": "fax"}, "service_option"),
        ({"service_option": "receive", "pay_fee_on_behalf": True}, "pay_fee_on_behalf"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"service_option": "both", "zone": "same_commune", "weight_g": 100,
                               "admin_fee_vnd": 1000, "pay_fee_on_behalf": False,
                               "fee_transfer_vnd": 8000}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(InvalidInput) as caught:
        make_quote(DEFAULT_TABLE, **args)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_an_operator_table_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"tiers": [
        {"max_grams": 50, "same_commune": 20000, "same_province": 22000, "other_province": 25000},
        {"max_grams": 500, "same_commune": 30000, "same_province": 33000, "other_province": 40000},
    ]}))  # fmt: skip
    table = load_price_table(path)
    assert table.price("same_province", 50) == 22_000
    assert table.price("same_province", 51) == 33_000
    with pytest.raises(ValueError, match="max_grams"):
        parse_price_table({"tiers": [{"max_grams": 0, "same_commune": 1, "same_province": 1,
                                      "other_province": 1}]})  # fmt: skip
    with pytest.raises(ValueError, match="other_province"):
        parse_price_table({"tiers": [{"max_grams": 10, "same_commune": 1, "same_province": 1}]})
