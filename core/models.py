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
from core.counter.models import CounterTicket
from core.courier.models import LocationPing, StopArrival
from core.custody.models import (
    Bag,
    CustodyEvent,
    CustodyException,
    Item,
    ItemState,
    ScanReceipt,
    item_serial_seq,
)
from core.custody.signature_models import (
    DeviceKey,
    EventDeviceSignature,
    EventServerSignature,
    ServerSigningEpoch,
    ServerSigningKey,
)
from core.custody.tree_models import (
    LedgerCheckpoint,
    LedgerLeaf,
    LedgerTreeCursor,
    LedgerTreeNode,
)
from core.db import Base
from core.desk.models import DeskAction
from core.digitising.models import DigitisedCopy, DigitisedCopyAccess, DossierPage
from core.dispatch.models import CitizenPlanTold, DispatchLiveCursor, DispatchPlan, RouteStop
from core.handovers.models import Handover, HandoverLine
from core.identity.models import ApiToken, Device, User
from core.media.models import MediaObject
from core.money.bank.models import (
    BankLine,
    BankLineDecision,
    BankNotificationKey,
    BankStatement,
)
from core.money.models import (
    CashUp,
    MoneyAccount,
    MoneyException,
    MoneyPosting,
    MoneyTransaction,
    Receipt,
    ReceiptSeries,
)
from core.otp.models import OtpChallenge
from core.outbox.models import OutboxMessage
from core.places.models import Commune, Office, PostOffice, PriceTier, Procedure, Province
from core.portal.models import PortalStatusChange, PortalSyncCursor
from core.sla.models import Complaint, SlaDaily, SlaFact, SlaTarget, SlaWatermark

__all__ = [
    "DigitisedCopy",
    "DigitisedCopyAccess",
    "DossierPage",
    "Complaint",
    "SlaDaily",
    "SlaFact",
    "SlaTarget",
    "SlaWatermark",
    "AdminAuditEntry",
    "RouteStop",
    "CitizenPlanTold",
    "DispatchLiveCursor",
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
    "LedgerCheckpoint",
    "LedgerLeaf",
    "LedgerTreeCursor",
    "LedgerTreeNode",
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
    "StopArrival",
    "DispatchPlan",
    "BankLine",
    "BankLineDecision",
    "BankNotificationKey",
    "BankStatement",
    "CashUp",
    "MoneyAccount",
    "MoneyException",
    "MoneyPosting",
    "MoneyTransaction",
    "Receipt",
    "ReceiptSeries",
    "PortalStatusChange",
    "PortalSyncCursor",
    "CounterTicket",
    "DeviceKey",
    "EventDeviceSignature",
    "EventServerSignature",
    "ServerSigningEpoch",
    "ServerSigningKey",
]
