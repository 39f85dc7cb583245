"""The state machine: every allowed transition, and every refused one, from the table."""

from __future__ import annotations

import pytest

from core.custody.transitions import (
    STATUS_LABELS,
    TRANSITIONS,
    Custody,
    EventFacts,
    ItemStateValue,
    apply,
    confirmed_status,
)
from core.errors import InvalidTransition

COURIER = "courier:7"
OTHER_COURIER = "courier:8"
OFFICE = "office:3"
POST = "post_office:2"
CITIZEN = "citizen:case-1"


def _facts(kind: str, item_kind: str, actor: str, to: str | None = None) -> EventFacts:
    bag_id = 5 if kind in ("bagged", "bag_sealed") else None
    return EventFacts(kind=kind, item_kind=item_kind, actor_party=actor, from_party=None,
                      to_party=to, bag_id=bag_id)  # fmt: skip


def _state(status: str, custodian: str = COURIER, **kw: object) -> ItemStateValue:
    return ItemStateValue(status=status, custodian=custodian, **kw)  # type: ignore[arg-type]


def test_every_status_has_vietnamese_and_english_labels() -> None:
    for status, (vi, en) in STATUS_LABELS.items():
        assert vi and en and vi != en, status
    for rule in TRANSITIONS.values():
        assert rule.label_vi and rule.label_en
        for status in rule.from_statuses:
            assert status in STATUS_LABELS, (rule.kind, status)
        if rule.to_status:
            assert rule.to_status in STATUS_LABELS


def test_upu_codes_map_where_one_exists() -> None:
    assert TRANSITIONS["picked_up"].upu_code == "EMA"
    assert TRANSITIONS["out_for_delivery"].upu_code == "EDG"
    assert TRANSITIONS["attempt_failed"].upu_code == "EMH"
    assert TRANSITIONS["delivered"].upu_code == "EMI"
    assert TRANSITIONS["arrived"].upu_code == "EMG"


# Simple (non hand-off, non creation) transitions: allowed exactly from their from_statuses.
SIMPLE = [
    k
    for k, r in TRANSITIONS.items()
    if r.custody in (Custody.NONE, Custody.TAKE, Custody.GIVE, Custody.ARRIVE)
]


@pytest.mark.parametrize("kind", SIMPLE)
@pytest.mark.parametrize("status", sorted(STATUS_LABELS))
def test_simple_transition_allowed_only_from_its_statuses(kind: str, status: str) -> None:
    rule = TRANSITIONS[kind]
    item_kind = sorted(rule.item_kinds)[0]
    bag_id = {"unbagged": 9, "bag_sealed": 5}.get(kind)  # sealed: the bag the item is in
    state = _state(status, bag_id=bag_id)
    facts = _facts(kind, item_kind, COURIER, to=CITIZEN)
    if status in rule.from_statuses:
        new = apply(state, facts)
        if rule.to_status:
            assert new.status == rule.to_status
        if rule.custody is Custody.TAKE:
            assert new.custodian == COURIER
        if rule.custody in (Custody.GIVE, Custody.ARRIVE):
            assert new.custodian == CITIZEN
    else:
        with pytest.raises(InvalidTransition, match="not allowed"):
            apply(state, facts)


@pytest.mark.parametrize("kind", sorted(TRANSITIONS))
def test_kind_refused_for_the_wrong_item_kind(kind: str) -> None:
    rule = TRANSITIONS[kind]
    for item_kind in {"dossier", "result"} - rule.item_kinds:
        status = sorted(rule.from_statuses)[0] if rule.from_statuses else "booked"
        with pytest.raises(InvalidTransition, match="does not apply"):
            apply(_state(status), _facts(kind, item_kind, COURIER, CITIZEN))


def test_only_creation_kinds_start_an_item() -> None:
    assert apply(None, _facts("booked", "dossier", "agency:hoso", CITIZEN)).custodian == CITIZEN
    assert apply(None, _facts("result_registered", "result", OFFICE, OFFICE)).status == (
        "result_registered"
    )
    with pytest.raises(InvalidTransition, match="first event"):
        apply(None, _facts("picked_up", "dossier", COURIER))
    with pytest.raises(InvalidTransition, match="not allowed"):
        apply(_state("booked", CITIZEN), _facts("booked", "dossier", "agency:hoso", CITIZEN))


def test_hand_off_moves_custody_only_when_the_receiver_confirms() -> None:
    held = _state("picked_up", COURIER)
    offered = apply(held, _facts("handover_offered", "dossier", COURIER, OFFICE))
    assert offered.custodian == COURIER and offered.pending_to == OFFICE
    with pytest.raises(InvalidTransition, match="must be confirmed by office:3"):
        apply(offered, _facts("handover_confirmed", "dossier", COURIER))
    with pytest.raises(InvalidTransition, match="hand-off to office:3 is open"):
        apply(offered, _facts("handover_offered", "dossier", COURIER, POST))
    confirmed = apply(offered, _facts("handover_confirmed", "dossier", OFFICE))
    assert (confirmed.status, confirmed.custodian, confirmed.pending_to) == (
        "handed_over",
        OFFICE,
        None,
    )


def test_result_collection_is_requested_by_the_courier_and_confirmed_by_the_desk() -> None:
    at_office = _state("result_registered", OFFICE)
    asked = apply(at_office, _facts("handover_offered", "result", COURIER, COURIER))
    assert asked.pending_initiator == COURIER
    with pytest.raises(InvalidTransition, match="confirmed by office:3"):
        apply(asked, _facts("handover_confirmed", "result", COURIER))
    done = apply(asked, _facts("handover_confirmed", "result", OFFICE))
    assert (done.status, done.custodian) == ("collected", COURIER)


def test_declined_hand_off_leaves_custody_where_it_was() -> None:
    offered = apply(
        _state("picked_up", COURIER), _facts("handover_offered", "dossier", COURIER, OFFICE)
    )
    declined = apply(offered, _facts("handover_declined", "dossier", OFFICE))
    assert declined.custodian == COURIER and declined.pending_to is None


def test_hand_off_cannot_be_opened_by_a_stranger_or_to_the_holder() -> None:
    held = _state("picked_up", COURIER)
    with pytest.raises(InvalidTransition, match="only the holder or the receiver"):
        apply(held, _facts("handover_offered", "dossier", OTHER_COURIER, OFFICE))
    with pytest.raises(InvalidTransition, match="already held"):
        apply(held, _facts("handover_offered", "dossier", COURIER, COURIER))
    with pytest.raises(InvalidTransition, match="needs an open hand-off"):
        apply(held, _facts("handover_confirmed", "dossier", OFFICE))


@pytest.mark.parametrize(
    ("item_kind", "receiver", "current", "expected"),
    [
        ("dossier", OFFICE, "picked_up", "handed_over"),
        ("result", OFFICE, "attempt_failed", "returned_to_office"),
        ("dossier", POST, "picked_up", "at_post_office"),
        ("result", COURIER, "result_registered", "collected"),
        ("dossier", COURIER, "arrived", "in_transit"),
        ("dossier", OTHER_COURIER, "picked_up", "picked_up"),
    ],
)
def test_confirmed_status(item_kind: str, receiver: str, current: str, expected: str) -> None:
    assert confirmed_status(item_kind, receiver, current) == expected


def test_attempts_are_counted_and_bags_tracked() -> None:
    out = _state("out_for_delivery", COURIER)
    failed = apply(out, _facts("attempt_failed", "result", COURIER))
    assert failed.delivery_attempts == 1
    again = apply(apply(failed, _facts("out_for_delivery", "result", COURIER)),
                  _facts("attempt_failed", "result", COURIER))  # fmt: skip
    assert again.delivery_attempts == 2
    bagged = apply(_state("at_post_office", POST), _facts("bagged", "dossier", POST))
    assert bagged.bag_id == 5
    assert apply(bagged, _facts("unbagged", "dossier", POST)).bag_id is None
    with pytest.raises(InvalidTransition, match="not in a bag"):
        apply(_state("at_post_office", POST), _facts("unbagged", "dossier", POST))


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidTransition, match="unknown event kind"):
        apply(_state("booked"), _facts("teleported", "dossier", COURIER))
