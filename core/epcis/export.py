"""The custody ledger as EPCIS 2.0 events, queried the way the EPCIS REST binding's
``GET /events`` is (docs/epcis.md).

One ledger row is one EPCIS event: a scan an ObjectEvent, an item put into, sealed in or
taken out of a bag an AggregationEvent (ADD / OBSERVE / DELETE, the bag as parentID). An
error declaration row is exported as the standard asks: the wrong event again, identical
(same eventID), with an ``errorDeclaration`` naming the reason and the corrective events,
and the declaration's own recordTime. Events come in recording order (the ledger's id), a
page at a time; the page token is the last row id read, so a page is one index range scan
however far into the ledger it starts.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from core.cases.models import Booking, Case
from core.custody.models import Bag, CustodyEvent, Item
from core.custody.transitions import ERROR_DECLARED
from core.epcis.hashing import event_hash_id, utc_millis
from core.epcis.uris import (
    EXTENSION_NAMESPACE,
    PartyNames,
    bag_uri,
    geo_uri,
    item_uri,
)
from core.errors import InvalidInput
from core.inputs import EARLIEST, LATEST
from core.places.models import Office, PostOffice
from labels.errors import InvalidCode
from labels.s10 import validate_item_id

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EVENT_TYPES = ("ObjectEvent", "AggregationEvent")
# Kinds that put an item into, seal it in, or take it out of a bag, with their EPCIS action.
AGGREGATION_ACTIONS = {"bagged": "ADD", "bag_sealed": "OBSERVE", "unbagged": "DELETE"}
# An item's first event brings it into being (bizStep commissioning): EPCIS action ADD.
FIRST_KINDS = frozenset({"booked", "result_registered"})
DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000


@dataclass(frozen=True)
class EventQuery:
    """The REST binding's query parameters hoso answers, already checked."""

    event_types: tuple[str, ...] = ()
    ge_event_time: datetime | None = None
    lt_event_time: datetime | None = None
    ge_record_time: datetime | None = None
    lt_record_time: datetime | None = None
    items: tuple[str, ...] = ()  # S10 codes (MATCH_epc, item)
    any_epcs: tuple[str, ...] = ()  # S10 codes of items or bags (MATCH_anyEPC)
    parents: tuple[str, ...] = ()  # bag codes (MATCH_parentID)
    biz_steps: tuple[str, ...] = ()
    dispositions: tuple[str, ...] = ()
    per_page: int = DEFAULT_PER_PAGE
    after_id: int = 0


@dataclass
class EventPage:
    events: list[dict[str, Any]] = field(default_factory=list)
    next_page_token: str | None = None


# -- parameters -------------------------------------------------------------------------


def _values(raw: str | None) -> list[str]:
    """A list parameter: comma-separated (the binding's ``explode: false`` form)."""
    if raw is None:
        return []
    return [part.strip() for part in raw.split(",") if part.strip()]


def _time(raw: str | None, name: str) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{raw[:40]!r} is not a date-time like 2026-12-03T08:00:00+07:00", field=name
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput("give the time with its offset (+07:00 or Z)", field=name)
    if not (EARLIEST <= moment <= LATEST):
        raise InvalidInput("the time is outside the years hoso keeps", field=name)
    return moment


def _codes(raw: str | None, name: str, *, allow_bags: bool = False) -> list[str]:
    codes = []
    for value in _values(raw):
        code = value
        for head in ("urn:hoso:item:", *(("urn:hoso:bag:",) if allow_bags else ())):
            if value.startswith(head):
                code = value[len(head) :]
        try:
            codes.append(validate_item_id(code))
        except InvalidCode as exc:
            raise InvalidInput(f"{value[:60]!r}: {exc}", field=name) from None
    return codes


def decode_page_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    head, _, number = text.partition(":")
    if head != "after" or not number.isdigit() or len(number) > 18:
        raise InvalidInput("this page token was not given by hoso", field="nextPageToken")
    return int(number)


def encode_page_token(after_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{after_id}".encode()).decode().rstrip("=")


def parse_query(params: Mapping[str, str | None]) -> EventQuery:
    """The query from the REST binding's parameter names; each bad one is named."""
    types = _values(params.get("eventType"))
    for value in types:
        if value not in EVENT_TYPES:
            raise InvalidInput(
                f"hoso exports {' and '.join(EVENT_TYPES)} only, not {value[:40]!r}",
                field="eventType",
            )
    per_page_raw = params.get("perPage")
    per_page = DEFAULT_PER_PAGE
    if per_page_raw is not None:
        if not per_page_raw.isdigit() or not 1 <= int(per_page_raw) <= MAX_PER_PAGE:
            raise InvalidInput(f"perPage must be a whole number from 1 to {MAX_PER_PAGE}",
                               field="perPage")  # fmt: skip
        per_page = int(per_page_raw)
    token = params.get("nextPageToken")
    query = EventQuery(
        event_types=tuple(types),
        ge_event_time=_time(params.get("GE_eventTime"), "GE_eventTime"),
        lt_event_time=_time(params.get("LT_eventTime"), "LT_eventTime"),
        ge_record_time=_time(params.get("GE_recordTime"), "GE_recordTime"),
        lt_record_time=_time(params.get("LT_recordTime"), "LT_recordTime"),
        items=tuple(
            _codes(params.get("MATCH_epc"), "MATCH_epc") + _codes(params.get("item"), "item")
        ),  # fmt: skip
        any_epcs=tuple(_codes(params.get("MATCH_anyEPC"), "MATCH_anyEPC", allow_bags=True)),
        parents=tuple(_codes(params.get("MATCH_parentID"), "MATCH_parentID", allow_bags=True)),
        biz_steps=tuple(_values(params.get("EQ_bizStep"))),
        dispositions=tuple(_values(params.get("EQ_disposition"))),
        per_page=per_page,
        after_id=decode_page_token(token) if token else 0,
    )
    for value in (*query.biz_steps, *query.dispositions):
        if len(value) > 200:
            raise InvalidInput("a business step or disposition is at most 200 characters",
                               field="EQ_bizStep")  # fmt: skip
    return query


# -- the query ----------------------------------------------------------------------------

_Wrong = aliased(CustodyEvent, name="wrong")
_WrongBag = aliased(Bag, name="wrong_bag")


def _filters(query: EventQuery) -> list[ColumnElement[bool]]:
    """Conditions on the exported event: for a declaration, the wrong event it repeats."""
    kind = func.coalesce(_Wrong.kind, CustodyEvent.kind)
    occurred = func.coalesce(_Wrong.occurred_at, CustodyEvent.occurred_at)
    bag_code = func.coalesce(_WrongBag.code, Bag.code)
    found: list[ColumnElement[bool]] = [CustodyEvent.id > query.after_id]
    if query.event_types and len(set(query.event_types)) < len(EVENT_TYPES):
        aggregation = kind.in_(tuple(AGGREGATION_ACTIONS))
        found.append(aggregation if "AggregationEvent" in query.event_types else ~aggregation)
    if query.ge_event_time is not None:
        found.append(occurred >= query.ge_event_time)
    if query.lt_event_time is not None:
        found.append(occurred < query.lt_event_time)
    if query.ge_record_time is not None:
        found.append(CustodyEvent.recorded_at >= query.ge_record_time)
    if query.lt_record_time is not None:
        found.append(CustodyEvent.recorded_at < query.lt_record_time)
    if query.items:
        found.append(Item.code.in_(query.items))
    if query.any_epcs:
        found.append(or_(Item.code.in_(query.any_epcs), bag_code.in_(query.any_epcs)))
    if query.parents:
        found.append(bag_code.in_(query.parents))
    if query.biz_steps:
        found.append(CustodyEvent.biz_step.in_(query.biz_steps))
    if query.dispositions:
        found.append(CustodyEvent.disposition.in_(query.dispositions))
    return found


def query_events(session: Session, scope: ColumnElement[bool], query: EventQuery) -> EventPage:
    """One page of events of the items ``scope`` (a condition on the case's ``Booking`` and
    ``Case``, from ``core.access``) lets the caller see."""
    rows = session.execute(
        select(CustodyEvent, Item.code, Bag.code, _Wrong, _WrongBag.code)
        .join(Item, Item.id == CustodyEvent.item_id)
        .join(Case, Case.id == Item.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .outerjoin(Bag, Bag.id == CustodyEvent.bag_id)
        .outerjoin(
            _Wrong,
            and_(
                CustodyEvent.kind == ERROR_DECLARED,
                _Wrong.event_id == CustodyEvent.corrects_event_id,
            ),
        )  # fmt: skip
        .outerjoin(_WrongBag, _WrongBag.id == _Wrong.bag_id)
        .where(scope, *_filters(query))
        .order_by(CustodyEvent.id)
        .limit(query.per_page + 1)
    ).all()
    more = len(rows) > query.per_page
    rows = rows[: query.per_page]
    page = EventPage(events=build_events(session, [tuple(r) for r in rows]))
    if more:
        page.next_page_token = encode_page_token(rows[-1][0].id)
    return page


# One row of the query: the event, its item's code, its bag's code, and for a declaration
# the wrong event and that event's bag code.
Row = tuple[Any, ...]


def build_events(session: Session, rows: Sequence[Row]) -> list[dict[str, Any]]:
    events_seen = [r[0] for r in rows] + [r[3] for r in rows if r[3] is not None]
    wrong_ids = [r[3].event_id for r in rows if r[3] is not None]
    correctives = _corrective_rows(session, wrong_ids)
    names = _party_names(session, [*events_seen, *(c[0] for c in correctives)])
    left = _bags_left(
        session, [e for e in events_seen if e.kind == "unbagged" and e.bag_id is None]
    )
    rows = [
        (r[0], r[1], r[2] or left.get(r[0].id), r[3],
         r[4] or (left.get(r[3].id) if r[3] is not None else None))
        for r in rows
    ]  # fmt: skip
    corrective_ids: dict[Any, list[str]] = {}
    for event, item_code, bag_code in correctives:
        corrective_ids.setdefault(event.corrects_event_id, []).append(
            epcis_event(event, item_code, bag_code, names)["eventID"]
        )
    out = []
    for event, item_code, bag_code, wrong, wrong_bag_code in rows:
        if wrong is None:
            out.append(epcis_event(event, item_code, bag_code, names))
            continue
        repeated = epcis_event(wrong, item_code, wrong_bag_code, names)
        repeated["recordTime"] = utc_millis(event.recorded_at)
        declaration: dict[str, Any] = {
            "declarationTime": _local_millis(event.occurred_at, event.occurred_offset),
        }
        reason = event.details.get("reason")
        if reason:
            declaration["reason"] = reason
        if corrective_ids.get(wrong.event_id):
            declaration["correctiveEventIDs"] = sorted(corrective_ids[wrong.event_id])
        if event.details.get("note"):
            declaration["hoso:note"] = str(event.details["note"])
        declaration["hoso:ledgerEventID"] = f"urn:uuid:{event.event_id}"
        repeated["errorDeclaration"] = declaration
        out.append(repeated)
    return out


def _bags_left(session: Session, events: Sequence[CustodyEvent]) -> dict[int, str]:
    """The bag each ``unbagged`` event took its item out of. The ledger row names no bag (the
    scan was of the item); the bag is the one of the item's last ``bagged`` event before it."""
    if not events:
        return {}
    earlier = aliased(CustodyEvent, name="earlier")
    found: dict[int, str] = {}
    for event in events:
        code = session.scalar(
            select(Bag.code)
            .join(earlier, earlier.bag_id == Bag.id)
            .where(earlier.item_id == event.item_id, earlier.seq < event.seq,
                   earlier.kind == "bagged")
            .order_by(earlier.seq.desc())
            .limit(1)
        )  # fmt: skip
        if code is not None:
            found[event.id] = code
    return found


def _corrective_rows(session: Session, wrong_ids: Iterable[Any]) -> list[Row]:
    wanted = list(wrong_ids)
    if not wanted:
        return []
    rows = session.execute(
        select(CustodyEvent, Item.code, Bag.code)
        .join(Item, Item.id == CustodyEvent.item_id)
        .outerjoin(Bag, Bag.id == CustodyEvent.bag_id)
        .where(CustodyEvent.corrects_event_id.in_(wanted), CustodyEvent.kind != ERROR_DECLARED)
        .order_by(CustodyEvent.id)
    ).all()
    return [tuple(r) for r in rows]


def _party_names(session: Session, events: Iterable[CustodyEvent]) -> PartyNames:
    offices: set[int] = set()
    posts: set[int] = set()
    for event in events:
        for value in (event.from_party, event.to_party, event.actor_party):
            kind, _, ident = (value or "").partition(":")
            if ident.isdigit() and len(ident) <= 9:
                (offices if kind == "office" else posts if kind == "post_office" else set()).add(
                    int(ident)
                )
    office_codes: dict[int, str] = {}
    post_codes: dict[int, str] = {}
    if offices:
        rows = session.execute(select(Office.id, Office.code).where(Office.id.in_(offices)))
        office_codes = {int(ident): str(code) for ident, code in rows}
    if posts:
        rows = session.execute(
            select(PostOffice.id, PostOffice.code).where(PostOffice.id.in_(posts))
        )
        post_codes = {int(ident): str(code) for ident, code in rows}
    return PartyNames(office_codes, post_codes)


def _offset(value: str) -> timedelta:
    sign = -1 if value.startswith("-") else 1
    hours, _, minutes = value[1:].partition(":")
    return sign * timedelta(hours=int(hours), minutes=int(minutes))


def _local_millis(moment: datetime, offset: str) -> str:
    """The time as the device saw it, in its own offset (``occurred_offset``, e.g.
    ``+07:00``), to the millisecond. Written from the UTC instant plus the offset: the offset
    is data here (a phone's), not a zone this module makes."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    local = utc + _offset(offset)
    local = local.replace(microsecond=local.microsecond // 1000 * 1000)
    return local.isoformat(timespec="milliseconds") + offset


def epcis_event(
    event: CustodyEvent, item_code: str, bag_code: str | None, names: PartyNames
) -> dict[str, Any]:
    """One ledger row as an EPCIS event, its eventID the CBV 2.0 hash of its content."""
    aggregation = event.kind in AGGREGATION_ACTIONS and bag_code is not None
    out: dict[str, Any] = {
        "type": "AggregationEvent" if aggregation else "ObjectEvent",
        "eventTime": _local_millis(event.occurred_at, event.occurred_offset),
        "eventTimeZoneOffset": event.occurred_offset,
    }
    if aggregation:
        assert bag_code is not None
        out["parentID"] = bag_uri(bag_code)
        out["childEPCs"] = [item_uri(item_code)]
        out["action"] = AGGREGATION_ACTIONS[event.kind]
    else:
        out["epcList"] = [item_uri(item_code)]
        out["action"] = "ADD" if event.kind in FIRST_KINDS else "OBSERVE"
    if event.biz_step:
        out["bizStep"] = event.biz_step
    if event.disposition:
        out["disposition"] = event.disposition
    if event.lat is not None and event.lon is not None:
        out["readPoint"] = {"id": geo_uri(event.lat, event.lon, event.gps_accuracy_m)}
    elif names.is_place(event.actor_party):
        out["readPoint"] = {"id": names.uri(event.actor_party)}
    # Where the item is once the event is done: a hand-off offered leaves it with the giver.
    holder = event.from_party if event.kind == "handover_offered" else event.to_party
    if names.is_place(holder):
        assert holder is not None
        out["bizLocation"] = {"id": names.uri(holder)}
    moved = event.to_party is not None and event.to_party != event.from_party
    if moved and event.kind not in ("handover_offered",):
        assert event.to_party is not None
        if event.from_party is not None:
            out["sourceList"] = [
                {"type": "possessing_party", "source": names.uri(event.from_party)}
            ]
        out["destinationList"] = [
            {"type": "possessing_party", "destination": names.uri(event.to_party)}
        ]
    out["hoso:kind"] = event.kind
    out["hoso:ledgerEventID"] = f"urn:uuid:{event.event_id}"
    if event.upu_code:
        out["hoso:upuEventCode"] = event.upu_code
    out["eventID"] = event_hash_id(out)
    out["recordTime"] = utc_millis(event.recorded_at)
    return out


def query_document(events: list[dict[str, Any]], *, now: datetime) -> dict[str, Any]:
    """The REST binding's answer to ``GET /events``: an EPCISQueryDocument."""
    return {
        "@context": [CONTEXT, {"hoso": EXTENSION_NAMESPACE}],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": utc_millis(now.astimezone(UTC)),
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": events},
            }
        },
    }
