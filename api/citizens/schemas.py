"""Request and response bodies of the citizens' API (separate from the ORM models)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from core.booking.service import MAX_ADDRESS_CHARS
from core.inputs import Count, PlannedTime, RowId, Text

ServiceOption = Literal["send", "receive", "both"]


class CodeRequest(BaseModel):
    phone: str = Field(examples=["0912345678"])


class CodeSent(BaseModel):
    phone: str
    expires_at: datetime


class SignInRequest(BaseModel):
    phone: str
    code: str = Field(examples=["123456"])


class SignedIn(BaseModel):
    user_id: int
    token: str
    expires_at: datetime


class DocumentRead(BaseModel):
    name_vi: str
    name_en: str
    form: str
    quantity: int


class ProcedureRead(BaseModel):
    id: int
    name_vi: str
    name_en: str
    agency: str
    fee_vnd: int
    processing_days: int
    documents: list[DocumentRead]


# An address as people write one fits in a couple of hundred characters; parsing costs CPU.
MAX_ADDRESS = MAX_ADDRESS_CHARS


class AddressParse(BaseModel):
    text: Text = Field(max_length=MAX_ADDRESS, examples=["45 Lê Lợi, P. Bến Thành, Q.1, TP.HCM"])


class CommuneRead(BaseModel):
    code: str
    name: str


class AddressRead(BaseModel):
    street: str
    commune_code: str
    commune_name: str
    province_code: str
    province_name: str
    display: str
    was_legacy: bool
    legacy_text: str | None
    candidates: list[CommuneRead]


class OfficeRead(BaseModel):
    id: int
    name_vi: str
    name_en: str
    commune_code: str
    distance_km: float
    suggested: bool
    # An office of another province (a procedure the post carries there): by bag, at the
    # inter-province price.
    other_province: bool = False


class WindowRead(BaseModel):
    start: datetime
    end: datetime


EXEMPTION_HELP = (
    "An exemption or reduction of the postal charges (TT 22/2017): heroic_mother or "
    "revolutionary_contributor; empty for none"
)


class QuoteRequest(BaseModel):
    service_option: ServiceOption
    procedure_id: RowId
    commune_code: Text = Field(max_length=16)
    office_id: RowId
    weight_g: Count = 100
    pay_fee_on_behalf: bool = False
    exemption_code: Text = Field(default="", max_length=32, description=EXEMPTION_HELP)
    exemption_proof: Text = Field(default="", max_length=100)


class QuoteLineRead(BaseModel):
    code: str
    label_vi: str
    label_en: str
    amount_vnd: int


class QuoteRead(BaseModel):
    zone: str
    lines: list[QuoteLineRead]
    total_vnd: int
    admin_fee_at_office_vnd: int
    exemption: dict[str, str] | None = None


class BookingCreate(BaseModel):
    service_option: ServiceOption
    procedure_id: RowId
    address: Text = Field(max_length=MAX_ADDRESS, examples=["12 Lê Ngô Cát, Phường Thủy Xuân, Huế"])
    commune_code: Text | None = Field(
        default=None,
        max_length=16,
        description="The commune the citizen confirmed (else the parsed one).",
    )
    office_id: RowId | None = Field(default=None, description="Default: the suggested office.")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    gps_accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    pickup_window_start: PlannedTime
    contact_name: Text = Field(min_length=1, max_length=120)
    contact_phone: Text = Field(max_length=20)
    cccd: Text = Field(
        max_length=12, description="Citizen ID, 12 digits; checked against sex and birth year."
    )
    citizen_sex: Literal["male", "female"]
    citizen_birth_year: int = Field(ge=1900, le=2100)
    payment_method: Literal["cash", "vietqr"]
    pay_fee_on_behalf: bool = False
    weight_g: Count = 100
    notify_channel: Text | None = Field(
        default=None,
        max_length=8,
        description="How the citizen hears about their cases: sms, zalo or email; "
        "omitted keeps their current choice.",
    )
    email: Text = Field(
        default="", max_length=254, description="Required when notify_channel is email."
    )
    exemption_code: Text = Field(default="", max_length=32, description=EXEMPTION_HELP)
    exemption_proof: Text = Field(
        default="",
        max_length=100,
        description="The proving document's number; required with an exemption_code",
    )
    receive_reference: Text | None = Field(
        default=None,
        max_length=60,
        examples=["000.00.24.H05-261203-0012"],
        description="Receive only (required then): the agency dossier code, or the number of "
        "the appointment slip, of the dossier filed in person.",
    )
    result_at_post_office: bool = Field(
        default=False,
        description="Collect the result at the booking's post office's counter instead of "
        "having it brought home (changeable later on /my).",
    )


class ChannelUpdate(BaseModel):
    notify_channel: Text = Field(max_length=8, examples=["email"], description="sms, zalo or email")
    email: Text = Field(default="", max_length=254, examples=["hoa.tran@example.vn"])


class ChannelRead(BaseModel):
    notify_channel: str
    email: str | None


class PaymentRead(BaseModel):
    method: str
    amount_vnd: int
    vietqr_payload: str | None
    state: str | None = Field(default=None, description="From the money ledger: quoted, "
                              "part_paid, paid, over_paid, handed_to_agency, cancelled, "
                              "refund_due, refunded, nothing_due")  # fmt: skip
    state_label_vi: str | None = None
    paid_vnd: int = 0
    due_vnd: int = 0
    receipts: list[str] = Field(default_factory=list, description="Receipt numbers")


class LegRead(BaseModel):
    item_id: str
    kind: str
    status: str


class CaseRead(BaseModel):
    case_id: int
    service_option: str
    procedure_name_vi: str
    office_name_vi: str
    address: str
    pickup_window_start: datetime
    pickup_window_end: datetime
    status: str
    legs: list[LegRead]
    agency_dossier_code: str | None
    appointment_date: date | None
    receive_reference: str | None = Field(
        description="Receive only: the dossier code or slip number the booking waits for."
    )
    result_at_post_office: bool = Field(
        default=False, description="The citizen collects the result at the post office."
    )
    quote: QuoteRead | None
    payment: PaymentRead | None
    tracking_url: str | None
    can_cancel: bool
    can_rate: bool
    rating_stars: int | None


class RescheduleRequest(BaseModel):
    pickup_window_start: PlannedTime


class RatingCreate(BaseModel):
    stars: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)
    # Reason chips (core.booking.service.RATING_REASONS keys), optional.
    reasons: list[str] = Field(default_factory=list, max_length=10)


class RatingRead(BaseModel):
    case_id: int
    stars: int
    comment: str | None
    reasons: list[str] = Field(default_factory=list)
    created_at: datetime
