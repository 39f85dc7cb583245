"""The database holds exactly the annex's 34 provinces and 3,321 communes (QĐ 19/2025)."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.places.models import Commune, Office, PostOffice, Procedure, Province
from core.places.service import load_catalogue, load_reference

ANNEX = Path(__file__).resolve().parents[3] / "routing" / "data" / "qd19-2025-communes.csv"


def test_loaded_communes_equal_the_annex(db: Session) -> None:
    with ANNEX.open(encoding="utf-8") as handle:
        annex = {(r["commune_code"], r["province_code"], r["name"]) for r in csv.DictReader(handle)}
    loaded = {
        tuple(row) for row in db.execute(select(Commune.code, Commune.province_code, Commune.name))
    }
    assert len(annex) == 3321
    assert loaded == annex
    provinces = set(db.scalars(select(Province.code)))
    assert len(provinces) == 34 and {"01", "24", "79", "96"} <= provinces
    # Codes are zero-padded text, never integers that lost their leading zeros.
    assert db.get(Commune, "00004") is not None


def test_catalogue_loads_idempotently(db: Session) -> None:
    load_catalogue(db)
    load_reference(db)  # a second run adds nothing and fails on nothing
    procedures = db.scalars(select(Procedure)).all()
    assert len(procedures) >= 12
    for procedure in procedures:
        assert procedure.documents, procedure.slug
        assert {d["form"] for d in procedure.documents} <= {"original", "copy", "certified_copy"}
    offices = db.scalars(select(Office).where(Office.province_code == "24")).all()
    assert any(o.kind == "province_centre" for o in offices)
    assert sum(o.kind == "commune_centre" for o in offices) >= 10
    assert len(db.scalars(select(PostOffice).where(PostOffice.province_code == "24")).all()) >= 6
