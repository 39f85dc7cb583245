"""Parties that can hold an item, written as short stable strings (``courier:12``).

They are rendered as URNs (``urn:hoso:party:courier:12``) in EPCIS output. Keeping one
string form in the ledger makes the hash chain independent of how we present it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.inputs import INT4_MAX

PARTY_KINDS = ("citizen", "courier", "office", "post_office", "admin", "agency")
# Who can be handed an item: a person or a place the ledger can later hear from.
RECEIVER_KINDS = ("courier", "office", "post_office")
RECEIVER_PATTERN = r"^(courier|office|post_office):[1-9][0-9]{0,9}$"


def party(kind: str, ident: int | str) -> str:
    if kind not in PARTY_KINDS:
        raise ValueError(f"unknown party kind {kind!r}")
    return f"{kind}:{ident}"


def party_kind(value: str) -> str:
    return value.split(":", 1)[0]


def party_row_id(value: str) -> int | None:
    """The row ID in ``office:12``, or None when it is not a number a row can have (so a
    display of an old ``office:99999999999999999999`` in the ledger never reaches the
    database with it)."""
    _, _, ident = value.partition(":")
    if not (ident.isascii() and ident.isdigit()) or len(ident) > 10:
        return None
    number = int(ident)
    return number if 1 <= number <= INT4_MAX else None


def parse_receiver(value: str, *, field: str) -> tuple[str, int]:
    """``courier:12``, ``office:3`` or ``post_office:1`` as (kind, id); refused otherwise."""
    kind, _, _ = value.partition(":")
    number = party_row_id(value)
    if kind not in RECEIVER_KINDS or number is None:
        raise InvalidInput(
            f"{value[:40]!r} is not a receiver: write office:ID, post_office:ID or courier:ID "
            f"with an ID from 1 to {INT4_MAX}",
            field=field,
        )
    return kind, number


_RECEIVER_PROVINCES = text(
    """
    SELECT 'office:' || id, province_code FROM offices WHERE id = ANY(:offices)
    UNION ALL
    SELECT 'post_office:' || id, province_code FROM post_offices WHERE id = ANY(:posts)
    UNION ALL
    SELECT 'courier:' || u.id, p.province_code
    FROM users AS u JOIN post_offices AS p ON p.id = u.post_office_id
    WHERE u.id = ANY(:couriers) AND u.role = 'courier' AND u.active
    """
)

# An item belongs to its booking's province and, for a case addressed to an office of another
# province (``bookings.transit_post_office_id``), to that province too: its dossier is handed
# over there and its result comes back from there. A bag belongs to its post office's province
# and to the province it is sealed to (``core.courier.bags.seal_bag`` checks its items go
# there). Only such cases reach another province; every other item keeps to its own.
_ITEM_PROVINCES = text(
    """
    SELECT i.code, b.province_code FROM items AS i
    JOIN cases AS c ON c.id = i.case_id JOIN bookings AS b ON b.id = c.booking_id
    WHERE i.code = ANY(:codes)
    UNION ALL
    SELECT i.code, t.province_code FROM items AS i
    JOIN cases AS c ON c.id = i.case_id JOIN bookings AS b ON b.id = c.booking_id
    JOIN post_offices AS t ON t.id = b.transit_post_office_id
    WHERE i.code = ANY(:codes)
    UNION ALL
    SELECT g.code, p.province_code FROM bags AS g JOIN post_offices AS p ON p.id = g.post_office_id
    WHERE g.code = ANY(:codes)
    UNION ALL
    SELECT g.code, d.province_code FROM bags AS g
    JOIN post_offices AS d ON d.id = g.destination_post_office_id
    WHERE g.code = ANY(:codes)
    """
)


def receiver_provinces(session: Session, parties: Iterable[str]) -> dict[str, str]:
    """The province of each party that exists and may receive an item (an office, a post
    office, an active courier); parties missing from the answer may not."""
    ids: dict[str, list[int]] = {kind: [] for kind in RECEIVER_KINDS}
    for value in parties:
        kind, _, _ = value.partition(":")
        number = party_row_id(value)
        if kind in ids and number is not None:
            ids[kind].append(number)
    if not any(ids.values()):
        return {}
    rows = session.execute(
        _RECEIVER_PROVINCES,
        {"offices": ids["office"], "posts": ids["post_office"], "couriers": ids["courier"]},
    )
    return {str(party_value): str(province) for party_value, province in rows}


def item_provinces(session: Session, codes: Iterable[str]) -> dict[str, frozenset[str]]:
    """The provinces each item (by its booking, and the far office's for a case addressed to
    another province) or bag (by its post office and destination) may be handed over in."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    found: dict[str, set[str]] = {}
    for code, province in session.execute(_ITEM_PROVINCES, {"codes": wanted}):
        found.setdefault(str(code), set()).add(str(province))
    return {code: frozenset(provinces) for code, provinces in found.items()}


def receiver_problem(
    receiver: str, provinces: dict[str, str], item_provinces: frozenset[str] | None
) -> str | None:
    """Why ``receiver`` may not be handed an item of ``item_provinces``, or None.
    ``provinces``: ``receiver_provinces`` of the parties in question."""
    if receiver not in provinces:
        return f"{receiver[:40]} does not exist or cannot receive items"
    if item_provinces is not None and provinces[receiver] not in item_provinces:
        return f"{receiver} is in another province than the item"
    return None


def party_urn(value: str) -> str:
    return f"urn:hoso:party:{value}"


@dataclass(frozen=True)
class Actor:
    """Who is acting, in which role, from which device, on behalf of which party."""

    user_id: int | None
    role: str
    party: str
    device_id: int | None = None
    # A courier's or dispatcher's post office: unassigned work is theirs only within it.
    post_office_id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(user_id=None, role="system", party="agency:hoso")


def citizen_party(case_id: int) -> str:
    """The citizen named on a case: who hands the dossier over and receives the result."""
    return party("citizen", f"case-{case_id}")
