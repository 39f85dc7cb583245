"""Typed addresses, new (2025) and old (three-level) forms, resolved to annex codes.

Expected 2025 codes come from the annex copy (routing/data/qd19-2025-communes.csv). For old
addresses the expected new commune was checked by hand where noted:
- NQ 1685/NQ-UBTVQH15 (TP HCM), khoản 5 Điều 1: Phường Bàn Cờ = Phường 1, 2, 3, 5 and part
  of Phường 4 (Quận 3); the rest of Phường 4 with Võ Thị Sáu → Phường Xuân Hòa.
- Đà Nẵng plan of 23/4/2025 (tienphong.vn "Đà Nẵng còn 15 phường, xã và 1 đặc khu"):
  Thạch Thang, Hải Châu, Phước Ninh ... → Phường Hải Châu; Hòa Cường Bắc ... → Phường Hòa
  Cường.
The rest follow vietnamadminunits' conversion table, itself checked against the annex.
"""

from __future__ import annotations

import csv

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.address import AddressNotRecognised, ParsedAddress, parse_address
from routing.admin_units import (
    DATA_DIR,
    commune_by_code,
    is_commune_code,
    load_communes,
    province_by_code,
)

# (text, commune code, province code, was_legacy)
CASES: list[tuple[str, str, str, bool]] = [
    # Bắc Ninh (24), new form
    ("Số 12 Nguyễn Gia Thiều, Phường Kinh Bắc, Tỉnh Bắc Ninh", "09187", "24", False),
    ("So 12 Nguyen Gia Thieu, Phuong Kinh Bac, Tinh Bac Ninh", "09187", "24", False),
    ("so 12 nguyen gia thieu phuong kinh bac tinh bac ninh", "09187", "24", False),
    ("Thôn Đông, Xã Tam Đa, Bắc Ninh", "09208", "24", False),
    ("88 Hoàng Văn Thụ, P. Bắc Giang, Bắc Ninh", "07210", "24", False),
    ("Phường Từ Sơn, tỉnh Bắc Ninh", "09367", "24", False),
    ("Xã Tam Đa - Huyện Yên Phong - Bắc Ninh", "09208", "24", True),
    # Bắc Ninh, old form (old Bắc Ninh and old Bắc Giang provinces)
    ("12 Lý Thái Tổ, P. Suối Hoa, TP. Bắc Ninh, Bắc Ninh", "09187", "24", True),
    ("12 Ly Thai To, P Suoi Hoa, TP Bac Ninh, Bac Ninh", "09187", "24", True),
    ("so 12 ly thai to p suoi hoa tp bac ninh bac ninh", "09187", "24", True),
    ("TT. Chờ, H. Yên Phong, Bắc Ninh", "09193", "24", True),
    ("P. Đông Ngàn, TX. Từ Sơn, Bắc Ninh", "09367", "24", True),
    ("Phường Trần Phú, TP Bắc Giang, Bắc Giang", "07210", "24", True),
    # Hà Nội (01)
    ("1 Tràng Tiền, Phường Hoàn Kiếm, Hà Nội", "00070", "01", False),
    ("1 Trang Tien, phuong Hoan Kiem, HN", "00070", "01", False),
    ("Phường Cầu Giấy, Thành phố Hà Nội", "00166", "01", False),
    ("25 Hàng Bông, P. Hàng Gai, Q. Hoàn Kiếm, Hà Nội", "00070", "01", True),
    ("Phường Phúc Xá, Ba Đình, Hà Nội", "00097", "01", True),
    ("Xã Thanh Xuân, H. Sóc Sơn, Hà Nội", "00433", "01", True),
    # TP Hồ Chí Minh (79)
    ("Phường Sài Gòn, TP. Hồ Chí Minh", "26740", "79", False),
    ("Phuong Ban Co, TPHCM", "27154", "79", False),
    ("Phường Vũng Tàu, TP HCM", "26506", "79", False),
    ("45 Lê Lợi, P. Bến Thành, Q.1, TP.HCM", "26743", "79", True),
    ("45 Le Loi, P Ben Thanh, Q1, Tp HCM", "26743", "79", True),
    ("P. Tân Định, Q.1, TP HCM", "26737", "79", True),
    ("10 Võ Văn Tần, Phường 6, Quận 3, Sài Gòn", "27139", "79", True),
    ("Phường 2, Quận 3, TP Hồ Chí Minh", "27154", "79", True),
    ("Phường Linh Trung, TP. Thủ Đức, TP.HCM", "26800", "79", True),
    ("Phường Thảo Điền, Quận 2, TP.HCM", "27094", "79", True),
    ("Huyện Côn Đảo, Bà Rịa - Vũng Tàu", "26732", "79", True),
    ("Phường Thắng Tam, TP. Vũng Tàu, Bà Rịa - Vũng Tàu", "26506", "79", True),
    ("Phường Phú Cường, TP Thủ Dầu Một, Bình Dương", "25747", "79", True),
    # Đà Nẵng (48)
    ("Phường Hoà Cường, Đà Nẵng", "20257", "48", False),
    ("123 Hùng Vương, Phường Thạch Thang, Quận Hải Châu, Đà Nẵng", "20242", "48", True),
    ("Phường Hòa Cường Bắc, Q. Hải Châu, TP Đà Nẵng", "20257", "48", True),
    ("Phường Minh An, TP. Hội An, Quảng Nam", "20410", "48", True),
    # Cần Thơ (92)
    ("P. Ninh Kiều, TP Cần Thơ", "31135", "92", False),
    ("Phường An Hòa, Quận Ninh Kiều, Cần Thơ", "31120", "92", True),
    ("Phường Cái Khế, Q. Ninh Kiều, TP. Cần Thơ", "31120", "92", True),
    # Huế (46)
    ("Phuong Thuan Hoa, Hue", "19789", "46", False),
    ("Phường Thủy Xuân, Huế", "19813", "46", False),
    ("Phuong Thuy Xuan, TP Hue", "19813", "46", False),
    ("Phường Vĩnh Ninh, TP Huế, Thừa Thiên Huế", "19789", "46", True),
    ("Phường Phú Hội, Quận Thuận Hóa, Thành phố Huế", "19789", "46", True),
    # Elsewhere
    ("Xã Ia Mơ, Gia Lai", "23737", "52", False),  # annex code, not the package's 23938
    ("Thôn 3, Xã Ia Mơ, Huyện Chư Prông, Gia Lai", "23737", "52", True),
    ("Phường Sa Pa, Lào Cai", "03006", "15", False),
    ("Đặc khu Phú Quốc, An Giang", "31078", "91", False),
    ("TT Dương Đông, H. Phú Quốc, Kiên Giang", "31078", "91", True),
    ("Phường Hòa Bình, Phú Thọ", "04795", "25", False),
    ("Xã Ea H'Leo, Đắk Lắk", "24184", "66", False),  # annex writes H’Leo
    # "tinh" inside a name typed without accents is not the word "tỉnh"
    ("xa tue tinh hai phong", "10909", "31", False),
    ("xa son tinh quang ngai", "21220", "51", False),
]


def _annex_name(code: str) -> str:
    with (DATA_DIR / "qd19-2025-communes.csv").open(encoding="utf-8", newline="") as fh:
        return next(r["name"] for r in csv.DictReader(fh) if r["commune_code"] == code)


@pytest.mark.parametrize(("text", "commune", "province", "legacy"), CASES)
def test_resolves_to_annex_commune(text: str, commune: str, province: str, legacy: bool) -> None:
    got = parse_address(text)
    assert (got.commune_code, got.province_code, got.was_legacy) == (commune, province, legacy)
    assert got.commune_name == _annex_name(commune)
    assert got.province_name == province_by_code(province).name
    assert got.display.endswith(f"{got.commune_name}, {got.province_name}")
    if legacy:
        assert got.legacy_text


def test_there_are_at_least_40_cases_across_provinces() -> None:
    assert len(CASES) >= 40
    assert {"01", "24", "46", "48", "79", "92"} <= {c[2] for c in CASES}
    assert sum(c[3] for c in CASES) >= 15
    assert sum(not c[3] for c in CASES) >= 15


def test_street_and_display() -> None:
    got = parse_address("45 Lê Lợi, P. Bến Thành, Q.1, TP.HCM")
    assert got.street == "45 Lê Lợi"
    assert got.display == "45 Lê Lợi, Phường Bến Thành, Thành phố Hồ Chí Minh"
    assert got.legacy_text == "Phường Bến Thành, Quận 1, Thành phố Hồ Chí Minh"
    assert not got.ambiguous


def test_split_ward_is_ambiguous_with_candidates() -> None:
    # NQ 1685: Phường 4 (Quận 3) was divided between Bàn Cờ and Xuân Hòa.
    got = parse_address("Phường 4, Quận 3, TP Hồ Chí Minh")
    assert got.ambiguous
    assert set(got.candidates) == {"27154", "27139"}
    assert got.commune_code == got.candidates[0]


def test_split_ward_with_street_still_offers_candidates() -> None:
    got = parse_address("144 Xuân Thủy, P. Dịch Vọng Hậu, Q. Cầu Giấy, TP. Hà Nội")
    assert got.ambiguous
    assert "00166" in got.candidates
    assert got.street == "144 Xuân Thủy"


def test_unaccented_name_clash_offers_both() -> None:
    # Ba Tô and Ba Tơ are both communes of Quảng Ngãi; without accents they are one word.
    got = parse_address("xa ba to quang ngai")
    assert set(got.candidates) == {"21523", "21484"}
    accented = parse_address("Xã Ba Tơ, Quảng Ngãi")
    assert accented.commune_code == "21484" and not accented.ambiguous


def test_province_hint_used_only_when_text_has_none() -> None:
    assert parse_address("Số 5, Xã Tam Đa", province_hint="24").commune_code == "09208"
    assert parse_address("Phường Kinh Bắc", province_hint="Bắc Ninh").province_code == "24"
    got = parse_address("Phường Bến Thành, TP HCM", province_hint="24")
    assert got.province_code == "79"


def test_province_inferred_from_a_nationally_unique_commune() -> None:
    assert parse_address("Phường Kinh Bắc").province_code == "24"


@pytest.mark.parametrize(
    ("text", "part", "fragment"),
    [
        ("12 Foo, Phường Không Có, Bắc Ninh", "commune", "Phường Không Có"),
        ("abc, Xyz", "province", "Xyz"),
        ("Phường Bến Thành, Tỉnh Atlantis", "province", "Tỉnh Atlantis"),
        ("Bắc Ninh", "commune", "Bắc Ninh"),
        ("   ", "address", ""),
        ("Phường 1, TP HCM", "district", "Phường 1"),
        ("Số 5, Xã Tân Thành", "province", "Xã Tân Thành"),  # a name in many provinces
    ],
)
def test_unrecognised_input_names_the_part(text: str, part: str, fragment: str) -> None:
    with pytest.raises(AddressNotRecognised) as info:
        parse_address(text)
    assert info.value.part == part
    assert info.value.fragment.strip() == fragment
    message = str(info.value)
    assert message.startswith("Không nhận ra")
    if fragment:
        assert fragment in message


def test_bad_hint_is_reported_as_province() -> None:
    with pytest.raises(AddressNotRecognised, match="province_hint"):
        parse_address("Xã Tam Đa", province_hint="27")


def test_every_annex_commune_round_trips() -> None:
    misses = []
    for c in load_communes():
        text = f"{c.name}, {province_by_code(c.province_code).name}"
        got = parse_address(text)
        if got.commune_code != c.code or got.was_legacy:
            misses.append(text)
    assert misses == []


@pytest.mark.slow
def test_every_legacy_ward_converts_to_its_annex_communes() -> None:
    def read(name: str) -> list[dict[str, str]]:
        with (DATA_DIR / name).open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))

    districts = {(r["province_code"], r["code"]): r["name"] for r in read("legacy_districts.csv")}
    provinces = {r["code"]: r["name"] for r in read("legacy_provinces.csv")}
    misses = []
    count = 0
    for r in read("legacy_wards.csv"):
        if not r["name"]:
            continue
        count += 1
        district = districts[(r["province_code"], r["district_code"])]
        text = f"{r['name']}, {district}, {provinces[r['province_code']]}"
        expected = r["new_commune_codes"].split()
        got = parse_address(text)
        if got.commune_code != expected[0] or (
            len(expected) > 1 and list(got.candidates) != expected
        ):
            misses.append(text)
    assert count > 10_000
    assert misses == []


def _in_annex(p: ParsedAddress) -> bool:
    return (
        is_commune_code(p.commune_code)
        and commune_by_code(p.commune_code).province_code == p.province_code
        and all(is_commune_code(c) for c in p.candidates)
    )


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạờởỡớợ ,.", max_size=60))
def test_arbitrary_text_never_yields_a_code_outside_the_annex(text: str) -> None:
    try:
        got = parse_address(text)
    except AddressNotRecognised:
        return
    assert _in_annex(got)
