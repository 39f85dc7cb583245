"""Bookings and cases. The physical items that carry a case are the ledger's
(``core.custody.models.Item``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String, false, func
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Booking(Base):
    """What the citizen asked for: which procedure, which office, where and when to meet."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("service_option IN ('send', 'receive', 'both')", name="service_option"),
        CheckConstraint("pickup_window_end > pickup_window_start", name="window"),
        CheckConstraint("citizen_sex IN ('male', 'female')", name="citizen_sex"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    service_option: Mapped[str]
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_offices.id"), index=True)
    # An office in another province than the address (core/booking/transit.py): the post
    # office of the office's province that its items travel through, by bag from and back to
    # ``post_office_id``. None for a booking within one province.
    transit_post_office_id: Mapped[int | None] = mapped_column(
        ForeignKey("post_offices.id"), index=True
    )
    contact_name: Mapped[str]
    contact_phone: Mapped[str] = mapped_column(String(20))
    address_text: Mapped[str]
    commune_code: Mapped[str] = mapped_column(ForeignKey("communes.code"))
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    lat: Mapped[float]
    lon: Mapped[float]
    position_source: Mapped[str]
    position_accuracy_m: Mapped[float]
    pickup_window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    pickup_window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Keyed hash and last four digits only: enough to match a chip ID card at the door,
    # useless to anyone who copies the table.
    cccd_hash: Mapped[str | None] = mapped_column(String(64))
    cccd_last4: Mapped[str | None] = mapped_column(String(4))
    citizen_birth_year: Mapped[int | None]
    citizen_sex: Mapped[str | None] = mapped_column(String(6))
    # The result leg: brought home (False), or collected by the citizen at the counter of
    # ``post_office_id`` ("nhận tại bưu cục"; core/counter/handout.py).
    result_at_post_office: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Case(Base):
    """One citizen's procedure end to end: the booking, the dossier item, the result item."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    dossier_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    result_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    agency_dossier_code: Mapped[str | None] = mapped_column(unique=True)
    appointment_date: Mapped[date | None] = mapped_column(Date)
    pickup_courier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    delivery_courier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReceiveRequest(Base):
    """A receive-only booking's claim (QĐ 45/2016 option 2): the citizen filed in person and
    asks the post to bring the result home. They hold the agency's dossier code, or the
    number on the appointment slip; the result registered under that reference, by the desk
    or by the agency system, is attached to this case.

    Kept as the citizen gave it and never changed (append-only): a wrong reference is a
    cancelled booking and a new one, so what was asked for stays on record.
    """

    __tablename__ = "receive_requests"
    __table_args__ = (
        CheckConstraint("reference_kind IN ('dossier_code', 'slip_number')", name="reference_kind"),
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40), index=True)
    reference_kind: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DossierCodeRecord(Base):
    """An agency dossier code (mã hồ sơ) and appointment date as recorded, never edited.

    Append-only in the database. ``cases.agency_dossier_code`` and ``appointment_date`` are
    the projection of a case's latest record: a trigger refuses any other value there. A
    correction is a new record naming the one it supersedes and why; both stay printable.
    The record's canonical content hash is in the ledger's ``record_sealed`` event on the
    dossier item, so ``hoso ledger verify`` finds a record changed behind the trigger's back.
    """

    __tablename__ = "dossier_code_records"
    __table_args__ = (
        CheckConstraint("source IN ('desk', 'agency', 'seed')", name="source"),
        CheckConstraint(
            "supersedes_id IS NULL OR (reason IS NOT NULL AND length(reason) > 0)",
            name="correction_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    agency_dossier_code: Mapped[str] = mapped_column(String(40))
    appointment_date: Mapped[date | None] = mapped_column(Date)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("dossier_code_records.id"))
    reason: Mapped[str | None]
    source: Mapped[str] = mapped_column(String(8))
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_by_label: Mapped[str]
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    content_sha256: Mapped[str] = mapped_column(String(64))
