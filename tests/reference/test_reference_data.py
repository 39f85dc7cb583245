"""Plain checks of core/reference/data/*.json against the annex tables. No database."""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "core" / "reference" / "data"
ROUTING_DATA = REPO / "routing" / "data"


def _load(name: str) -> Any:
    text = (DATA / name).read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", text), f"{name} is not NFC"
    return json.loads(text)


def _csv(name: str) -> list[dict[str, str]]:
    with (ROUTING_DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


COMMUNES = {r["code"]: r for r in _csv("communes.csv")}
BAC_NINH = next(r for r in _csv("provinces.csv") if r["code"] == "24")
VIETNAMESE_LETTER = re.compile(r"[ăâđêôơưàáảãạèéẻẽẹìíỉĩịòóỏõọùúủũụỳýỷỹỵ]", re.IGNORECASE)
PROCEDURE_CODE = re.compile(r"^\d\.\d{6}$")
URL = re.compile(r"^https?://[^\s]+$")


def _procedures() -> list[dict[str, Any]]:
    procedures: list[dict[str, Any]] = _load("procedures.json")["procedures"]
    return procedures


def test_at_least_12_procedures_with_unique_keys() -> None:
    procedures = _procedures()
    assert len(procedures) >= 12
    assert len({p["key"] for p in procedures}) == len(procedures)


@pytest.mark.parametrize("procedure", _procedures(), ids=lambda p: str(p["key"]))
def test_procedure_fields(procedure: dict[str, Any]) -> None:
    p = procedure
    assert p["code"] is None or PROCEDURE_CODE.match(p["code"])
    assert VIETNAMESE_LETTER.search(p["name_vi"]), "name_vi without diacritics"
    assert p["name_en"].strip()
    assert p["level"] in {"province", "commune"}
    assert VIETNAMESE_LETTER.search(p["agency"])
    assert isinstance(p["processing_days"], int) and 1 <= p["processing_days"] <= 60
    assert isinstance(p["fee_vnd"], int) and p["fee_vnd"] >= 0
    assert p["fee_vnd"] % 1000 == 0
    assert p["legal_basis"] and all(isinstance(x, str) and x for x in p["legal_basis"])
    assert all(URL.match(u) for u in p["sources"])
    # Nothing unsourced passes silently: either a source or a note that says so.
    assert p["sources"] or "not re-checked" in p["note"]
    docs = p["required_documents"]
    assert docs
    for d in docs:
        assert VIETNAMESE_LETTER.search(d["name_vi"])
        assert d["name_en"]
        assert d["kind"] in {"original", "copy", "certified_copy"}
        assert isinstance(d["quantity"], int) and d["quantity"] >= 1


def test_procedures_cover_the_brief() -> None:
    keys = {p["key"] for p in _procedures()}
    assert {
        "judicial_record_certificate",
        "birth_registration",
        "permanent_residence_registration",
        "driving_licence_exchange",
        "land_use_certificate_first",
        "business_household_registration",
        "enterprise_registration",
        "civil_status_extract_copy",
        "marriage_registration",
        "death_registration",
        "marital_status_certificate",
        "passport_issuance",
    } <= keys


def _in_bac_ninh_extent(lat: float, lon: float) -> bool:
    return float(BAC_NINH["min_lat"]) <= lat <= float(BAC_NINH["max_lat"]) and float(
        BAC_NINH["min_lon"]
    ) <= lon <= float(BAC_NINH["max_lon"])


def _check_place(place: dict[str, Any]) -> None:
    commune = COMMUNES.get(place["commune_code"])
    assert commune is not None, f"{place['commune_code']} not in the annex"
    assert commune["province_code"] == "24"
    assert place.get("commune_name", commune["name"]) == commune["name"]
    assert _in_bac_ninh_extent(place["lat"], place["lon"])
    if place.get("position_source") == "commune_centroid":
        assert (place["lat"], place["lon"]) == (float(commune["lat"]), float(commune["lon"]))
    assert VIETNAMESE_LETTER.search(place["name_vi"]) and place["name_en"]
    assert VIETNAMESE_LETTER.search(place["address"])


def test_offices() -> None:
    data = _load("offices.json")
    offices = data["offices"]
    assert data["_about"]["province_code"] == "24"
    kinds = [o["kind"] for o in offices]
    assert set(kinds) <= {"province_centre", "commune_centre"}
    assert kinds.count("province_centre") == 1
    assert kinds.count("commune_centre") >= 10
    assert len({o["key"] for o in offices}) == len(offices)
    assert len({o["commune_code"] for o in offices if o["kind"] == "commune_centre"}) >= 10
    for o in offices:
        _check_place(o)


def test_post_offices() -> None:
    posts = _load("post_offices.json")["post_offices"]
    assert len(posts) >= 6
    assert len({p["code"] for p in posts}) == len(posts)
    for p in posts:
        assert re.match(r"^(BN-\d{2}|\d{5,6})$", p["code"])
        if p["code"].startswith("BN-"):
            assert p["code_note"]
        _check_place(p)
    assert any(p["name_vi"] == "Bưu điện tỉnh Bắc Ninh" for p in posts)
