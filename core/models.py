"""Import every ORM model so that ``Base.metadata`` is complete (Alembic, tests)."""

from core.admin.models import AdminAuditEntry
from core.agency.models import (
    AgencyApiKey,
    AgencyMessage,
    AgencyRequestNonce,
    AgencySystem,
    WebhookCursor,
)
from core.booking.models import BookingTerms, CaseRating, CitizenNotice, NotifierWatermark
from core.cases.models import Booking, Case, ReceiveRequest
from core.courier.models import LocationPing
from core.custody.models import (
    Bag,
    CustodyEvent,
    CustodyException,
    Item,
    ItemState,
    ScanReceipt,
    item_serial_seq,
)
from core.db import Base
from core.desk.models import DeskAction
from core.dispatch.models import DispatchPlan, RouteStop
from core.handovers.models import Handover, HandoverLine
from core.identity.models import ApiToken, Device, User
from core.media.models import MediaObject
from core.otp.models import OtpChallenge
from core.outbox.models import OutboxMessage
from core.places.models import Commune, Office, PostOffice, PriceTier, Procedure, Province

__all__ = [
    "AdminAuditEntry",
    "RouteStop",
    "OtpChallenge",
    "MediaObject",
    "HandoverLine",
    "Handover",
    "ApiToken",
    "Bag",
    "Base",
    "Booking",
    "Case",
    "ReceiveRequest",
    "Commune",
    "CustodyEvent",
    "CustodyException",
    "Device",
    "Item",
    "ItemState",
    "Office",
    "OutboxMessage",
    "PostOffice",
    "PriceTier",
    "Procedure",
    "Province",
    "ScanReceipt",
    "User",
    "item_serial_seq",
    "AgencyApiKey",
    "AgencyMessage",
    "AgencyRequestNonce",
    "AgencySystem",
    "WebhookCursor",
    "DeskAction",
    "BookingTerms",
    "CaseRating",
    "CitizenNotice",
    "NotifierWatermark",
    "DispatchPlan",
    "LocationPing",
    "DispatchPlan",
]
