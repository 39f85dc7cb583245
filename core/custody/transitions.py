"""Every allowed custody transition, in one table.

Each row says which item kinds it applies to, from which statuses, to which status, who may
do it, how custody moves, and how it maps to GS1 EPCIS (bizStep, disposition) and to UPU
tracking events where one exists (STANDARDS.md §2–3). ``apply`` folds one event into an
item's state; the live service and ``hoso ledger verify`` use the same fold, so a projection
can always be rebuilt and checked from the events alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from core.custody.parties import party_kind
from core.errors import InvalidTransition

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "booked": ("Đã đặt lịch lấy hồ sơ", "Pickup booked"),
    "picked_up": ("Bưu tá đã nhận hồ sơ", "Picked up by the courier"),
    "refused": ("Chưa nhận: hồ sơ chưa đủ", "Not picked up: dossier incomplete"),
    "cancelled": ("Đã hủy", "Cancelled"),
    "at_post_office": ("Tại bưu cục", "At the post office"),
    "in_transit": ("Đang vận chuyển", "In transit"),
    "arrived": ("Đã đến bưu cục phát", "Arrived at the delivery post office"),
    "handed_over": ("Đã bàn giao cho bộ phận một cửa", "Handed over to the one-stop office"),
    "result_registered": ("Kết quả đã có tại bộ phận một cửa", "Result ready at the office"),
    "collected": ("Bưu tá đã nhận kết quả", "Result collected by the courier"),
    "out_for_delivery": ("Đang phát kết quả", "Out for delivery"),
    "attempt_failed": ("Phát không thành công", "Delivery attempt failed"),
    "delivered": ("Đã phát thành công", "Delivered"),
    "returned_to_office": ("Đã trả lại bộ phận một cửa", "Returned to the office"),
    "lost": ("Thất lạc", "Lost"),
}

TERMINAL = frozenset({"cancelled", "handed_over", "delivered", "lost"})
# Statuses in which a staff party (courier, post office, office) physically holds the item.
HELD_BY_STAFF = frozenset(
    {
        "picked_up",
        "at_post_office",
        "in_transit",
        "arrived",
        "result_registered",
        "collected",
        "out_for_delivery",
        "attempt_failed",
        "returned_to_office",
    }
)


class Custody(Enum):
    NONE = "none"  # custodian unchanged
    CREATE = "create"  # first event: the custodian is ``to_party``
    TAKE = "take"  # the acting party takes the item (pickup at the door)
    GIVE = "give"  # the acting party gives it to ``to_party`` on proof (delivery by OTP/ID)
    ARRIVE = "arrive"  # the receiving post office scans it in
    OFFER = "offer"  # a hand-off is opened; nothing moves until the counterparty confirms
    CONFIRM = "confirm"  # the counterparty confirms: custody moves to ``pending_to``
    DECLINE = "decline"  # the counterparty declines: the hand-off is closed, nothing moves


@dataclass(frozen=True)
class Transition:
    kind: str
    item_kinds: frozenset[str]
    from_statuses: frozenset[str]  # empty: only as an item's first event
    to_status: str | None  # None: unchanged (or decided by the custody rule)
    roles: frozenset[str]
    custody: Custody
    biz_step: str
    disposition: str
    upu_code: str | None = None
    required_details: frozenset[str] = frozenset()
    needs_pending: bool = False
    # Recorded only by its own service (which also changes other rows), never sent as a scan.
    service_only: bool = False
    label_vi: str = ""
    label_en: str = ""


def _t(
    kind: str,
    items: str,
    from_statuses: str,
    to_status: str | None,
    roles: str,
    custody: Custody,
    biz_step: str,
    disposition: str,
    upu: str | None = None,
    *,
    required: str = "",
    needs_pending: bool = False,
    service_only: bool = False,
    vi: str,
    en: str,
) -> Transition:
    return Transition(
        kind=kind,
        item_kinds=frozenset(items.split()),
        from_statuses=frozenset(from_statuses.split()),
        to_status=to_status,
        roles=frozenset(roles.split()),
        custody=custody,
        biz_step=biz_step,
        disposition=disposition,
        upu_code=upu,
        required_details=frozenset(required.split()),
        needs_pending=needs_pending,
        service_only=service_only,
        label_vi=vi,
        label_en=en,
    )


_STAFF_HELD = " ".join(sorted(HELD_BY_STAFF))
_NOT_TERMINAL = " ".join(sorted(set(STATUS_LABELS) - TERMINAL))
_HOSO = "urn:hoso:cbv"

TRANSITIONS: dict[str, Transition] = {
    t.kind: t
    for t in (
        # -- dossier leg: citizen -> office -------------------------------------------------
        _t("booked", "dossier", "", "booked", "citizen dispatcher admin system counter_clerk",
           Custody.CREATE, "commissioning", "active", vi="Đặt lịch lấy hồ sơ", en="Pickup booked"),
        # At the door a courier takes the dossier; at the post office's counter a clerk takes it
        # for the post office (``apply``: it is then at the post office, ready to travel on).
        _t("picked_up", "dossier", "booked refused", "picked_up", "courier counter_clerk",
           Custody.TAKE, "accepting", "in_progress", "EMA", required="seal_number",
           vi="Nhận hồ sơ tại nhà", en="Picked up at the door"),
        _t("pickup_refused", "dossier", "booked refused", "refused", "courier counter_clerk",
           Custody.NONE,
           "inspecting", "non_conformant", required="reason_code",
           vi="Từ chối nhận hồ sơ chưa đủ", en="Pickup refused: dossier incomplete"),
        _t("cancelled", "dossier", "booked refused", "cancelled",
           "citizen dispatcher admin system", Custody.NONE, "decommissioning", "inactive",
           vi="Hủy đặt lịch", en="Booking cancelled"),
        # -- result leg: office -> citizen --------------------------------------------------
        _t("result_registered", "result", "", "result_registered", "desk_officer admin system",
           Custody.CREATE, "commissioning", "active",
           vi="Đăng ký kết quả", en="Result registered"),
        _t("out_for_delivery", "result", "collected attempt_failed", "out_for_delivery",
           "courier", Custody.NONE, "departing", "in_transit", "EDG",
           vi="Bắt đầu phát", en="Out for delivery"),
        # At a post office's counter: handed in there, or arrived there in a bag.
        _t("delivered", "result", "out_for_delivery at_post_office arrived", "delivered",
           "courier counter_clerk", Custody.GIVE,
           "accepting", f"{_HOSO}:disp:delivered", "EMI", required="proof",
           vi="Phát thành công", en="Delivered"),
        _t("attempt_failed", "result", "out_for_delivery", "attempt_failed", "courier",
           Custody.NONE, f"{_HOSO}:bizstep:delivery_attempt", "in_progress", "EMH",
           required="reason_code", vi="Phát không thành công", en="Delivery attempt failed"),
        # -- hub moves, either leg ----------------------------------------------------------
        _t("departed", "dossier result", "at_post_office", "in_transit",
           "dispatcher courier counter_clerk",
           Custody.NONE, "departing", "in_transit", "EMC",
           vi="Rời bưu cục", en="Departed the post office"),
        _t("arrived", "dossier result", "in_transit", "arrived", "dispatcher counter_clerk",
           Custody.ARRIVE, "arriving", "in_progress", "EMG",
           vi="Đến bưu cục phát", en="Arrived at post office"),
        _t("bagged", "dossier result", "at_post_office arrived", None,
           "dispatcher courier counter_clerk",
           Custody.NONE, "packing", "container_closed", required="bag_id",
           vi="Đóng túi", en="Packed into a bag"),
        # Each item of a bag gets its own sealing event (a scan of the bag code fans out), so
        # an item's chain shows the seal it travelled under. Only core.courier.bags.seal_bag
        # records it, with the bag row's own seal, under the bag's lock.
        _t("bag_sealed", "dossier result", "at_post_office arrived", None,
           "dispatcher courier counter_clerk",
           Custody.NONE, f"{_HOSO}:bizstep:sealing", "container_closed",
           required="seal_number", service_only=True, vi="Niêm phong túi", en="Bag sealed"),
        _t("unbagged", "dossier result", _STAFF_HELD, None,
           "dispatcher courier desk_officer counter_clerk",
           Custody.NONE, "unpacking", "in_progress", vi="Mở túi", en="Taken out of a bag"),
        # -- two-party hand-offs ------------------------------------------------------------
        _t("handover_offered", "dossier result", _STAFF_HELD, None,
           "courier desk_officer dispatcher counter_clerk",
           Custody.OFFER, "staging_outbound", "in_progress",
           vi="Đề nghị bàn giao", en="Hand-off opened"),
        _t("handover_confirmed", "dossier result", _STAFF_HELD, None,
           "courier desk_officer dispatcher counter_clerk",
           Custody.CONFIRM, "receiving", "in_progress",
           needs_pending=True, vi="Xác nhận bàn giao", en="Hand-off confirmed"),
        _t("handover_declined", "dossier result", _STAFF_HELD, None,
           "courier desk_officer dispatcher counter_clerk",
           Custody.DECLINE, "inspecting", "non_conformant",
           required="reason_code", needs_pending=True,
           vi="Từ chối bàn giao", en="Hand-off declined"),
        # -- exceptions ---------------------------------------------------------------------
        _t("damage_noted", "dossier result", _NOT_TERMINAL, None,
           "courier desk_officer dispatcher admin", Custody.NONE, "inspecting", "damaged",
           required="reason_code", vi="Ghi nhận hư hỏng", en="Damage recorded"),
        _t("lost", "dossier result", _NOT_TERMINAL, "lost", "dispatcher admin", Custody.NONE,
           "inspecting", "unknown", required="reason_code",
           vi="Xác nhận thất lạc", en="Declared lost"),
        # -- papers ---------------------------------------------------------------------
        # A signed paper about the item (a hand-over record, a recorded dossier code) is
        # sealed: the event carries the paper's canonical content hash, so the hash chain
        # vouches for the paper and ``hoso ledger verify`` finds it changed. Moves nothing,
        # and may follow any status: a hand-over record is signed after the items moved.
        # Only core.papers.sealing records it, after checking the actor signed the paper.
        _t("record_sealed", "dossier result", " ".join(sorted(STATUS_LABELS)), None,
           "courier desk_officer dispatcher admin system", Custody.NONE,
           f"{_HOSO}:bizstep:record_sealed", f"{_HOSO}:disp:unchanged",
           required="record content_sha256", service_only=True,
           vi="Niêm phong giấy tờ đã ký", en="Signed paper sealed"),
        # -- digitising ------------------------------------------------------------------
        # The PDF made of a dossier's pages: its SHA-256, each page's, the page count and who
        # captured it, so the copy an agency fetches is provably the copy that was made. Moves
        # nothing. Only core.digitising.service records it, after checking the actor holds
        # the paper (or is the courier sent to fetch it); the system records the searchable
        # copy the worker makes of it (core.digitising.text_layer).
        _t("digitised", "dossier", "booked refused handed_over " + _STAFF_HELD, None,
           "courier counter_clerk dispatcher desk_officer system admin", Custody.NONE,
           f"{_HOSO}:bizstep:digitising", f"{_HOSO}:disp:unchanged",
           required="pdf_sha256 page_sha256s page_count captured_by", service_only=True,
           vi="Số hóa hồ sơ", en="Dossier digitised"),
        # The copy deleted after the retention period; the event keeps its hash on record.
        _t("digitised_copy_deleted", "dossier", " ".join(sorted(STATUS_LABELS)), None,
           "system admin", Custody.NONE, f"{_HOSO}:bizstep:copy_deleted",
           f"{_HOSO}:disp:unchanged", required="pdf_sha256", service_only=True,
           vi="Xóa bản số hóa", en="Digitised copy deleted"),
    )
}  # fmt: skip

# An error declaration names an earlier event as wrong (EPCIS errorDeclaration). It has no
# row in the table: its effect is to remove the declared event from the fold.
ERROR_DECLARED = "error_declared"
ERROR_REASONS = ("did_not_occur", "incorrect_data")


@dataclass(frozen=True)
class ItemStateValue:
    status: str
    custodian: str
    pending_from: str | None = None
    pending_to: str | None = None
    pending_initiator: str | None = None
    bag_id: int | None = None
    delivery_attempts: int = 0


@dataclass(frozen=True)
class EventFacts:
    """What the fold needs to know of one event."""

    kind: str
    item_kind: str
    actor_party: str
    from_party: str | None
    to_party: str | None
    bag_id: int | None


def counterparty(state: ItemStateValue) -> str | None:
    """Who must confirm (or decline) the open hand-off: whoever did not open it.

    The holder offers and the receiver confirms; or the receiver asks (a courier collecting a
    result at the desk) and the holder confirms.
    """
    if state.pending_to is None:
        return None
    return state.pending_from if state.pending_initiator == state.pending_to else state.pending_to


def confirmed_status(item_kind: str, receiver: str, current: str) -> str:
    """The status an item takes when ``receiver`` confirms a hand-off of it."""
    kind = party_kind(receiver)
    if kind == "office":
        return "handed_over" if item_kind == "dossier" else "returned_to_office"
    if kind == "post_office":
        return "at_post_office"
    if kind == "courier":
        if current in ("picked_up", "in_transit", "out_for_delivery", "collected"):
            return current  # courier-to-courier relay
        return "in_transit" if item_kind == "dossier" else "collected"
    raise InvalidTransition(f"an item cannot be handed over to {receiver}", field="to_party")


def apply(state: ItemStateValue | None, event: EventFacts) -> ItemStateValue:
    """Fold one event into an item's state, or raise ``InvalidTransition``."""
    rule = TRANSITIONS.get(event.kind)
    if rule is None:
        raise InvalidTransition(
            f"unknown event kind {event.kind!r}",
            field="kind",
            reason="scan.unknown_kind",
            params={"kind": event.kind},
        )
    if event.item_kind not in rule.item_kinds:
        raise InvalidTransition(
            f"{event.kind} does not apply to a {event.item_kind} item",
            field="kind",
            reason="transition.wrong_item_kind",
            params={
                "kind_text": f"event.{event.kind}",
                "item_kind_text": f"item.{event.item_kind}",
            },
        )
    if state is None:
        if rule.custody is not Custody.CREATE:
            raise InvalidTransition(
                f"{event.kind} cannot be an item's first event",
                field="kind",
                reason="transition.not_first",
                params={"kind_text": f"event.{event.kind}"},
            )
        if event.to_party is None:
            raise InvalidTransition(
                "the first event must name the holder",
                field="to_party",
                reason="transition.needs_holder",
            )
        assert rule.to_status is not None
        return ItemStateValue(status=rule.to_status, custodian=event.to_party)
    if not rule.from_statuses or state.status not in rule.from_statuses:
        raise InvalidTransition(
            f"{event.kind} is not allowed when the item is {state.status}",
            field="kind",
            reason="transition.not_allowed",
            params={"kind_text": f"event.{event.kind}", "status_text": f"status.{state.status}"},
        )
    if rule.needs_pending and state.pending_to is None:
        raise InvalidTransition(
            f"{event.kind} needs an open hand-off; none is open",
            field="kind",
            reason="transition.needs_handoff",
            params={"kind_text": f"event.{event.kind}"},
        )
    if state.pending_to is not None and rule.custody not in (Custody.CONFIRM, Custody.DECLINE):
        if event.kind not in ("damage_noted", "lost", "record_sealed"):
            raise InvalidTransition(
                f"a hand-off to {state.pending_to} is open; confirm or decline it first",
                field="kind",
                reason="transition.handoff_open",
                params={"party_text": f"party.{party_kind(state.pending_to)}"},
            )

    # The new state is built once, field by field: ``dataclasses.replace`` per change cost
    # more than the rest of the fold on the hot path.
    status = state.status if rule.to_status is None else rule.to_status
    custodian = state.custodian
    pending_from, pending_to = state.pending_from, state.pending_to
    pending_initiator = state.pending_initiator
    bag_id = state.bag_id
    delivery_attempts = state.delivery_attempts
    match rule.custody:
        case Custody.TAKE:
            custodian = event.actor_party
            if party_kind(event.actor_party) == "post_office":
                # Taken at the post office's own counter: nothing more to carry there.
                status = "at_post_office"
        case Custody.GIVE | Custody.ARRIVE:
            if event.to_party is None:
                raise InvalidTransition(
                    f"{event.kind} must name who receives",
                    field="to_party",
                    reason="transition.needs_receiver",
                )
            custodian = event.to_party
        case Custody.OFFER:
            if event.to_party is None:
                raise InvalidTransition(
                    "a hand-off must name the receiver",
                    field="to_party",
                    reason="transition.needs_receiver",
                )
            if event.to_party == state.custodian:
                raise InvalidTransition(
                    f"the item is already held by {event.to_party}",
                    field="to_party",
                    reason="transition.already_held",
                    params={"party_text": f"party.{party_kind(event.to_party)}"},
                )
            if event.actor_party not in (state.custodian, event.to_party):
                raise InvalidTransition(
                    "only the holder or the receiver can open a hand-off",
                    field="actor",
                    reason="transition.holder_or_receiver",
                )
            pending_from, pending_to = state.custodian, event.to_party
            pending_initiator = event.actor_party
        case Custody.CONFIRM | Custody.DECLINE:
            assert state.pending_to is not None and state.pending_from is not None
            confirmer = counterparty(state)
            if event.actor_party != confirmer:
                raise InvalidTransition(
                    f"this hand-off must be confirmed by {confirmer}, not {event.actor_party}",
                    field="actor",
                    reason="transition.confirm_by",
                    params={"party_text": f"party.{party_kind(confirmer or 'unknown')}"},
                )
            if rule.custody is Custody.CONFIRM:
                status = confirmed_status(event.item_kind, state.pending_to, state.status)
                custodian = state.pending_to
                bag_id = None
            pending_from = pending_to = pending_initiator = None
        case Custody.NONE | Custody.CREATE:
            pass
    if event.kind == "bagged":
        bag_id = event.bag_id
    elif event.kind == "bag_sealed":
        if state.bag_id is None or state.bag_id != event.bag_id:
            raise InvalidTransition(
                "the item is not in this bag", field="code", reason="bag.not_this_bag"
            )
    elif event.kind == "unbagged":
        if state.bag_id is None:
            raise InvalidTransition(
                "the item is not in a bag", field="kind", reason="bag.not_in_bag"
            )
        bag_id = None
    elif event.kind == "attempt_failed":
        delivery_attempts = state.delivery_attempts + 1
    return ItemStateValue(
        status=status,
        custodian=custodian,
        pending_from=pending_from,
        pending_to=pending_to,
        pending_initiator=pending_initiator,
        bag_id=bag_id,
        delivery_attempts=delivery_attempts,
    )
