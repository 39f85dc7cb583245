"""The four kinds of catalogue file: their columns, how a row becomes a record, and back.

A record is the dictionary of model attributes one row (or, for procedures, one group of
rows) sets; ``key`` is its natural key, the one an import upserts by.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalogue.rows import LAT_RANGE, LON_RANGE, Places, RowReader
from core.catalogue.tabular import RowError, Table
from core.db import Base
from core.places.models import Office, PostOffice, PriceTier

Record = dict[str, Any]
Parsed = tuple[list[tuple[int, Record]], list[RowError]]


@dataclass(frozen=True)
class Kind:
    name: str
    sheet: str
    model: type[Base]
    key: tuple[str, ...]  # model attributes forming the natural key
    key_columns: tuple[str, ...]  # the file's columns holding it, in the same order
    columns: tuple[str, ...]
    optional_columns: frozenset[str]
    # Whether each row names its province (procedures are one national catalogue).
    by_province: bool
    parse: Callable[[Table, Places], Parsed]
    export_rows: Callable[[Session, frozenset[str] | None], list[list[str]]]
    label_vi: str
    label_en: str

    def key_of(self, record: Record) -> tuple[Any, ...]:
        return tuple(record[k] for k in self.key)


def _duplicates(
    kind_key: Callable[[Record], tuple[Any, ...]], records: list[tuple[int, Record]], column: str
) -> list[RowError]:
    seen: dict[tuple[Any, ...], int] = {}
    errors = []
    for line, record in records:
        key = kind_key(record)
        if key in seen:
            value = "/".join(str(k) for k in key)
            errors.append(RowError.of(line, column, "duplicate_key", value, other=seen[key]))
        else:
            seen[key] = line
    return errors


def _position(reader: RowReader, commune: str, places: Places) -> tuple[float, float, str]:
    """The row's lat/lon, or the commune's centroid when the clerk left both empty."""
    source = reader.text("position_source", required=False, limit=40)
    if not reader.raw("lat") and not reader.raw("lon"):
        centroid = places.communes.get(commune)
        if centroid is None:
            return 0.0, 0.0, source  # the commune's own error already refuses the row
        return centroid[1], centroid[2], source or "commune_centroid"
    for column in ("lat", "lon"):
        if not reader.raw(column):
            reader.fail(column, "required")
    lat = reader.number("lat", LAT_RANGE)
    lon = reader.number("lon", LON_RANGE)
    return lat or 0.0, lon or 0.0, source or "surveyed"


def _number_text(value: float) -> str:
    return repr(float(value))


# -- offices -------------------------------------------------------------------------------

OFFICE_KINDS = {
    "province_centre": "province_centre",
    "commune_centre": "commune_centre",
    "tỉnh": "province_centre",
    "xã": "commune_centre",
}
OFFICE_COLUMNS = (
    "code", "province_code", "commune_code", "kind", "name_vi", "name_en", "address",
    "lat", "lon", "position_source", "agency_codes",
)  # fmt: skip
# The QCVN 102:2016 level-1 agency code (MX1X2, e.g. H26) whose dossier codes an office takes.
AGENCY_CODE = re.compile(r"[A-Z][0-9]{2}")


def _agency_codes(reader: RowReader) -> list[str]:
    """Space-, comma- or semicolon-separated level-1 codes; empty: the province's apply."""
    codes = [c for c in re.split(r"[\s,;]+", reader.raw("agency_codes").upper()) if c]
    for code in codes:
        if not AGENCY_CODE.fullmatch(code):
            reader.fail("agency_codes", "bad_agency_code", code)
    return list(dict.fromkeys(codes))


def _parse_places(
    table: Table, places: Places, own_fields: Callable[[RowReader], Record]
) -> Parsed:
    """Rows of a file of places (offices, post offices): code, province, commune, address and
    position read alike; ``own_fields`` reads what the kind adds. Codes must be unique."""
    records: list[tuple[int, Record]] = []
    errors: list[RowError] = []
    for line, values in table.rows:
        reader = RowReader(line, values)
        province = reader.province("province_code", places)
        commune = reader.commune("commune_code", province, places)
        lat, lon, source = _position(reader, commune, places)
        record = {
            "code": reader.code("code"),
            "province_code": province,
            "commune_code": commune,
            **own_fields(reader),
            "address": reader.text("address", limit=500),
            "lat": lat,
            "lon": lon,
            "position_source": source,
        }
        errors += reader.errors
        records.append((line, record))
    errors += _duplicates(lambda r: (r["code"],), records, "code")
    return records, errors


def _office_fields(reader: RowReader) -> Record:
    name_vi = reader.text("name_vi", limit=300)
    name_en = reader.text("name_en", required=False, limit=300)
    return {
        "kind": reader.choice("kind", OFFICE_KINDS),
        "name_vi": name_vi,
        "name_en": name_en or name_vi,
        "agency_codes": _agency_codes(reader),
    }


def parse_offices(table: Table, places: Places) -> Parsed:
    return _parse_places(table, places, _office_fields)


def export_offices(session: Session, provinces: frozenset[str] | None) -> list[list[str]]:
    query = select(Office).order_by(Office.province_code, Office.kind.desc(), Office.code)
    if provinces is not None:
        query = query.where(Office.province_code.in_(provinces))
    return [
        [o.code, o.province_code, o.commune_code, o.kind, o.name_vi, o.name_en, o.address,
         _number_text(o.lat), _number_text(o.lon), o.position_source,
         " ".join(o.agency_codes or ())]
        for o in session.scalars(query)
    ]  # fmt: skip


# -- post offices --------------------------------------------------------------------------

POST_OFFICE_COLUMNS = (
    "code", "province_code", "commune_code", "name", "address", "lat", "lon", "position_source",
)  # fmt: skip


def parse_post_offices(table: Table, places: Places) -> Parsed:
    return _parse_places(table, places, lambda reader: {"name": reader.text("name", limit=300)})


def export_post_offices(session: Session, provinces: frozenset[str] | None) -> list[list[str]]:
    query = select(PostOffice).order_by(PostOffice.province_code, PostOffice.code)
    if provinces is not None:
        query = query.where(PostOffice.province_code.in_(provinces))
    return [
        [p.code, p.province_code, p.commune_code, p.name, p.address, _number_text(p.lat),
         _number_text(p.lon), p.position_source]
        for p in session.scalars(query)
    ]  # fmt: skip


# -- price tiers ---------------------------------------------------------------------------

PRICE_COLUMNS = (
    "province_code", "max_grams", "same_commune_vnd", "same_province_vnd", "other_province_vnd",
)  # fmt: skip


def parse_prices(table: Table, places: Places) -> Parsed:
    records: list[tuple[int, Record]] = []
    errors: list[RowError] = []
    for line, values in table.rows:
        reader = RowReader(line, values)
        record = {
            "province_code": reader.province("province_code", places),
            "max_grams": reader.whole("max_grams", positive=True),
            "same_commune_vnd": reader.whole("same_commune_vnd"),
            "same_province_vnd": reader.whole("same_province_vnd"),
            "other_province_vnd": reader.whole("other_province_vnd"),
        }
        errors += reader.errors
        records.append((line, record))
    errors += _duplicates(lambda r: (r["province_code"], r["max_grams"]), records, "max_grams")
    return records, errors


def export_prices(session: Session, provinces: frozenset[str] | None) -> list[list[str]]:
    query = select(PriceTier).order_by(PriceTier.province_code, PriceTier.max_grams)
    if provinces is not None:
        query = query.where(PriceTier.province_code.in_(provinces))
    return [
        [t.province_code, str(t.max_grams), str(t.same_commune_vnd), str(t.same_province_vnd),
         str(t.other_province_vnd)]
        for t in session.scalars(query)
    ]  # fmt: skip
