"""The commune and province tables against the QĐ 19/2025 annex transcription."""

from __future__ import annotations

import csv
import hashlib
import math
from pathlib import Path

import pytest

from routing.admin_units import (
    DATA_DIR,
    VIETNAM_BBOX,
    commune_by_code,
    communes_in_province,
    load_communes,
    load_provinces,
    normalize_name,
    province_by_code,
    province_extents,
    unaccent_key,
)

REPO = Path(__file__).resolve().parents[2]
ANNEX = DATA_DIR / "qd19-2025-communes.csv"
SHARED_ANNEX = REPO.parent / "shared" / "reference" / "qd19-2025-communes.csv"
ANNEX_SHA256 = "a32e02142eb1e7d32918267802a086522a7a67b866d1b11926400051ef505b13"

# STANDARDS.md §7.
PROVINCES = {
    "01": "Hà Nội",
    "04": "Cao Bằng",
    "08": "Tuyên Quang",
    "11": "Điện Biên",
    "12": "Lai Châu",
    "14": "Sơn La",
    "15": "Lào Cai",
    "19": "Thái Nguyên",
    "20": "Lạng Sơn",
    "22": "Quảng Ninh",
    "24": "Bắc Ninh",
    "25": "Phú Thọ",
    "31": "Hải Phòng",
    "33": "Hưng Yên",
    "37": "Ninh Bình",
    "38": "Thanh Hóa",
    "40": "Nghệ An",
    "42": "Hà Tĩnh",
    "44": "Quảng Trị",
    "46": "Huế",
    "48": "Đà Nẵng",
    "51": "Quảng Ngãi",
    "52": "Gia Lai",
    "56": "Khánh Hòa",
    "66": "Đắk Lắk",
    "68": "Lâm Đồng",
    "75": "Đồng Nai",
    "79": "Hồ Chí Minh",
    "80": "Tây Ninh",
    "82": "Đồng Tháp",
    "86": "Vĩnh Long",
    "91": "An Giang",
    "92": "Cần Thơ",
    "96": "Cà Mau",
}

# Far-off island special zones: the province extents are built from pre-2025 mainland
# data that does not reach them.
OFFSHORE = {"20333": "Đặc khu Hoàng Sa", "22736": "Đặc khu Trường Sa"}


def _annex_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _communes_csv() -> list[dict[str, str]]:
    with (DATA_DIR / "communes.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_annex_copy_is_unchanged() -> None:
    assert hashlib.sha256(ANNEX.read_bytes()).hexdigest() == ANNEX_SHA256


def test_communes_csv_equals_annex_in_order_codes_and_names() -> None:
    annex = _annex_rows(ANNEX)
    ours = _communes_csv()
    assert len(annex) == len(ours) == 3321
    assert [(r["commune_code"], r["name"], r["province_code"]) for r in annex] == [
        (r["code"], r["name"], r["province_code"]) for r in ours
    ]


@pytest.mark.skipif(not SHARED_ANNEX.exists(), reason="../shared/reference not present")
def test_annex_copy_equals_shared_reference() -> None:
    assert SHARED_ANNEX.read_bytes() == ANNEX.read_bytes()
    shared = _annex_rows(SHARED_ANNEX)
    assert {(r["commune_code"], r["name"]) for r in shared} == {
        (c.code, c.name) for c in load_communes()
    }


def test_codes_are_zero_padded_and_unique() -> None:
    communes = load_communes()
    assert all(len(c.code) == 5 and c.code.isdigit() for c in communes)
    assert all(len(c.province_code) == 2 for c in communes)
    assert len({c.code for c in communes}) == 3321


def test_only_known_package_disagreement_is_ia_mo() -> None:
    differing = {r["code"]: r["package_code"] for r in _communes_csv() if r["package_code"]}
    assert differing == {"23737": "23938"}
    assert commune_by_code("23737").name == "Xã Ia Mơ"


def test_unit_type_counts_and_area_types() -> None:
    communes = load_communes()
    counts = {t: sum(c.unit_type == t for c in communes) for t in ("xã", "phường", "đặc khu")}
    assert counts == {"xã": 2621, "phường": 687, "đặc khu": 13}
    for c in communes:
        assert c.name.lower().startswith(c.unit_type)
        assert c.area_type == ("urban" if c.unit_type == "phường" else "rural")


def test_34_provinces_with_standard_codes() -> None:
    provinces = load_provinces()
    assert {p.code: p.short_name for p in provinces} == PROVINCES
    annex_names = {r["province_code"]: r["province_name"] for r in _annex_rows(ANNEX)}
    assert {p.code: p.name for p in provinces} == annex_names


def test_every_province_has_its_communes() -> None:
    total = 0
    for p in load_provinces():
        communes = communes_in_province(p.code)
        assert communes, p.code
        assert all(c.province_code == p.code for c in communes)
        total += len(communes)
    assert total == 3321
    assert len(communes_in_province("24")) == 99
    assert len(communes_in_province(79)) == 168


def test_centroids_inside_vietnam_and_their_province_extent() -> None:
    extents = province_extents()
    outside = []
    for c in load_communes():
        assert VIETNAM_BBOX.contains(c.lat, c.lon), c
        if not extents[c.province_code].contains(c.lat, c.lon, margin_deg=0.2):
            outside.append(c.code)
    assert sorted(outside) == sorted(OFFSHORE)


def test_province_centroids_inside_their_extent() -> None:
    extents = province_extents()
    for p in load_provinces():
        assert extents[p.code].contains(p.lat, p.lon), p


def test_areas_are_positive_and_plausible() -> None:
    for c in load_communes():
        assert 0.1 < c.area_km2 < 2000, c
    # Largest commune-level units are a few hundred km²; the sum should be near
    # Vietnam's land area (~331,000 km²) give or take the sea areas of island zones.
    total = sum(c.area_km2 for c in load_communes())
    assert 300_000 < total < 360_000, total
    # Sanity of the radius used by geocode for centroid accuracy.
    assert math.sqrt(commune_by_code("00070").area_km2 / math.pi) < 1.0


def test_samples_from_standards() -> None:
    samples = {
        "00004": ("Phường Ba Đình", "01"),
        "00070": ("Phường Hoàn Kiếm", "01"),
        "00082": ("Phường Cửa Nam", "01"),
        "00166": ("Phường Cầu Giấy", "01"),
        "26740": ("Phường Sài Gòn", "79"),
        "26743": ("Phường Bến Thành", "79"),
        "26732": ("Đặc khu Côn Đảo", "79"),
        "20242": ("Phường Hải Châu", "48"),
        "31135": ("Phường Ninh Kiều", "92"),
        "31078": ("Đặc khu Phú Quốc", "91"),
    }
    for code, (name, prov) in samples.items():
        c = commune_by_code(code)
        assert (c.name, c.province_code) == (name, prov)
    assert commune_by_code(70).code == "00070"


def test_lookups_reject_unknown_codes() -> None:
    with pytest.raises(KeyError, match="not in the QĐ 19/2025 annex"):
        commune_by_code("99999")
    with pytest.raises(KeyError, match="34 provinces"):
        province_by_code("27")  # old Bắc Ninh code, gone since 1 July 2025


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hoà", "Hòa"),
        ("Thuỷ", "Thủy"),
        ("Uý", "Úy"),
        ("Phường Hoà Bình", "phường hòa bình"),
        ("Xã Thuỵ Anh", "Xã Thụy Anh"),
        ("Xã Ea H’Leo", "Xã Ea H'Leo"),
        ("Phường  Kinh   Bắc ", "Phường Kinh Bắc"),
        ("Bà Rịa – Vũng Tàu", "Bà Rịa - Vũng Tàu"),
        # Decomposed input (NFD) equals precomposed.
        ("Ho\u0300a", "Hòa"),
    ],
)
def test_normalize_name_equal(a: str, b: str) -> None:
    assert normalize_name(a) == normalize_name(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("Sa Pa", "Sa Pả"), ("Hòa", "Hóa"), ("Thủy", "Thụy"), ("Ba Tơ", "Ba Tô")],
)
def test_normalize_name_keeps_meaningful_differences(a: str, b: str) -> None:
    assert normalize_name(a) != normalize_name(b)


def test_unaccent_key() -> None:
    assert unaccent_key("Phường Kinh Bắc") == "phuong kinh bac"
    assert unaccent_key("Xã Ea H’Leo") == unaccent_key("xa ea hleo")
    assert unaccent_key("ĐẶC KHU  CÔN ĐẢO") == "dac khu con dao"


def test_annex_names_distinct_under_normalisation_within_province() -> None:
    seen: dict[tuple[str, str], str] = {}
    for c in load_communes():
        key = (c.province_code, normalize_name(c.name))
        assert key not in seen, (c.code, seen.get(key))
        seen[key] = c.code


def test_estimated_areas_are_flagged() -> None:
    # The package has no usable area for these four; build_communes.py fills in the
    # province median and says so. A new package version that fixes them shows up here.
    estimated = {r["code"] for r in _communes_csv() if r["area_source"] != "vietnamadminunits"}
    assert estimated == {"06187", "19147", "19159", "28435"}
