"""Who may see or act on what: every authorisation decision of the edges, in one place.

Two questions, asked in this order by every edge (HTML pages, the JSON API, the mobile API):

1. ``may_enter(user, area)``: may this role use this part of the service at all? The answer is
   the table ``AREAS`` below. A role that may not gets 403 (a page or JSON, by edge).
2. ``may_see_*`` / ``may_act_*``: may this person see or change this one object? The answer
   depends on the person's *reach* (``reach_of``): everything, one office, one post office,
   or only what is theirs.

Adding a role is a change here: give it a place in ``AREAS`` for each area it may use and a
case in ``reach_of`` for what it reaches; a role missing from both is refused everywhere.

- ``counter_clerk`` (staff of one post office's counter): ``Reach(post_office_id=...)``, the
  "printing" row, and the "field" row: at the counter a clerk acts for their post office
  like a dispatcher does (``actor_for`` gives them the post office's party), so they scan,
  bag and hand items over for it; the custody rules still decide which events they record.
- ``province_supervisor`` (watches one province): ``Reach(province_code=...)``, matched
  against the post office's and office's ``province_code`` where reach is compared, and the
  read-only rows ("supervise", "printing", "ledger"), plus "administer" and "corrections"
  (declaring a wrong ledger event of their province, resolving scan exceptions). Never the
  desk, the field app (scans, hand-overs, bags) or dispatch planning; a supervisor *reads* a
  post office's couriers (positions) but moves or locks nothing: ``may_act_for_post_office``
  is only asked behind the "dispatch" or "supervise" rows, and dispatch has no supervisor.

The edges need no change for either: they ask by area and object, never by role name.

Services deeper in core (custody transitions, bags, devices, run sheets) keep their own
checks on what a ledger event may do; this module answers what an *edge* may show or start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session, object_session

from core.cases.models import Booking, Case
from core.custody.models import Item
from core.custody.parties import party_kind
from core.errors import Forbidden, InvalidInput, NotFound
from core.handovers.models import Handover
from core.identity.models import User
from core.identity.service import actor_for
from core.places.models import Office, PostOffice, Province

Area = Literal[
    "citizen",  # a citizen's own bookings and cases (pages and API)
    "desk",  # the one-stop desk pages (/desk)
    "printing",  # labels, dossier slips, fee receipts, hand-over records (/print)
    "field",  # the courier app's API: scans, hand-overs, bags, rounds (/mobile/v1)
    "courier_only",  # what only the courier themself does: deliveries, own pings
    "supervise",  # watching couriers: positions, devices (/mobile/v1 for supervisors)
    "dispatch",  # planning a post office's day (/dispatch, /api/v1/dispatch)
    "admin",  # operating the service: dead webhooks, replays
    "messages",  # the delivery status of citizens' messages (/staff/messages)
    "administer",  # the admin area: staff users, the catalogue (supervisors for their province)
    "bank",  # bank statements, the bank-line queue, reconciliation (/money, /api/v1/money)
    "money",  # a post office's money: couriers' cash, cash-ups, money exceptions (read)
    "cash_up",  # counting a courier's cash into the till at the end of the day
    "money_review",  # resolving money exceptions (a cash amount taken other than was due)
    "quality",  # service-quality figures (/sla): each level its own, see ``sla_reach``
    "ledger",  # reading the custody ledger as EPCIS events (/api/v1/epcis), by reach
    "corrections",  # declaring a ledger event wrong, and the scans kept as exceptions
    "counter",  # the post office's counter: walk-ins, results collected there, the queue
]

# The roles that may use each area. One row per area; a new role joins the rows it needs.
AREAS: dict[Area, frozenset[str]] = {
    "citizen": frozenset({"citizen"}),
    "desk": frozenset({"desk_officer"}),
    "printing": frozenset(
        {"courier", "desk_officer", "dispatcher", "counter_clerk", "province_supervisor", "admin"}
    ),
    "field": frozenset({"courier", "dispatcher", "counter_clerk"}),
    "courier_only": frozenset({"courier"}),
    "supervise": frozenset({"dispatcher", "province_supervisor", "admin"}),
    "dispatch": frozenset({"dispatcher", "admin"}),
    "admin": frozenset({"admin"}),
    "messages": frozenset({"dispatcher", "admin"}),
    "administer": frozenset({"admin", "province_supervisor"}),
    # Bank lines are matched and days reconciled by those who answer for a post office's or a
    # province's takings; couriers, clerks and desks record payments, never decide bank lines.
    "bank": frozenset({"dispatcher", "province_supervisor", "admin"}),
    "money": frozenset({"dispatcher", "counter_clerk", "province_supervisor", "admin"}),
    "cash_up": frozenset({"dispatcher", "counter_clerk", "admin"}),
    "money_review": frozenset({"province_supervisor", "admin"}),
    "quality": frozenset(
        {"admin", "province_supervisor", "dispatcher", "counter_clerk", "desk_officer", "courier"}
    ),
    # Inspectors of the chain of custody: the staff who answer for items, each within reach.
    "ledger": frozenset(
        {"desk_officer", "dispatcher", "counter_clerk", "province_supervisor", "admin"}
    ),
    # Those who resolve what the field got wrong: a post office's dispatcher, the province's
    # supervisor, an admin. Never the courier or desk whose event is in question.
    "corrections": frozenset({"dispatcher", "province_supervisor", "admin"}),
    # The counter's desktop page (/counter): its clerks only. A dispatcher plans couriers; the
    # counter's receptions, hand-outs and queue are the clerk's own work, signed as theirs.
    "counter": frozenset({"counter_clerk"}),
}

# Why a role is refused, in the words a JSON client reads (pages show their own Vietnamese).
_REFUSALS: dict[Area, str] = {
    "citizen": "this is for citizens' own bookings",
    "desk": "the desk is for desk officers",
    "printing": "printing is for staff",
    "field": "this API is for couriers, dispatchers and counter clerks",
    "courier_only": "only a courier can do this",
    "supervise": "only a dispatcher, a province supervisor or an admin can do this",
    "dispatch": "only a dispatcher or an admin can plan routes",
    "admin": "this is for admins",
    "messages": "citizen messages are for admins and dispatchers",
    "administer": "the admin area is for admins and province supervisors",
    "bank": "bank lines and reconciliation are for dispatchers, province supervisors and admins",
    "money": "a post office's money is for its dispatchers, counter clerks and supervisors",
    "cash_up": "a cash-up is recorded by the post office's dispatcher or counter clerk",
    "money_review": "money exceptions are resolved by a province supervisor or an admin",
    "quality": "service-quality figures are for staff",
    "ledger": "the custody ledger export is for staff of offices and post offices",
    "corrections": "only a dispatcher, a province supervisor or an admin can correct the ledger",
    "counter": "the post office's counter is for its counter clerks",
}


def roles_for(area: Area) -> tuple[str, ...]:
    """The roles allowed in ``area``, sorted (for messages and the forbidden page)."""
    return tuple(sorted(AREAS[area]))


def may_enter(user: User, area: Area) -> bool:
    return user.role in AREAS[area]


def require_area(user: User, area: Area, field: str = "authorization") -> None:
    """Refuse (``Forbidden``) a user whose role may not use ``area``."""
    if not may_enter(user, area):
        # One text per area in the catalogues (edge/texts): "access.<area>".
        raise Forbidden(_REFUSALS[area], field=field, reason=f"access.{area}")


@dataclass(frozen=True)
class Reach:
    """What one person's objects are: everything, or those of an office / a post office, or
    only their own (``assigned_to``: a courier's pickups and deliveries; ``booked_by``: a
    citizen's bookings), or every office and post office of one province (``province_code``)."""

    everything: bool = False
    office_id: int | None = None
    post_office_id: int | None = None
    assigned_to: int | None = None
    booked_by: int | None = None
    province_code: str | None = None


def reach_of(user: User) -> Reach:
    match user.role:
        case "admin":
            return Reach(everything=True)
        case "desk_officer":
            return Reach(office_id=user.office_id)
        case "dispatcher" | "counter_clerk":
            return Reach(post_office_id=user.post_office_id)
        case "province_supervisor":
            return Reach(province_code=user.province_code)
        case "courier":
            # A courier sees their post office's work and what is assigned to them anywhere.
            return Reach(post_office_id=user.post_office_id, assigned_to=user.id)
        case "citizen":
            return Reach(booked_by=user.id)
    return Reach()


def _province(
    session: Session | None, place: type[Office] | type[PostOffice], ident: int | None
) -> str | None:
    """The province of an office or post office, read through the session the object that
    names it came from (a row not from the database has no province to compare)."""
    if session is None or ident is None:
        return None
    province: str | None = session.scalar(select(place.province_code).where(place.id == ident))
    return province


def _reaches_post_office(
    reach: Reach, post_office_id: int | None, session: Session | None = None
) -> bool:
    if reach.everything:
        return True
    if reach.post_office_id is not None:
        return reach.post_office_id == post_office_id
    return reach.province_code is not None and reach.province_code == _province(
        session, PostOffice, post_office_id
    )


def _reaches_office(reach: Reach, office_id: int | None, session: Session | None = None) -> bool:
    if reach.office_id is not None:
        return reach.office_id == office_id
    return reach.province_code is not None and reach.province_code == _province(
        session, Office, office_id
    )


# -- cases and items (desk, printing, the courier app) --------------------------------------


def may_see_case(user: User, booking: Booking, case: Case) -> bool:
    """Staff see the cases of their own office or post office, or assigned to them; a
    province supervisor those of their province's offices and post offices; a citizen sees
    their own bookings. A case addressed to another province's office is also seen by the
    staff of the far post office it travels through, and so by that province's supervisor
    (who reaches the far office already): both provinces see the whole case, no more."""
    reach = reach_of(user)
    if reach.everything:
        return True
    if reach.booked_by is not None and booking.citizen_user_id == reach.booked_by:
        return True
    session = object_session(booking)
    if _reaches_office(reach, booking.office_id, session):
        return True
    if reach.assigned_to is not None and reach.assigned_to in (
        case.pickup_courier_id,
        case.delivery_courier_id,
    ):
        return True
    if _reaches_post_office(reach, booking.post_office_id, session):
        return True
    # A case addressed to an office of another province travels through a post office of
    # that province (core/booking/transit.py): its staff carry the far legs, so they see it.
    return booking.transit_post_office_id is not None and _reaches_post_office(
        reach, booking.transit_post_office_id, session
    )


# -- hand-overs (the record, the desk, the courier app) -------------------------------------


def _party_post_office(session: Session, value: str) -> int | None:
    """The post office behind a party: a courier's or the post office itself."""
    kind, _, ident = value.partition(":")
    if kind == "post_office" and ident.isdigit():
        return int(ident)
    if kind == "courier" and ident.isdigit():
        courier = session.get(User, int(ident))
        return courier.post_office_id if courier is not None else None
    return None


def may_see_handover(session: Session, user: User, handover: Handover) -> bool:
    """A side of the hand-over, an admin, or a supervisor of a post office one side belongs
    to (a dispatcher reads their couriers' records, never another post office's; a province
    supervisor those of their province's post offices)."""
    reach = reach_of(user)
    if reach.everything:
        return True
    sides = (handover.from_party, handover.to_party)
    if actor_for(user).party in sides:
        return True
    if not may_enter(user, "supervise"):
        return False
    return any(
        party_kind(side) in ("courier", "post_office")
        and (post_office_id := _party_post_office(session, side)) is not None
        and _reaches_post_office(reach, post_office_id, session)
        for side in sides
    )


def require_handover(session: Session, user: User, handover: Handover) -> None:
    if not may_see_handover(session, user, handover):
        raise Forbidden("this hand-over is between other parties", field="handover_id")


# -- post offices: dispatch days, stops, couriers, devices ----------------------------------


def may_see_post_office(user: User, post_office_id: int | None) -> bool:
    """Does ``user`` reach this post office's objects (its couriers' run sheets, its devices)?
    Reach only: what they may *do* there is the area's question."""
    return _reaches_post_office(reach_of(user), post_office_id, object_session(user))


def may_act_for_post_office(user: User, post_office_id: int | None) -> bool:
    """Plan, move, lock or watch the couriers of a post office: its own supervisors (its
    dispatchers, its province's supervisor), admins. Asked behind an area: moving and locking
    stops sit behind "dispatch", which a province supervisor does not enter."""
    return may_enter(user, "supervise") and _reaches_post_office(
        reach_of(user), post_office_id, object_session(user)
    )


def require_post_office(user: User, post_office_id: int | None, what: str, field: str) -> None:
    if not may_act_for_post_office(user, post_office_id):
        raise Forbidden(f"this {what} belongs to another post office", field=field)


def money_post_office(user: User, requested: int | None) -> int:
    """The post office whose money ``user`` asks about: their own (a dispatcher, a clerk), or
    the one they name and reach (a supervisor their province's, an admin any)."""
    post_office_id = requested if requested is not None else user.post_office_id
    if post_office_id is None:
        raise InvalidInput("name the post office", field="post_office_id")
    if not may_see_post_office(user, post_office_id):
        raise Forbidden("this post office is not yours", field="post_office_id")
    return post_office_id


def require_side(acting_party: str, from_party: str, to_party: str) -> None:
    """Only the two sides act on a hand-over (scan, mark, complete) or follow it on a phone."""
    if acting_party not in (from_party, to_party):
        raise Forbidden("you are not a side of this hand-over", field="handover_id")


# -- money: bank lines and reconciliation ---------------------------------------------------


class BankLineLike(Protocol):
    """What access reads of a bank line (``core.money.bank.models.BankLine``); a protocol so
    that this module, which the money package asks, does not import it back."""

    @property
    def post_office_id(self) -> int | None: ...

    @property
    def province_code(self) -> str: ...


def may_see_bank_line(user: User, line: BankLineLike) -> bool:
    """A bank line is its post office's (the case it names, or the importer's) and always its
    province's: a dispatcher sees their post office's lines, a province supervisor every line of
    their province (those of no post office too), an admin all."""
    if not may_enter(user, "bank"):
        return False
    reach = reach_of(user)
    if reach.everything:
        return True
    if reach.post_office_id is not None:
        return line.post_office_id == reach.post_office_id
    return reach.province_code is not None and reach.province_code == line.province_code


def require_bank_line(user: User, line: BankLineLike) -> None:
    if not may_see_bank_line(user, line):
        raise Forbidden("this bank line belongs to another post office", field="line_id")


# -- service-quality figures (/sla) ---------------------------------------------------------

SlaLevel = Literal["province", "post_office", "office", "courier"]
SLA_LEVELS: tuple[SlaLevel, ...] = ("province", "post_office", "office", "courier")


@dataclass(frozen=True)
class SlaReach:
    """One level's figures: a province (its code), a post office, an office or a courier."""

    level: SlaLevel
    province_code: str | None = None
    ident: int | None = None


def default_sla_reach(session: Session, user: User) -> SlaReach:
    """Where a person's dashboard opens: their own level and place."""
    reach = reach_of(user)
    if user.role == "courier":
        return SlaReach("courier", ident=user.id)
    if reach.office_id is not None:
        return SlaReach("office", ident=reach.office_id)
    if reach.post_office_id is not None:
        return SlaReach("post_office", ident=reach.post_office_id)
    if reach.province_code is not None:
        return SlaReach("province", province_code=reach.province_code)
    first: str | None = session.scalar(
        select(PostOffice.province_code).order_by(PostOffice.province_code).limit(1)
    )
    return SlaReach("province", province_code=first or "01")


def sla_reach(session: Session, user: User, level: str, ident: str) -> SlaReach:
    """The figures ``user`` asks for, if they may see them; else ``Forbidden`` (or
    ``InvalidInput`` for a level that does not exist, ``NotFound`` for an unknown place).

    An admin sees every level; a province supervisor their province and everything in it; a
    dispatcher or counter clerk their post office and its couriers; a desk officer their
    office; a courier their own figures only.
    """
    require_area(user, "quality", field="role")
    if level not in SLA_LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(SLA_LEVELS)}", field="level",
                           reason="sla.level_unknown")  # fmt: skip
    reach = reach_of(user)
    if level == "province":
        if session.get(Province, ident) is None:
            raise NotFound(f"no province {ident!r}", field="id", reason="sla.place_unknown")
        if reach.everything or reach.province_code == ident:
            return SlaReach("province", province_code=ident)
        raise Forbidden("these are another level's figures", field="level",
                        reason="sla.not_yours")  # fmt: skip
    if not ident.isdigit():
        raise InvalidInput("the id of a post office, office or courier is a number", field="id",
                           reason="sla.id_not_number")  # fmt: skip
    number = int(ident)
    province: str | None
    if level == "post_office":
        province = session.scalar(select(PostOffice.province_code).where(PostOffice.id == number))
        allowed = reach.post_office_id == number and user.role != "courier"
    elif level == "office":
        province = session.scalar(select(Office.province_code).where(Office.id == number))
        allowed = reach.office_id == number
    else:
        courier = session.get(User, number)
        province = None
        if courier is not None and courier.role == "courier":
            province = (
                session.scalar(
                    select(PostOffice.province_code).where(PostOffice.id == courier.post_office_id)
                )
                or ""
            )
        allowed = user.id == number or (
            user.role in ("dispatcher", "counter_clerk")
            and courier is not None
            and courier.post_office_id == reach.post_office_id
        )
    if province is None:
        raise NotFound(f"no {level.replace('_', ' ')} {number}", field="id",
                       reason="sla.place_unknown")  # fmt: skip
    if reach.everything or allowed or (reach.province_code is not None
                                       and reach.province_code == province):  # fmt: skip
        return SlaReach(level, province_code=province or None, ident=number)
    raise Forbidden("these are another level's figures", field="id", reason="sla.not_yours")


def may_answer_complaint(session: Session, user: User, case_id: int) -> bool:
    """An admin, or the supervisor of the province of the case's post office."""
    if user.role == "admin":
        return True
    if user.role != "province_supervisor" or user.province_code is None:
        return False
    province = session.scalar(
        select(PostOffice.province_code)
        .join(Booking, Booking.post_office_id == PostOffice.id)
        .join(Case, Case.booking_id == Booking.id)
        .where(Case.id == case_id)
    )
    return province == user.province_code


# -- the ledger (EPCIS export, corrections, exceptions) -------------------------------------


def case_scope(user: User) -> ColumnElement[bool]:
    """``may_see_case`` as a SQL condition on ``Booking`` and ``Case``, for queries that read
    many cases' events at once (the EPCIS export, the exceptions list)."""
    reach = reach_of(user)
    if reach.everything:
        return true()
    conditions: list[ColumnElement[bool]] = []
    if reach.booked_by is not None:
        conditions.append(Booking.citizen_user_id == reach.booked_by)
    if reach.office_id is not None:
        conditions.append(Booking.office_id == reach.office_id)
    if reach.post_office_id is not None:
        conditions.append(Booking.post_office_id == reach.post_office_id)
    if reach.assigned_to is not None:
        conditions.append(
            or_(Case.pickup_courier_id == reach.assigned_to,
                Case.delivery_courier_id == reach.assigned_to)
        )  # fmt: skip
    if reach.province_code is not None:
        conditions.append(
            or_(
                Booking.office_id.in_(
                    select(Office.id).where(Office.province_code == reach.province_code)
                ),
                Booking.post_office_id.in_(
                    select(PostOffice.id).where(PostOffice.province_code == reach.province_code)
                ),
            )
        )
    return or_(*conditions) if conditions else false()


class AgencySystemLike(Protocol):
    """What access reads of an agency system (``core.agency.models.AgencySystem``); a protocol
    so that this module, which the agency API asks, does not import it back."""

    @property
    def province_code(self) -> str | None: ...


def agency_case_scope(system: AgencySystemLike) -> ColumnElement[bool]:
    """What an agency system reads of the ledger: a provincial system its province's cases
    (as everywhere in the agency API), the national portal every case. A case is the province's
    whose office handles the dossier: one addressed to another province's office is that
    province's (core/booking/transit.py)."""
    if system.province_code is None:
        return true()
    return Booking.office_id.in_(
        select(Office.id).where(Office.province_code == system.province_code)
    )


def may_correct_item(session: Session, user: User, item: Item) -> bool:
    """A dispatcher corrects the items of their post office's cases, a supervisor those of
    their province, an admin any; an item without a case (none today) only an admin."""
    if not may_enter(user, "corrections"):
        return False
    if reach_of(user).everything:
        return True
    if item.case_id is None:
        return False
    found = session.execute(
        select(Booking, Case)
        .join(Case, Case.booking_id == Booking.id)
        .where(Case.id == item.case_id)
    ).first()
    if found is None:
        return False
    booking, case = found
    reach = reach_of(user)
    if reach.post_office_id is not None:
        return booking.post_office_id == reach.post_office_id
    return may_see_case(user, booking, case)


def require_correct_item(session: Session, user: User, item: Item) -> None:
    if not may_correct_item(session, user, item):
        raise Forbidden("this item belongs to another post office or province", field="code")
