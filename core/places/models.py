"""Reference places: the 2025 administrative units, one-stop offices, post offices, procedures."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String
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
    processing_days: Mapped[int]
    fee_vnd: Mapped[int]
    legal_basis: Mapped[str]
    # Each: {name_vi, name_en, form: original|copy|certified_copy, quantity, note}
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    sources: Mapped[list[str]] = mapped_column(JSONB, default=list)
