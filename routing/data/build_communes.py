"""Build the administrative-unit tables in this folder from the QĐ 19/2025 annex.

Run once, by hand, when the annex transcription or vietnamadminunits changes:

    .venv/bin/python routing/data/build_communes.py

The annex (``qd19-2025-communes.csv``, a verbatim copy of
``/work/shared/reference/qd19-2025-communes.csv``) is the authority for codes and names.
vietnamadminunits 1.0.4 only contributes what the annex lacks: centroids, areas, the
legacy (pre-2025, three-level) units and its legacy→2025 conversion table. Every package
code is checked against the annex; where the package disagrees the annex wins and the
disagreement is written into the output (``package_code`` column), never silently fixed.

Outputs (UTF-8, LF, sorted deterministically, so a re-run gives identical bytes):

- ``communes.csv``   the 3,321 communes in annex order, with centroid, area, area type.
- ``provinces.csv``  the 34 provinces with centroid and a rough extent (bounding box).
- ``legacy_provinces.csv`` / ``legacy_districts.csv`` / ``legacy_wards.csv``
  the 63-province units citizens still write, each ward with the 2025 commune code(s) it
  became (first = the package's default when the ward was split).

The script needs the installed package; the library code at run time reads only the CSVs.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ANNEX = HERE / "qd19-2025-communes.csv"
ANNEX_SHA256 = "a32e02142eb1e7d32918267802a086522a7a67b866d1b11926400051ef505b13"

# Tone normalisation lives in routing.admin_units; import it from the source tree so the
# build and the run-time matcher agree on what "the same name" means.
sys.path.insert(0, str(HERE.parent.parent))
from routing.admin_units import normalize_name, unaccent_key  # noqa: E402


def _package_dir() -> Path:
    import vietnamadminunits

    return Path(vietnamadminunits.__file__).parent


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _unit_type(name: str) -> str:
    for prefix, kind in (("Phường ", "phường"), ("Xã ", "xã"), ("Đặc khu ", "đặc khu")):
        if name.startswith(prefix):
            return kind
    raise ValueError(f"annex name without a unit type: {name!r}")


def _key_list(raw: str | None) -> list[str]:
    return sorted(json.loads(raw)) if raw else []


def main() -> None:
    digest = hashlib.sha256(ANNEX.read_bytes()).hexdigest()
    if digest != ANNEX_SHA256:
        raise SystemExit(f"annex copy changed: sha256 {digest}")

    with ANNEX.open(encoding="utf-8", newline="") as fh:
        annex = list(csv.DictReader(fh))

    db = sqlite3.connect(_package_dir() / "data" / "dataset.db")
    db.row_factory = sqlite3.Row
    pkg = list(db.execute("SELECT * FROM admin_units"))
    by_code = {r["wardCode"]: r for r in pkg}
    by_name = {(r["provinceCode"], normalize_name(r["ward"])): r for r in pkg}

    # Four communes have no usable area in the package (Quảng Trị 19147, 19159: none;
    # Lạng Sơn 06187, Đồng Tháp 28435: 0.0). Rather than invent one, take the median area
    # of the province's other communes of the same type and flag it in ``area_source``.
    areas: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in pkg:
        if r["wardAreaKm2"]:
            areas[(r["provinceCode"], r["wardType"])].append(r["wardAreaKm2"])

    commune_rows: list[list[object]] = []
    pkg_to_annex: dict[str, str] = {}
    mismatches: list[str] = []
    for a in annex:
        code, prov, name = a["commune_code"], a["province_code"], a["name"]
        r = by_code.get(code)
        if (
            r is None
            or r["provinceCode"] != prov
            or normalize_name(r["ward"]) != normalize_name(name)
        ):
            r = by_name.get((prov, normalize_name(name)))
            if r is None:
                raise SystemExit(f"no package unit for annex {code} {name}")
            mismatches.append(f"{code} {name}: package code {r['wardCode']}")
        pkg_to_annex[r["wardCode"]] = code
        kind = _unit_type(name)
        area, area_source = r["wardAreaKm2"], "vietnamadminunits"
        if not area:
            same = sorted(areas[(prov, r["wardType"])])
            area, area_source = same[len(same) // 2], "median_of_province"
        commune_rows.append(
            [
                code,
                name,
                kind,
                prov,
                f"{r['wardLat']:.5f}",
                f"{r['wardLon']:.5f}",
                f"{area:.2f}",
                area_source,
                "urban" if kind == "phường" else "rural",
                "" if r["wardCode"] == code else r["wardCode"],
            ]
        )
    _write_csv(
        HERE / "communes.csv",
        [
            "code",
            "name",
            "unit_type",
            "province_code",
            "lat",
            "lon",
            "area_km2",
            "area_source",
            "area_type",
            "package_code",
        ],
        commune_rows,
    )

    # --- legacy units and the conversion table -------------------------------------------
    conv = json.loads((_package_dir() / "data" / "converter_2025.json").read_text("utf-8"))
    new_prov_key_to_code = {r["provinceKey"]: r["provinceCode"] for r in pkg}
    new_ward = {(r["provinceKey"], r["wardKey"]): r["wardCode"] for r in pkg}
    old_prov_to_new: dict[str, str] = {}
    for new_key, old_keys in conv["DICT_PROVINCE"].items():
        for old_key in old_keys:
            old_prov_to_new[old_key] = new_prov_key_to_code[new_key]

    # old "province_district_ward" key → ordered list of annex codes (default first)
    conversion: dict[str, list[str]] = {}
    for new_pkey, table in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_wkey, old_keys in table.items():
            for old in old_keys:
                conversion[old] = [pkg_to_annex[new_ward[(new_pkey, new_wkey)]]]
    for new_pkey, table in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, options in table.items():
            ordered = sorted(options, key=lambda o: (not o["isDefaultNewWard"], o["newWardKey"]))
            conversion[old] = [pkg_to_annex[new_ward[(new_pkey, o["newWardKey"])]] for o in ordered]

    legacy = list(db.execute("SELECT * FROM admin_units_legacy"))
    province_rows: dict[str, list[object]] = {}
    district_rows: dict[tuple[str, str], list[object]] = {}
    ward_rows: list[list[object]] = []
    unconverted: list[str] = []
    for r in legacy:
        pcode = r["provinceCode"]
        new_pcode = old_prov_to_new[r["provinceKey"]]
        province_rows[pcode] = [
            pcode,
            r["province"],
            r["provinceShort"],
            new_pcode,
            " ".join(_key_list(r["provinceAlias"])),
        ]
        district_rows[(pcode, r["districtCode"])] = [
            pcode,
            r["districtCode"],
            r["district"],
            r["districtType"],
            " ".join(_key_list(r["districtAlias"])),
            f"{r['districtLat']:.5f}",
            f"{r['districtLon']:.5f}",
        ]
        old_key = f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey'] or ''}"
        codes = conversion.get(old_key)
        if codes is None:
            unconverted.append(old_key)
            continue
        ward_rows.append(
            [
                pcode,
                r["districtCode"],
                r["wardCode"] or "",
                r["ward"] or "",
                " ".join(_key_list(r["wardAlias"])),
                f"{r['wardLat']:.5f}" if r["wardLat"] is not None else "",
                f"{r['wardLon']:.5f}" if r["wardLon"] is not None else "",
                new_pcode,
                " ".join(codes),
            ]
        )
    ward_rows.sort(key=lambda row: (str(row[0]), str(row[1]), str(row[2])))
    _write_csv(
        HERE / "legacy_provinces.csv",
        ["code", "name", "short_name", "new_province_code", "aliases"],
        [province_rows[k] for k in sorted(province_rows)],
    )
    _write_csv(
        HERE / "legacy_districts.csv",
        ["province_code", "code", "name", "district_type", "aliases", "lat", "lon"],
        [district_rows[k] for k in sorted(district_rows)],
    )
    _write_csv(
        HERE / "legacy_wards.csv",
        [
            "province_code",
            "district_code",
            "code",
            "name",
            "aliases",
            "lat",
            "lon",
            "new_province_code",
            "new_commune_codes",
        ],
        ward_rows,
    )

    # --- provinces --------------------------------------------------------------------------
    # Centroid: area-weighted mean of commune centroids, leaving out the far-off island
    # special zones (Hoàng Sa, Trường Sa) that would drag a province centroid out to sea.
    # Extent: built from the *legacy* ward/district points of the old provinces that merged
    # into each new one, i.e. from data independent of the 2025 centroids it is used to check.
    names = {a["province_code"]: a["province_name"] for a in annex}
    short = {r["provinceCode"]: r["provinceShort"] for r in pkg}
    weights: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for row in commune_rows:
        if str(row[0]) in {"20333", "22736"}:
            continue
        lat, lon, area = float(str(row[4])), float(str(row[5])), float(str(row[6]))
        weights[str(row[3])].append((lat, lon, area))
    extent: dict[str, list[float]] = {}
    for r in legacy:
        points = [(r["districtLat"], r["districtLon"])]
        if r["wardLat"] is not None:
            points.append((r["wardLat"], r["wardLon"]))
        box = extent.setdefault(old_prov_to_new[r["provinceKey"]], [90.0, -90.0, 180.0, -180.0])
        for lat, lon in points:
            box[:] = [min(box[0], lat), max(box[1], lat), min(box[2], lon), max(box[3], lon)]
    prov_rows: list[list[object]] = []
    for code in sorted(names):
        pts = weights[code]
        total = sum(w for _, _, w in pts)
        lat = sum(la * w for la, _, w in pts) / total
        lon = sum(lo * w for _, lo, w in pts) / total
        b = extent[code]
        prov_rows.append(
            [
                code,
                names[code],
                short[code],
                f"{lat:.5f}",
                f"{lon:.5f}",
                f"{b[0]:.4f}",
                f"{b[1]:.4f}",
                f"{b[2]:.4f}",
                f"{b[3]:.4f}",
            ]
        )
    _write_csv(
        HERE / "provinces.csv",
        ["code", "name", "short_name", "lat", "lon", "min_lat", "max_lat", "min_lon", "max_lon"],
        prov_rows,
    )

    print(f"communes: {len(commune_rows)}; package code differs from annex: {len(mismatches)}")
    for m in mismatches:
        print("  ", m)
    print(f"legacy wards: {len(ward_rows)} converted, {len(unconverted)} without conversion")
    for key in unconverted[:20]:
        print("  ", key)
    # Uniqueness of keys used by the run-time matcher, reported so a change is visible.
    dup = defaultdict(list)
    for row in commune_rows:
        dup[(row[3], unaccent_key(str(row[1])))].append(row[0])
    clashes = {k: v for k, v in dup.items() if len(v) > 1}
    print(f"commune names equal once unaccented within a province: {len(clashes)}")


if __name__ == "__main__":
    main()
