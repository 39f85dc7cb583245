"""The EPCIS 2.0 export over a whole demo-like day: every document valid against GS1's JSON
Schema with format checking, every eventID the GS1 reference hash of its event, bags as
aggregation events, corrections as error declarations; the query parameters and paging."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from epcis_event_hash_generator import hash_generator, json_to_py
from jsonschema import Draft7Validator, FormatChecker
from sqlalchemy import true
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.custody.verify import verify_ledger
from core.epcis.export import EventQuery, parse_query, query_document, query_events
from core.errors import InvalidInput
from core.settings import Settings
from tests.core.epcis.day import Day, build_day

REFERENCE = Path(__file__).parent
SCHEMA_FILE = Path(__file__).parent / "EPCIS-JSON-Schema.json"


def _validator() -> Draft7Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def day_session(engine: Engine) -> Iterator[tuple[Session, Day]]:
    """One demo day for the module, rolled back at the end."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", autoflush=False,
                      expire_on_commit=False)  # fmt: skip
    settings = Settings(environment="test", secret_key="test-secret", database_url=None)
    try:
        yield session, build_day(session, settings)
    finally:
        session.close()
        outer.rollback()
        connection.close()


def _all_events(session: Session, query: EventQuery | None = None) -> list[dict[str, Any]]:
    query = query or EventQuery(per_page=1000)
    events: list[dict[str, Any]] = []
    after = query.after_id
    while True:
        page = query_events(session, true(), EventQuery(**{**query.__dict__, "after_id": after}))
        events.extend(page.events)
        if page.next_page_token is None:
            return events
        after = parse_query({"nextPageToken": page.next_page_token}).after_id


def test_the_schema_checks_formats() -> None:
    """The check below could not fail if the format checker were missing its validators."""
    assert {"uri", "date-time"} <= FormatChecker().checkers.keys()
    validator = _validator()
    example = json.loads((REFERENCE / "Example_9.6.1-ObjectEvent.jsonld").read_text())
    assert not list(validator.iter_errors(example))
    bad_time = copy.deepcopy(example)
    bad_time["epcisBody"]["eventList"][0]["eventTime"] = "2005-04-03 20:33:31"
    assert list(validator.iter_errors(bad_time))
    bad_uri = copy.deepcopy(example)
    bad_uri["epcisBody"]["eventList"][0]["epcList"] = ["not a uri"]
    assert list(validator.iter_errors(bad_uri))


@pytest.mark.parametrize(
    "name",
    ["Example_9.6.1-ObjectEvent.jsonld", "Example_9.6.3-AggregationEvent.jsonld",
     "ErrorDeclarationAndCorrectiveEvent.jsonld"],
)  # fmt: skip
def test_the_standards_examples_validate(name: str) -> None:
    document = json.loads((REFERENCE / name).read_text(encoding="utf-8"))
    assert [e.message for e in _validator().iter_errors(document)] == []


def test_a_whole_day_exports_valid_documents(day_session: tuple[Session, Day]) -> None:
    session, day = day_session
    events = _all_events(session)
    kinds = {e["hoso:kind"] for e in events}
    assert {"booked", "picked_up", "handover_offered", "handover_confirmed", "bagged",
            "bag_sealed", "departed", "arrived", "unbagged", "result_registered",
            "out_for_delivery", "attempt_failed", "delivered", "cancelled", "damage_noted",
            "lost"} <= kinds  # fmt: skip
    validator = _validator()
    # Pages of 50, as a client would fetch them: each page one document, each valid.
    query = EventQuery(per_page=50)
    pages = 0
    while True:
        page = query_events(session, true(), query)
        document = query_document(page.events, now=day.now)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == []
        pages += 1
        if page.next_page_token is None:
            break
        query = EventQuery(per_page=50, after_id=parse_query(
            {"nextPageToken": page.next_page_token}).after_id)  # fmt: skip
    assert pages == -(-len(events) // 50)


def test_event_ids_are_the_gs1_reference_hash(day_session: tuple[Session, Day]) -> None:
    session, day = day_session
    events = _all_events(session)
    document = query_document(events, now=day.now)
    # The reference reads an EPCISDocument; the events are the same.
    body = {**document, "type": "EPCISDocument", "epcisBody": {"eventList": events}}
    parsed = json_to_py.event_list_from_epcis_document_json(copy.deepcopy(body))
    reference = hash_generator.epcis_hashes_from_events(parsed)
    assert len(reference) == len(events) > 500
    mismatched = [e["hoso:kind"] for e, h in zip(events, reference, strict=True)
                  if e["eventID"] != h]  # fmt: skip
    assert mismatched == []


def test_bags_are_aggregation_events(day_session: tuple[Session, Day]) -> None:
    session, day = day_session
    events = _all_events(session, EventQuery(event_types=("AggregationEvent",), per_page=1000))
    parent = f"urn:hoso:bag:{day.bag_code}"
    actions = sorted((e["hoso:kind"], e["action"]) for e in events if e["parentID"] == parent)
    assert actions == sorted([("bagged", "ADD")] * 3 + [("bag_sealed", "OBSERVE")] * 3
                             + [("unbagged", "DELETE")])  # fmt: skip
    assert all(e["type"] == "AggregationEvent" for e in events)
    scanned = _all_events(session, EventQuery(any_epcs=(day.bag_code,), per_page=1000))
    assert {"departed", "arrived"} <= {e["hoso:kind"] for e in scanned}


def test_corrections_are_error_declarations(day_session: tuple[Session, Day]) -> None:
    session, day = day_session
    events = _all_events(session)
    by_ledger = {e["hoso:ledgerEventID"]: e for e in events if "errorDeclaration" not in e}
    wrong = by_ledger[f"urn:uuid:{day.corrected_event_id}"]
    declared = [e for e in events if e["eventID"] == wrong["eventID"] and "errorDeclaration" in e]
    assert len(declared) == 1
    declaration = declared[0]
    # Identical to the wrong event but for the declaration and the record time (EPCIS 2.0).
    same = {k: v for k, v in declaration.items() if k not in ("errorDeclaration", "recordTime")}
    assert same == {k: v for k, v in wrong.items() if k != "recordTime"}
    (corrective_id,) = declaration["errorDeclaration"]["correctiveEventIDs"]
    corrective = next(e for e in events if e["eventID"] == corrective_id)
    assert corrective["hoso:kind"] == "damage_noted"
    assert declaration["errorDeclaration"]["reason"] == "incorrect_data"
    undone = by_ledger[f"urn:uuid:{day.undone_event_id}"]
    (not_occurred,) = [e for e in events if e["eventID"] == undone["eventID"]
                       and "errorDeclaration" in e]  # fmt: skip
    assert not_occurred["errorDeclaration"]["reason"] == "did_not_occur"
    assert "correctiveEventIDs" not in not_occurred["errorDeclaration"]
    # The chains and projections still check out after both corrections.
    assert verify_ledger(session).ok


def test_places_and_parties(day_session: tuple[Session, Day]) -> None:
    session, _ = day_session
    events = _all_events(session)
    pickups = [e for e in events if e["hoso:kind"] == "picked_up"]
    # From the citizen to the courier at the door, or to the post office at its counter.
    takers = ("urn:hoso:courier:", "urn:hoso:post-office:")
    odd = [
        (e["epcList"], e["sourceList"], e["destinationList"], e["hoso:upuEventCode"])
        for e in pickups
        if not (
            e["sourceList"][0]["source"].startswith("urn:hoso:citizen:case-")
            and e["destinationList"][0]["destination"].startswith(takers)
            and e["hoso:upuEventCode"] == "EMA"
        )
    ]
    assert pickups and odd == []
    assert any(e["destinationList"][0]["destination"].startswith(takers[0]) for e in pickups)
    desk = [e for e in events if e["hoso:kind"] == "handover_confirmed"
            and e["destinationList"][0]["destination"].startswith("urn:hoso:office:")]  # fmt: skip
    assert desk and all(e["bizLocation"] == {"id": e["destinationList"][0]["destination"]}
                        for e in desk)  # fmt: skip
    # Arrivals scanned by the demo's phones are read where the phone was; a counter clerk's
    # (another test's post office, committed) has no position and reads at its place.
    arrived = [e for e in events if e["hoso:kind"] == "arrived"]
    by_phone = [e for e in arrived if e["readPoint"]["id"].startswith("geo:")]
    assert by_phone and all(e["readPoint"]["id"] == "geo:21.186120,106.076340;u=12"
                            for e in by_phone)  # fmt: skip
    assert all(e["readPoint"]["id"].startswith(("geo:", "urn:hoso:")) for e in arrived)


def test_filters(day_session: tuple[Session, Day]) -> None:
    session, _ = day_session
    events = _all_events(session)
    item = events[0]["epcList"][0]
    one = _all_events(session, parse_query({"MATCH_epc": item, "perPage": "1000"}))
    assert one and all(e.get("epcList", e.get("childEPCs")) == [item] for e in one)
    steps = _all_events(session, parse_query({"EQ_bizStep": "accepting,arriving"}))
    assert steps and {e["bizStep"] for e in steps} == {"accepting", "arriving"}
    objects = _all_events(session, parse_query({"eventType": "ObjectEvent"}))
    assert len(objects) < len(events) and all(e["type"] == "ObjectEvent" for e in objects)
    middle = sorted(e["eventTime"] for e in events)[len(events) // 2]
    later = _all_events(session, parse_query({"GE_eventTime": middle}))
    assert 0 < len(later) < len(events)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"eventType": "TransformationEvent"}, "eventType"),
     ({"GE_eventTime": "yesterday"}, "GE_eventTime"),
     ({"LT_eventTime": "2026-12-03T08:00:00"}, "LT_eventTime"),
     ({"MATCH_epc": "urn:hoso:item:DH000000015VN"}, "MATCH_epc"),
     ({"perPage": "0"}, "perPage"), ({"perPage": "1001"}, "perPage"),
     ({"nextPageToken": "not-ours"}, "nextPageToken")],
)  # fmt: skip
def test_bad_parameters_are_named(params: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_query(params)
    assert caught.value.field == field
