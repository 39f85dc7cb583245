"""Reference places: the 2025 administrative units, one-stop offices, post offices, procedures."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, false, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Province(Base):
    __tablename__ = "provinces"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str]
    short_name: Mapped[str]
    lat: Mapped[float]
    lon: Mapped[float]


class Commune(Base):
    __tablename__ = "communes"
    __table_args__ = (
        CheckConstraint("unit_type IN ('xa', 'phuong', 'dac_khu')", name="unit_type"),
    )

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str]
    unit_type: Mapped[str]
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"), index=True)
    lat: Mapped[float]
    lon: Mapped[float]
    area_km2: Mapped[float | None]
    area_type: Mapped[str]


class Office(Base):
    """A one-stop office (Bộ phận một cửa / Trung tâm phục vụ hành chính công)."""

    __tablename__ = "offices"
    __table_args__ = (
        CheckConstraint("kind IN ('province_centre', 'commune_centre')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(unique=True)
    name_vi: Mapped[str]
    name_en: Mapped[str]
    kind: Mapped[str]
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"), index=True)
    commune_code: Mapped[str] = mapped_column(ForeignKey("communes.code"))
    address: Mapped[str]
    lat: Mapped[float]
    lon: Mapped[float]
    position_source: Mapped[str]
    # The level-1 agency codes (MX1X2 of QCVN 102:2016, e.g. "H26") whose dossier codes this
    # office may record: a code of another province's agencies is refused at the desk.
    # Empty: the province's known codes apply (core.cases.codes).
    agency_codes: Mapped[list[str]] = mapped_column(JSONB, server_default="[]", default=list)


class PostOffice(Base):
    __tablename__ = "post_offices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"), index=True)
    commune_code: Mapped[str] = mapped_column(ForeignKey("communes.code"))
    address: Mapped[str]
    lat: Mapped[float]
    lon: Mapped[float]
    position_source: Mapped[str]


class Procedure(Base):
    """An administrative procedure from the catalogue, with the documents a citizen prepares."""

    __tablename__ = "procedures"
    __table_args__ = (
        CheckConstraint("processing_days >= 0", name="processing_days"),
        CheckConstraint("fee_vnd >= 0", name="fee_vnd"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(unique=True)
    national_code: Mapped[str | None]
    name_vi: Mapped[str]
    name_en: Mapped[str]
    level: Mapped[str]
    agency: Mapped[str]
    # Lĩnh vực in the national catalogue (e.g. "Hộ tịch"); empty until a catalogue file sets it.
    field: Mapped[str] = mapped_column(server_default="", default="")
    # Whether the public postal service may carry the dossier in (receive) and the result back
    # (return): the national catalogue publishes both per procedure.
    postal_receive: Mapped[bool] = mapped_column(server_default=true(), default=True)
    postal_return: Mapped[bool] = mapped_column(server_default=true(), default=True)
    # Whether the post may carry the dossier to an office in another province than the
    # citizen's (and the result back), by bag through both provinces' post offices. Off
    # unless the catalogue says so: the office must accept dossiers from outside its province.
    postal_other_province: Mapped[bool] = mapped_column(server_default=false(), default=False)
    processing_days: Mapped[int]
    fee_vnd: Mapped[int]
    legal_basis: Mapped[str]
    # Each: {name_vi, name_en, form: original|copy|certified_copy, quantity, note,
    #        kind: mandatory|conditional|shown, condition} (kind and condition: see
    #        core.catalogue.procedures; older rows may lack them and read as mandatory).
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    sources: Mapped[list[str]] = mapped_column(JSONB, default=list)


class PriceTier(Base):
    """One weight tier of a province's postal charge per leg, in đồng, VAT included.

    A province's tiers, ascending by ``max_grams``, make its price table (core.booking.pricing);
    a province without tiers falls back to the built-in table.
    """

    __tablename__ = "price_tiers"
    __table_args__ = (
        CheckConstraint("max_grams > 0", name="max_grams"),
        CheckConstraint(
            "same_commune_vnd >= 0 AND same_province_vnd >= 0 AND other_province_vnd >= 0",
            name="prices",
        ),
    )

    province_code: Mapped[str] = mapped_column(
        String(2), ForeignKey("provinces.code"), primary_key=True
    )
    max_grams: Mapped[int] = mapped_column(primary_key=True)
    same_commune_vnd: Mapped[int]
    same_province_vnd: Mapped[int]
    other_province_vnd: Mapped[int]
