"""Loading reference data: administrative units, procedures, offices and post offices.

Idempotent (``ON CONFLICT DO NOTHING``): running the seed twice, or on a database that
already has demo data, adds only what is missing and never rewrites what people use.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.places.models import Commune, Office, PostOffice, Procedure, Province
from routing.admin_units import commune_by_code, load_communes, load_provinces

_UNIT_TYPES = {"xã": "xa", "phường": "phuong", "đặc khu": "dac_khu"}


def _reference_json(name: str, key: str) -> list[dict[str, Any]]:
    text = resources.files("core.reference").joinpath("data", name).read_text(encoding="utf-8")
    return list(json.loads(text)[key])


def _documents(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name_vi": d["name_vi"],
            "name_en": d["name_en"],
            "kind": d.get("document_kind") or _document_kind(d["name_vi"]),
            "condition": d.get("condition") or _condition(d["name_vi"]),
            "form": d["kind"],
            "quantity": d.get("quantity", 1),
            "note": d.get("note"),
        }
        for d in raw
    ]


def reference_documents(key: str) -> list[dict[str, Any]]:
    """The catalogue documents of the reference procedure ``key``, as seeded."""
    for p in _reference_json("procedures.json", "procedures"):
        if p["key"] == key:
            return _documents(p["required_documents"])
    raise KeyError(key)


def _document_kind(name_vi: str) -> str:
    """The reference file writes the catalogue's kind into the name: "(xuất trình)" for a
    document only shown, "(nếu …)" / "(khi …)" for one needed only in some cases."""
    if "(xuất trình)" in name_vi:
        return "shown"
    return "conditional" if _condition(name_vi) else "mandatory"


def _condition(name_vi: str) -> str | None:
    match = _CONDITION.search(name_vi)
    return match.group(1) if match else None


_CONDITION = re.compile(r"\(((?:nếu|khi) [^)]*)\)")


def load_admin_units(session: Session) -> int:
    if session.scalar(select(func.count()).select_from(Commune)) == 3321:
        return 0
    session.execute(
        insert(Province).on_conflict_do_nothing(),
        [
            {"code": p.code, "name": p.name, "short_name": p.short_name, "lat": p.lat, "lon": p.lon}
            for p in load_provinces()
        ],
    )
    rows = [
        {
            "code": c.code,
            "name": c.name,
            "unit_type": _UNIT_TYPES[c.unit_type],
            "province_code": c.province_code,
            "lat": c.lat,
            "lon": c.lon,
            "area_km2": c.area_km2,
            "area_type": c.area_type,
        }
        for c in load_communes()
    ]
    session.execute(insert(Commune).on_conflict_do_nothing(), rows)
    session.flush()
    return len(rows)


def load_catalogue(session: Session, provinces: set[str] | None = None) -> None:
    """The national procedures, and the reference offices and post offices of ``provinces``
    (all that the reference data has when None: today Bắc Ninh's)."""
    procedures = [
        {
            "slug": p["key"],
            "national_code": p.get("code"),
            "name_vi": p["name_vi"],
            "name_en": p["name_en"],
            "field": p.get("field", ""),
            "level": p["level"],
            "agency": p["agency"],
            "processing_days": int(p["processing_days"]),
            "fee_vnd": int(p["fee_vnd"]),
            "legal_basis": "; ".join(p.get("legal_basis", [])),
            "documents": _documents(p["required_documents"]),
            "sources": p.get("sources", []),
        }
        for p in _reference_json("procedures.json", "procedures")
    ]
    session.execute(insert(Procedure).on_conflict_do_nothing(index_elements=["slug"]), procedures)
    offices = [
        {
            "code": o["key"],
            "name_vi": o["name_vi"],
            "name_en": o["name_en"],
            "kind": o["kind"],
            "province_code": commune_by_code(o["commune_code"]).province_code,
            "commune_code": o["commune_code"],
            "address": o["address"],
            "lat": o["lat"],
            "lon": o["lon"],
            "position_source": o.get("position_source", "surveyed"),
        }
        for o in _reference_json("offices.json", "offices")
    ]
    offices = [o for o in offices if provinces is None or o["province_code"] in provinces]
    if offices:
        session.execute(insert(Office).on_conflict_do_nothing(index_elements=["code"]), offices)
    posts = [
        {
            "code": p["code"],
            "name": p["name_vi"],
            "province_code": commune_by_code(p["commune_code"]).province_code,
            "commune_code": p["commune_code"],
            "address": p["address"],
            "lat": p["lat"],
            "lon": p["lon"],
            "position_source": p.get("position_source", "surveyed"),
        }
        for p in _reference_json("post_offices.json", "post_offices")
    ]
    posts = [p for p in posts if provinces is None or p["province_code"] in provinces]
    if posts:
        session.execute(insert(PostOffice).on_conflict_do_nothing(index_elements=["code"]), posts)
    session.flush()


def load_reference(session: Session) -> None:
    load_admin_units(session)
    load_catalogue(session)
